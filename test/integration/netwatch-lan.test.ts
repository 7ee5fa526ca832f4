// Netwatch against a real LAN of network namespaces (docs/netwatch.md). The
// netwatch runs *inside* the gateway namespace as a child (test/helpers/netwatch-child.ts
// under `ip netns exec`), so it reads that namespace's /proc/net and `ip monitor`. Steps
// run in order on one LAN; each waits for a condition (no sleeps as assertions).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Observation } from '../../agent/events/types.js';
import { canUseNetns, createLan, jsonLines, type Lan } from '../helpers/netns.js';
import { tempDir } from '../helpers/chain.js';
import { waitUntil } from '../helpers/driver-context.js';
import type { ChildProcess } from 'node:child_process';
import type { SealedEvent } from '../../agent/chain/chain.js';
import { correlatingPipeline } from '../helpers/correlating-pipeline.js';

const skip = canUseNetns();
const TSX = ['--import', 'tsx'];
const ROOT = new URL('../..', import.meta.url).pathname;
const CHILD = join(ROOT, 'test/helpers/netwatch-child.ts');
const TOOL = join(ROOT, 'test/helpers/net-tool.ts');

const GW = '10.77.0.1';
const CAM = '10.77.0.10';
const INTR = '10.77.0.20';
const CAM_MAC = '02:00:00:00:0c:01';
const INTR_MAC = '02:00:00:00:66:01';

let lan: Lan | undefined;
let stateDir = '';
let child: ChildProcess | undefined;
const obs: Observation[] = [];
let polls = 0;
let learning = true;

const of = (type: string): Observation[] => obs.filter((o) => o.type === type);
const tool = (role: string, ...args: string[]): string => lan!.exec(role, process.execPath, [...TSX, TOOL, ...args]);
/** Resolve after `n` more completed polls of the child. */
const morePolls = (n: number): Promise<number> => {
  const target = polls + n;
  return waitUntil(() => polls >= target && polls, `${n} more polls`, 30_000);
};

before(() => {
  if (skip) return;
  stateDir = tempDir('gw-netwatch-');
  lan = createLan(`${GW}/24`, '02:00:00:00:00:01');
  lan.addHost('cam', CAM_MAC, `${CAM}/24`);
});

after(() => {
  lan?.destroy();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

test('netwatch in a namespace LAN: learning, new device, listener, spike, MAC change, scan', { skip: skip ?? false, timeout: 120_000 }, async (t) => {
  const l = lan!;
  // The camera talks before netwatch starts: it is part of the learned LAN.
  tool('cam', 'udp', GW, '9999', '3', '100');
  const config = {
    enabled: true,
    interfaces: ['br0'],
    intervalSeconds: 0.5,
    learningSeconds: 4,
    traffic: { floorBytesPerSecond: 200_000, floorPacketsPerSecond: 5_000, minSamples: 4, cooldownSeconds: 60 },
    scan: { outRstsPerInterval: 50, distinctTargets: 50, cooldownSeconds: 60 },
    neighbours: { goneAfterSeconds: 0 },
  };
  // The agent side: a real Pipeline + correlator; netwatch observations go in through
  // ingest() exactly as the lead's wiring will do, the door event through the driver seam.
  const { pipe, sunk, corr } = correlatingPipeline();
  t.after(() => corr.stop());

  child = l.spawn('gw', process.execPath, [...TSX, CHILD, JSON.stringify(config), stateDir]);
  jsonLines(child, (v) => {
    if (v.obs) {
      obs.push(v.obs as Observation);
      pipe.ingest('netwatch', v.obs as Observation);
    }
    if (typeof v.polls === 'number') {
      polls = v.polls;
      learning = v.learning === true;
    }
  });

  await t.test('quiet LAN through learning + normal traffic → zero alarms', async () => {
    await waitUntil(() => !learning && polls > 0, 'learning period over', 30_000);
    // Normal traffic from the known camera after learning: small, steady.
    for (let i = 0; i < 3; i++) tool('cam', 'udp', GW, '9999', '5', '200');
    await morePolls(3);
    assert.deepEqual(obs, [], 'no verdicts on a quiet, learned LAN');
    const base = JSON.parse(readFileSync(join(stateDir, 'netwatch-baseline.json'), 'utf8')) as { neighbours: { macs: Record<string, number> } };
    assert.ok(CAM_MAC in base.neighbours.macs, 'camera learned into the persisted baseline');
  });

  let door: SealedEvent | undefined;
  await t.test('a new host appears and sends → exactly one network.device.new', async () => {
    door = pipe.ingest('osdp', { type: 'access.door.forced', severity: 'alarm', device: 'door-1', data: { reader: 0 } });
    l.addHost('intr', INTR_MAC, `${INTR}/24`);
    tool('intr', 'udp', GW, '9999', '3', '100');
    await waitUntil(() => of('network.device.new').length > 0, 'network.device.new', 20_000);
    await morePolls(3);
    const nd = of('network.device.new');
    assert.equal(nd.length, 1, JSON.stringify(nd));
    assert.equal(nd[0].device, INTR_MAC);
    assert.equal(nd[0].data.ip, INTR);
    assert.equal(nd[0].data.interface, 'br0');
  });

  await t.test('door forced + that new device → one incident.intrusion.rogue_device referencing both', () => {
    const incidents = sunk.filter((e) => e.body.type === 'incident.intrusion.rogue_device');
    assert.equal(incidents.length, 1);
    const nd = sunk.find((e) => e.body.type === 'network.device.new')!;
    const refs = incidents[0].body.data.events as Array<{ seq: number; epoch: string }>;
    assert.deepEqual(refs.map((r) => r.seq), [door!.body.seq, nd.body.seq]);
    assert.equal(refs[0].epoch, door!.body.epoch);
  });

  await t.test('a new listener on the gateway → network.listener.new (with process)', async () => {
    const srv = l.spawn('gw', process.execPath, [...TSX, TOOL, 'listen', '8088']);
    await new Promise<void>((resolve, reject) => {
      srv.stdout!.once('data', () => resolve());
      srv.once('exit', (c) => reject(new Error(`listener exited ${c}`)));
    });
    const ln = await waitUntil(() => of('network.listener.new').find((o) => o.data.port === 8088), 'listener.new 8088', 20_000);
    assert.equal(ln.data.proto, 'tcp');
    assert.equal(ln.data.process, 'node');
    assert.equal(typeof ln.data.pid, 'number');
  });

  await t.test('a burst well above the learned baseline → network.traffic.spike', async () => {
    tool('intr', 'tcp-send', GW, '8088', String(40 * 1024 * 1024));
    const sp = await waitUntil(() => of('network.traffic.spike')[0], 'traffic.spike', 20_000);
    assert.equal(sp.device, 'br0');
    const m = (sp.data.metrics as Array<{ metric: string; rate: number; mean: number; threshold: number }>).find((x) => x.metric === 'rxBytes');
    assert.ok(m, 'rxBytes among the spiking metrics');
    assert.ok(m.rate > m.threshold && m.rate > 200_000, JSON.stringify(m));
  });

  await t.test("the intruder answers ARP for the camera's IP → network.mac.changed with both MACs", async () => {
    // The intruder claims the camera's address: its ARP request to the gateway carries
    // sender IP = camera IP, and the gateway overrides its entry (neigh_event_ns).
    l.ip('intr', 'addr', 'add', `${CAM}/24`, 'dev', 'eth0');
    l.ip('intr', 'neigh', 'flush', 'all');
    tool('intr', 'udp', GW, '9999', '2', '60', CAM);
    const mc = await waitUntil(() => of('network.mac.changed')[0], 'mac.changed', 20_000);
    assert.equal(mc.data.ip, CAM);
    assert.equal(mc.data.oldMac, CAM_MAC);
    assert.equal(mc.data.newMac, INTR_MAC);
    assert.equal(mc.data.newMacKnown, true);
  });

  await t.test('a port sweep from the intruder → network.scan.suspected', async () => {
    tool('intr', 'sweep', GW, '1', '400');
    const sc = await waitUntil(() => of('network.scan.suspected')[0], 'scan.suspected', 20_000);
    if (sc.data.method === 'conntrack' || sc.data.method === 'capture') assert.equal(sc.data.source, INTR);
    else {
      assert.equal(sc.data.method, 'snmp');
      assert.ok((sc.data.tcpOutRsts as number) >= 50, JSON.stringify(sc.data));
    }
    t.diagnostic(`scan detected via ${String(sc.data.method)} (/proc/net/nf_conntrack ${existsSync('/proc/net/nf_conntrack') ? 'exists but tracks nothing without a ruleset' : 'absent'})`);
  });

  await t.test('no device.new for already-known stations throughout; still one rogue_device incident', () => {
    assert.equal(of('network.device.new').length, 1);
    assert.equal(sunk.filter((e) => e.body.type === 'incident.intrusion.rogue_device').length, 1);
  });

  child.kill('SIGTERM');
  await new Promise((r) => child!.once('exit', r));
});

// The Netwatch component over a recorded proc tree (procRoot → temp dir): polling, the
// learning period, persisted baselines across a restart, health() and diagnose().
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { netwatchConfigSchema } from '../../agent/anomaly/config.js';
import { BASELINE_FILE, Netwatch } from '../../agent/anomaly/netwatch.js';
import { checkObservation, type Observation } from '../../agent/events/types.js';
import { tempDir } from '../helpers/chain.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const ARP_HEAD = 'IP address       HW type     Flags       HW address            Mask     Device\n';
const arpLine = (ip: string, mac: string) => `${ip.padEnd(17)}0x1         0x2         ${mac}     *        eth0\n`;
const DEV = (rx: number) => `Inter-| Receive | Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\n  eth0: ${rx} ${rx / 100} 0 0 0 0 0 0 500 5 0 0 0 0 0 0\n`;
const SNMP = (rsts: number) => `Tcp: ActiveOpens OutRsts\nTcp: 1 ${rsts}\nUdp: InDatagrams NoPorts\nUdp: 0 0\n`;
const TCP_HEAD = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

function fakeProc(): { root: string; set(files: Record<string, string>): void } {
  const root = tempDir('gw-proc-');
  dirs.push(root);
  mkdirSync(join(root, 'net'));
  const set = (files: Record<string, string>) => {
    for (const [k, v] of Object.entries(files)) writeFileSync(join(root, 'net', k), v);
  };
  set({ arp: ARP_HEAD, dev: DEV(0), snmp: SNMP(0), tcp: TCP_HEAD });
  return { root, set };
}

test('netwatch: learns, reports after learning, persists baselines across a restart', async () => {
  const proc = fakeProc();
  const stateDir = tempDir('gw-nwstate-');
  dirs.push(stateDir);
  let now = 1_900_000_000_000;
  const clock = { now: () => now, mono: () => now };
  const config = netwatchConfigSchema.parse({ enabled: true, procRoot: proc.root, monitorNeigh: false, capture: { enabled: false }, intervalSeconds: 3600, learningSeconds: 60, interfaces: ['eth0'] });
  const seen: Observation[] = [];
  const make = () => new Netwatch({ config, stateDir, clock, log: pino({ level: 'silent' }), emit: (o) => (checkObservation(o), seen.push(o)) });

  proc.set({ arp: ARP_HEAD + arpLine('10.0.0.10', '02:00:00:00:0c:01') });
  const a = make();
  await a.start();
  assert.equal(a.learning, true);
  now += 61_000;
  assert.equal(a.learning, false);
  await a.pollOnce();
  assert.equal(seen.length, 0, 'the camera was learned');
  proc.set({ arp: ARP_HEAD + arpLine('10.0.0.10', '02:00:00:00:0c:01') + arpLine('10.0.0.66', '02:00:00:00:66:01') });
  await a.pollOnce();
  assert.deepEqual(seen.map((o) => o.type), ['network.device.new']);
  const h = a.health();
  assert.equal(h[0].device, 'eth0');
  assert.equal(h[0].state, 'online');
  const diag = await a.diagnose();
  assert.equal(diag.find((d) => d.check === 'netwatch.neighbours')?.verdict, 'pass');
  assert.equal(diag.find((d) => d.check === 'netwatch.learning')?.verdict, 'pass');
  await a.stop();

  // Restart: same state dir; the intruder is already known, learning is not restarted.
  seen.length = 0;
  const b = make();
  await b.start();
  assert.equal(b.learning, false);
  await b.pollOnce();
  assert.equal(seen.length, 0);
  proc.set({ arp: ARP_HEAD + arpLine('10.0.0.10', '02:00:00:00:66:01') + arpLine('10.0.0.66', '02:00:00:00:66:01') });
  await b.pollOnce();
  assert.deepEqual(seen.map((o) => [o.type, o.data.oldMac, o.data.newMac]), [['network.mac.changed', '02:00:00:00:0c:01', '02:00:00:00:66:01']]);
  await b.stop();
  assert.deepEqual(seen.length, 1, 'nothing emitted after stop');
});

test('netwatch: a corrupt baseline is set aside as empty, not fatal', async () => {
  const proc = fakeProc();
  const stateDir = tempDir('gw-nwstate-');
  dirs.push(stateDir);
  writeFileSync(join(stateDir, BASELINE_FILE), '{"v":1,"neigh');
  const nw = new Netwatch({ config: netwatchConfigSchema.parse({ procRoot: proc.root, monitorNeigh: false, capture: { enabled: false }, intervalSeconds: 3600 }), stateDir, clock: { now: () => 1, mono: () => 1 }, log: pino({ level: 'silent' }), emit: () => {} });
  await nw.start();
  assert.equal(nw.learning, true);
  await nw.stop();
});

test('netwatch: a missing `ip` binary degrades to polling (diagnose says so)', async () => {
  const { NeighMonitor } = await import('../../agent/anomaly/neigh-monitor.js');
  const errors: Error[] = [];
  const m = new NeighMonitor({ onChange: () => {}, onError: (e) => errors.push(e), command: ['/nonexistent/ip-binary'] });
  m.start();
  for (let i = 0; i < 200 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(errors.length > 0);
  assert.equal(m.running, false);
  await m.stop();
});

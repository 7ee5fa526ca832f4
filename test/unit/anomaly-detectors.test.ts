// Detector verdicts and their evidence, fed directly (no I/O).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { netwatchConfigSchema, type NetwatchConfigInput } from '../../agent/anomaly/config.js';
import { ListenerDetector, emptyListenerState } from '../../agent/anomaly/listeners.js';
import { NeighbourDetector, emptyNeighbourState } from '../../agent/anomaly/neighbours.js';
import { ScanDetector, emptyScanState } from '../../agent/anomaly/scan.js';
import type { Listener } from '../../agent/anomaly/sources.js';
import { TrafficDetector, emptyTrafficState } from '../../agent/anomaly/traffic.js';
import { checkObservation } from '../../agent/events/types.js';

const cfg = (c: NetwatchConfigInput = {}) => netwatchConfigSchema.parse(c);
const T = 1_900_000_000_000;
const sight = (ip: string, mac: string) => ({ ip, mac, iface: 'eth0', via: 'poll' as const });

test('neighbours: learning is silent; then one device.new per MAC; allow-list by MAC and OUI', () => {
  const d = new NeighbourDetector(cfg({ allow: { macs: ['02-00-00-00-00-AA'], ouis: ['00:1A:2B'] } }), emptyNeighbourState());
  assert.deepEqual(d.sighting(sight('10.0.0.2', '02:00:00:00:00:02'), T, true), []);
  const n = d.sighting(sight('10.0.0.3', '02:00:00:00:00:03'), T + 1, false);
  assert.equal(n.length, 1);
  checkObservation(n[0]);
  assert.equal(n[0].type, 'network.device.new');
  assert.equal(n[0].data.knownStations, 1);
  assert.deepEqual(d.sighting(sight('10.0.0.3', '02:00:00:00:00:03'), T + 2, false), [], 'seen twice (stream + poll) → one event');
  assert.deepEqual(d.sighting(sight('10.0.0.4', '02:00:00:00:00:aa'), T + 3, false), []);
  assert.deepEqual(d.sighting(sight('10.0.0.5', '00:1a:2b:99:99:99'), T + 4, false), []);
  assert.deepEqual(d.sighting(sight('10.0.0.6', '00:00:00:00:00:00'), T + 5, false), [], 'incomplete entry');
});

test('neighbours: MAC change with both MACs; flapping raises severity', () => {
  const d = new NeighbourDetector(cfg({ neighbours: { flapAlarmCount: 3, flapWindowSeconds: 60 } }), emptyNeighbourState());
  d.sighting(sight('10.0.0.10', 'aa:00:00:00:00:01'), T, true);
  d.sighting(sight('10.0.0.20', 'bb:00:00:00:00:02'), T, true);
  const c1 = d.sighting(sight('10.0.0.10', 'bb:00:00:00:00:02'), T + 1000, false);
  assert.equal(c1.length, 1);
  assert.equal(c1[0].type, 'network.mac.changed');
  assert.equal(c1[0].severity, 'warning');
  assert.equal(c1[0].data.oldMac, 'aa:00:00:00:00:01');
  assert.equal(c1[0].data.newMac, 'bb:00:00:00:00:02');
  assert.equal(c1[0].data.newMacKnown, true);
  const c2 = d.sighting(sight('10.0.0.10', 'aa:00:00:00:00:01'), T + 2000, false);
  assert.equal(c2[0].severity, 'warning');
  const c3 = d.sighting(sight('10.0.0.10', 'bb:00:00:00:00:02'), T + 3000, false);
  assert.equal(c3[0].severity, 'alarm');
  assert.equal(c3[0].data.flapping, true);
  assert.equal(c3[0].data.changesInWindow, 3);
});

test('neighbours: a watched station that stops answering → device.gone once', () => {
  const d = new NeighbourDetector(cfg({ neighbours: { goneAfterSeconds: 60, watchGone: ['10.0.0.10'] } }), emptyNeighbourState());
  d.sighting(sight('10.0.0.10', 'aa:00:00:00:00:01'), T, true);
  d.sighting(sight('10.0.0.11', 'aa:00:00:00:00:02'), T, true);
  assert.deepEqual(d.sweep(T + 59_000, false), []);
  const g = d.sweep(T + 61_000, false);
  assert.equal(g.length, 1);
  assert.equal(g[0].type, 'network.device.gone');
  assert.equal(g[0].data.ip, '10.0.0.10');
  assert.deepEqual(d.sweep(T + 120_000, false), []);
  d.sighting(sight('10.0.0.10', 'aa:00:00:00:00:01'), T + 130_000, false);
  assert.equal(d.sweep(T + 200_000, false).length, 1, 'gone again after coming back');
});

test('traffic: idle noise under the floor never alarms; a burst over mean + k·dev and floor does; cooldown', () => {
  const d = new TrafficDetector(cfg({ traffic: { floorBytesPerSecond: 100_000, floorPacketsPerSecond: 1e9, minSamples: 5, cooldownSeconds: 60 } }), emptyTrafficState());
  let rx = 0;
  let t = T;
  const step = (bytes: number, learning = false) => {
    rx += bytes;
    t += 1000;
    return d.sample({ iface: 'eth0', rxBytes: rx, rxPackets: rx / 100, txBytes: 0, txPackets: 0 }, t, learning);
  };
  for (let i = 0; i < 20; i++) assert.deepEqual(step(i % 2 === 0 ? 1000 : 50_000, i < 10), []);
  // 20× the mean but under the floor: noise on an idle link.
  assert.deepEqual(step(90_000), []);
  const s = step(5_000_000);
  assert.equal(s.length, 1);
  checkObservation(s[0]);
  const m = (s[0].data.metrics as Array<{ metric: string; rate: number; mean: number; threshold: number }>)[0];
  assert.equal(m.metric, 'rxBytes');
  assert.equal(m.rate, 5_000_000);
  assert.ok(m.mean < 60_000 && m.threshold < m.rate);
  assert.deepEqual(step(5_000_000), [], 'cooldown');
  // Counter reset (interface re-created) is skipped, not learned as a negative rate.
  rx = 0;
  assert.deepEqual(step(0), []);
});

test('listeners: learned ones are quiet; a new TCP listener is reported with its process; ephemeral UDP ignored', () => {
  const d = new ListenerDetector(cfg({ allow: { listenerPorts: [1883] } }), emptyListenerState());
  const l = (proto: Listener['proto'], port: number, process: string | null = null): Listener => ({ proto, localAddr: '0.0.0.0', localPort: port, remoteAddr: '0.0.0.0', remotePort: 0, state: 10, uid: 0, inode: port, pid: process ? 42 : null, process });
  assert.deepEqual(d.scan([l('tcp', 22)], T, true), []);
  const out = d.scan([l('tcp', 22), l('tcp', 4444, 'nc'), l('tcp', 1883), l('udp', 40000)], T + 1, false);
  assert.equal(out.length, 1);
  assert.deepEqual(out[0].data, { proto: 'tcp', address: '0.0.0.0', port: 4444, uid: 0, inode: 4444, process: 'nc', pid: 42 });
  assert.deepEqual(d.scan([l('tcp', 4444, 'nc')], T + 2, false), []);
});

test('scan: conntrack names the source; snmp path counts RSTs without one', () => {
  const d = new ScanDetector(cfg({ scan: { distinctTargets: 10, outRstsPerInterval: 50, cooldownSeconds: 60 } }), emptyScanState());
  const ct = Array.from({ length: 12 }, (_, i) => ({ l4: 'tcp', src: '10.0.0.66', dst: '10.0.0.1', dport: 20 + i }));
  ct.push({ l4: 'tcp', src: '10.0.0.1', dst: '10.0.0.5', dport: 80 });
  const out = d.fromConntrack(ct, T, new Set(['10.0.0.1']), 'eth0');
  assert.equal(out.length, 1);
  assert.equal(out[0].data.source, '10.0.0.66');
  assert.equal(out[0].data.distinctTargets, 12);
  assert.deepEqual(d.fromConntrack(ct, T + 1000, new Set(), 'eth0'), [], 'cooldown');
  const snmp = (rsts: number) => ({ Tcp: { OutRsts: rsts }, Udp: { NoPorts: 0 } });
  assert.deepEqual(d.fromSnmp(snmp(100), T, 'eth0'), []);
  assert.deepEqual(d.fromSnmp(snmp(140), T + 1000, 'eth0'), []);
  const s = d.fromSnmp(snmp(400), T + 2000, 'eth0');
  assert.equal(s.length, 1);
  assert.equal(s[0].data.method, 'snmp');
  assert.equal(s[0].data.source, null);
  assert.equal(s[0].data.tcpOutRsts, 260);
});

test('config: defaults, MAC normalisation, errors name the path', () => {
  const c = cfg({ allow: { macs: ['AA-BB-CC-DD-EE-FF'] } });
  assert.deepEqual(c.allow.macs, ['aa:bb:cc:dd:ee:ff']);
  assert.equal(c.intervalSeconds, 10);
  assert.equal(c.traffic.floorBytesPerSecond, 1_000_000);
  const bad = netwatchConfigSchema.safeParse({ allow: { ouis: ['zz'] }, extra: 1 });
  assert.equal(bad.success, false);
  const paths = bad.error!.issues.map((i) => i.path.join('.'));
  assert.ok(paths.includes('allow.ouis.0'), paths.join(' '));
});

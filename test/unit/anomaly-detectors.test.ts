// Detector verdicts and their evidence, fed directly (no I/O).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { netwatchConfigSchema, type NetwatchConfigInput } from '../../agent/anomaly/config.js';
import { ListenerDetector, emptyListenerState } from '../../agent/anomaly/listeners.js';
import { NeighbourDetector, emptyNeighbourState } from '../../agent/anomaly/neighbours.js';
import { ScanDetector, emptyScanState } from '../../agent/anomaly/scan.js';
import { parseCaptureLine, type CaptureRecord } from '../../agent/anomaly/capture.js';
import { ClaimDetector, emptyClaimState } from '../../agent/anomaly/claims.js';
import { parseRoute } from '../../agent/anomaly/proc-parse.js';
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

test('scan: conntrack names the source once per scan; living entries are not re-reported; snmp without a name is anonymous', () => {
  const d = new ScanDetector(cfg({ scan: { distinctTargets: 10, outRstsPerInterval: 50, cooldownSeconds: 60, windowSeconds: 30 } }), emptyScanState());
  const ct = Array.from({ length: 12 }, (_, i) => ({ l4: 'udp', src: '10.0.0.66', dst: '10.0.0.1', dport: 20 + i }));
  ct.push({ l4: 'tcp', src: '10.0.0.1', dst: '10.0.0.5', dport: 80 });
  const snmp = (rsts: number, noPorts = 0) => ({ Tcp: { OutRsts: rsts }, Udp: { NoPorts: noPorts } });
  assert.deepEqual(d.fromSnmp(snmp(0, 0), T - 1000, 'eth0'), []);
  const out = d.fromConntrack(ct, T, new Set(['10.0.0.1']), 'eth0');
  assert.equal(out.length, 1);
  assert.equal(out[0].data.source, '10.0.0.66');
  assert.equal(out[0].data.distinctTargets, 12);
  assert.deepEqual(out[0].data.protocols, ['udp']);
  // The UDP sweep also bumped NoPorts in the same interval: attributed, not a second event.
  assert.deepEqual(d.fromSnmp(snmp(0, 400), T + 1000, 'eth0'), [], 'surge while the named scan is open');
  // The same UDP flows stay in the table past the quiet period: the same scan, never again.
  for (let t = 1; t <= 10; t++) {
    assert.deepEqual(d.fromConntrack(ct, T + t * 10_000, new Set(['10.0.0.1']), 'eth0'), [], `entries still listed at +${t * 10}s`);
    assert.deepEqual(d.fromSnmp(snmp(0, 400), T + t * 10_000 + 1, 'eth0'), []);
  }
  // A new sweep after the quiet period is a new scan.
  const ct2 = Array.from({ length: 12 }, (_, i) => ({ l4: 'tcp', src: '10.0.0.66', dst: '10.0.0.1', dport: 1000 + i }));
  assert.equal(d.fromConntrack(ct2, T + 200_000, new Set(['10.0.0.1']), 'eth0').length, 1);

  const a = new ScanDetector(cfg({ scan: { distinctTargets: 10, outRstsPerInterval: 50, cooldownSeconds: 60 } }), emptyScanState());
  assert.deepEqual(a.fromSnmp(snmp(100), T, 'eth0'), []);
  assert.deepEqual(a.fromSnmp(snmp(140), T + 1000, 'eth0'), []);
  const s = a.fromSnmp(snmp(400), T + 2000, 'eth0');
  assert.equal(s.length, 1);
  assert.equal(s[0].data.method, 'snmp');
  assert.equal(s[0].data.source, null);
  assert.equal(s[0].data.tcpOutRsts, 260);
  assert.deepEqual(a.fromSnmp(snmp(800), T + 3000, 'eth0'), [], 'one anonymous event per cooldown');
});

test('scan: captured probes name TCP and UDP sources; a counter surge is attributed to the prober', () => {
  const d = new ScanDetector(cfg({ scan: { distinctTargets: 10, outRstsPerInterval: 20, cooldownSeconds: 60 } }), emptyScanState());
  const snmp = (rsts: number, noPorts: number) => ({ Tcp: { OutRsts: rsts }, Udp: { NoPorts: noPorts } });
  d.fromSnmp(snmp(0, 0), T, 'eth0');
  for (let p = 1; p <= 15; p++) d.probe({ src: '10.0.0.66', dst: '10.0.0.1', dport: p, proto: 'tcp' }, T + 100);
  d.probe({ src: '10.0.0.66', dst: '10.0.0.1', dport: 1, proto: 'tcp' }, T + 200); // retransmitted SYN: same target
  const tcp = d.fromSnmp(snmp(15, 0), T + 1000, 'eth0');
  assert.equal(tcp.length, 1);
  assert.equal(tcp[0].data.method, 'capture');
  assert.equal(tcp[0].data.source, '10.0.0.66');
  assert.equal(tcp[0].data.distinctTargets, 15);
  // UDP: the kernel rate-limits port-unreachables, so only a few ports are seen; the NoPorts
  // surge in the same interval is attributed to that prober.
  for (const p of [7, 9, 11]) d.probe({ src: '10.0.0.77', dst: '10.0.0.1', dport: p, proto: 'udp' }, T + 1500);
  const udp = d.fromSnmp(snmp(15, 300), T + 2000, 'eth0');
  assert.equal(udp.length, 1, JSON.stringify(udp));
  assert.equal(udp[0].data.source, '10.0.0.77');
  assert.deepEqual(udp[0].data.protocols, ['udp']);
  assert.equal(udp[0].data.udpNoPorts, 300);
  for (const p of [12, 13]) d.probe({ src: '10.0.0.77', dst: '10.0.0.1', dport: p, proto: 'udp' }, T + 2500);
  assert.deepEqual(d.fromSnmp(snmp(15, 600), T + 3000, 'eth0'), [], 'the same UDP scan continues: no second event');
});

test('scan: a client with one stray probe during another host\'s sweep is not named for the surge', () => {
  const d = new ScanDetector(cfg({ scan: { distinctTargets: 30, outRstsPerInterval: 20, cooldownSeconds: 60 } }), emptyScanState());
  const snmp = (rsts: number, noPorts: number) => ({ Tcp: { OutRsts: rsts }, Udp: { NoPorts: noPorts } });
  d.fromSnmp(snmp(0, 0), T, 'eth0');
  // Same interval: a TCP sweep (over the threshold), a UDP prober whose unreachables the
  // kernel rate-limits (6 seen), and a camera's single UDP packet to a closed port.
  for (let p = 1; p <= 297; p++) d.probe({ src: '10.0.0.66', dst: '10.0.0.1', dport: p, proto: 'tcp' }, T + 100);
  for (let p = 1; p <= 6; p++) d.probe({ src: '10.0.0.77', dst: '10.0.0.1', dport: p, proto: 'udp' }, T + 200);
  d.probe({ src: '10.0.0.11', dst: '10.0.0.1', dport: 9999, proto: 'udp' }, T + 300);
  const out = d.fromSnmp(snmp(300, 303), T + 1000, 'eth0');
  assert.deepEqual(out.map((o) => o.data.source).sort(), ['10.0.0.66', '10.0.0.77'], JSON.stringify(out));
  // The UDP prober's packets not captured yet: the stray packet alone names nobody; the
  // surge waits a poll and goes to the prober once its probes arrive.
  const e = new ScanDetector(cfg({ scan: { distinctTargets: 30, outRstsPerInterval: 20, cooldownSeconds: 60 } }), emptyScanState());
  e.captureActive = true;
  e.fromSnmp(snmp(0, 0), T, 'eth0');
  e.probe({ src: '10.0.0.11', dst: '10.0.0.1', dport: 9999, proto: 'udp' }, T + 300);
  assert.deepEqual(e.fromSnmp(snmp(0, 300), T + 1000, 'eth0'), [], 'nobody named yet');
  for (let p = 1; p <= 6; p++) e.probe({ src: '10.0.0.77', dst: '10.0.0.1', dport: p, proto: 'udp' }, T + 1200);
  const late = e.fromSnmp(snmp(0, 310), T + 2000, 'eth0');
  assert.deepEqual(late.map((o) => o.data.source), ['10.0.0.77'], JSON.stringify(late));
});

test('neighbours: mac.changed tells the attack from the restore (previousMac, flipFlop, newMacOtherIps); new station', () => {
  const d = new NeighbourDetector(cfg({ neighbours: { flapAlarmCount: 5 } }), emptyNeighbourState());
  const CAM = 'aa:00:00:00:00:01';
  const EVIL = 'bb:00:00:00:00:02';
  d.sighting(sight('10.0.0.10', CAM), T, true);
  d.sighting(sight('10.0.0.20', EVIL), T, true);
  const attack = d.sighting(sight('10.0.0.10', EVIL), T + 1000, false)[0];
  assert.equal(attack.data.previousMac, null);
  assert.equal(attack.data.flipFlop, false);
  assert.deepEqual(attack.data.newMacOtherIps, ['10.0.0.20'], 'the spoofer already holds its own IP');
  const restore = d.sighting(sight('10.0.0.10', CAM), T + 2000, false)[0];
  assert.equal(restore.data.oldMac, EVIL);
  assert.equal(restore.data.previousMac, CAM);
  assert.equal(restore.data.flipFlop, true);
  assert.deepEqual(restore.data.newMacOtherIps, []);
  // arpwatch's "new station": a known MAC on an IP it never held.
  const ns = d.sighting(sight('10.0.0.30', CAM), T + 3000, false);
  assert.deepEqual(ns.map((o) => [o.type, o.severity, o.data.ip, o.data.mac]), [['network.station.new', 'notice', '10.0.0.30', CAM]]);
  assert.deepEqual(ns[0].data.otherIps, ['10.0.0.10']);
  checkObservation(ns[0]);
  assert.deepEqual(d.sighting(sight('10.0.0.30', CAM), T + 4000, false), [], 'once');
  assert.deepEqual(d.sighting(sight('10.0.0.31', CAM), T + 5000, true), [], 'silent while learning');
  // A never-seen MAC on a new IP is device.new, not also station.new.
  assert.deepEqual(d.sighting(sight('10.0.0.40', 'cc:00:00:00:00:03'), T + 6000, false).map((o) => o.type), ['network.device.new']);
});

test('claims: own IP claimed on the wire, router IP claimed in the neighbour table or on the wire; restore is not a claim', () => {
  const n = new NeighbourDetector(cfg(), emptyNeighbourState());
  n.sighting(sight('10.0.0.66', 'bb:00:00:00:00:66'), T, true);
  const d = new ClaimDetector(cfg({ claims: { cooldownSeconds: 60 } }), emptyClaimState(), (m) => n.ipsOf(m));
  d.identify({ ips: new Map([['10.0.0.1', '02:00:00:00:00:01']]), macs: new Set(['02:00:00:00:00:01']), routers: new Set(['10.0.0.254']) });
  const arp = (o: Partial<Extract<CaptureRecord, { kind: 'arp' }>>) => ({ kind: 'arp' as const, op: 'reply' as const, ethSrc: 'bb:00:00:00:00:66', ethDst: 'ff:ff:ff:ff:ff:ff', senderIp: '10.0.0.1', senderMac: 'bb:00:00:00:00:66', targetIp: '', ...o });
  const self = d.fromArp(arp({}), 'eth0', T);
  assert.equal(self.length, 1);
  assert.equal(self[0].severity, 'alarm');
  assert.equal(self[0].data.claimedIp, '10.0.0.1');
  assert.equal(self[0].data.claimantMac, 'bb:00:00:00:00:66');
  assert.equal(self[0].data.ownerMac, '02:00:00:00:00:01');
  assert.deepEqual(self[0].data.claimantOtherIps, ['10.0.0.66']);
  assert.deepEqual(d.fromArp(arp({ op: 'request', targetIp: '10.0.0.5' }), 'eth0', T + 1000), [], 'same claimant within the cooldown');
  assert.equal(d.fromArp(arp({}), 'eth0', T + 61_000).length, 1, 'again after the cooldown');
  assert.deepEqual(d.fromArp(arp({ ethSrc: '02:00:00:00:00:01', senderMac: '02:00:00:00:00:01' }), 'eth0', T), [], "the gateway's own announcements");
  assert.deepEqual(d.fromArp(arp({ op: 'request', senderIp: '0.0.0.0', targetIp: '10.0.0.1' }), 'eth0', T), [], 'a DAD probe claims nothing');
  // Router: owner learned from the neighbour table, then a spoofed entry.
  assert.deepEqual(d.fromNeighbour({ ip: '10.0.0.254', mac: '02:00:00:00:00:fe', iface: 'eth0', via: 'poll' }, T), []);
  const r = d.fromNeighbour({ ip: '10.0.0.254', mac: 'bb:00:00:00:00:66', iface: 'eth0', via: 'stream' }, T + 10);
  assert.deepEqual([r[0].data.role, r[0].data.method, r[0].data.ownerMac, r[0].data.claimantMac], ['router', 'neighbour-table', '02:00:00:00:00:fe', 'bb:00:00:00:00:66']);
  assert.deepEqual(d.fromArp(arp({ senderIp: '10.0.0.254', ethDst: '02:00:00:00:00:0a' }), 'eth0', T + 20), [], 'the wire sighting of the same claim is the same alarm');
  assert.deepEqual(d.fromNeighbour({ ip: '10.0.0.254', mac: '02:00:00:00:00:fe', iface: 'eth0', via: 'stream' }, T + 30), [], 'restore');
  const other = d.fromArp(arp({ senderIp: '10.0.0.254', senderMac: 'cc:00:00:00:00:77', ethSrc: 'cc:00:00:00:00:77', ethDst: '02:00:00:00:00:0a' }), 'eth0', T + 40);
  assert.equal(other[0].data.method, 'capture');
  assert.deepEqual(other[0].data.arp, { op: 'reply', ethSrc: 'cc:00:00:00:00:77', ethDst: '02:00:00:00:00:0a', targetIp: null, broadcast: false });
});

test('capture: tcpdump -n -e -tt lines (ARP request/reply, SYN, ICMP port unreachable)', () => {
  assert.deepEqual(parseCaptureLine('1796589043.817340 02:00:00:00:66:66 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 10.77.9.1 tell 10.77.9.1, length 28'), { kind: 'arp', op: 'request', ethSrc: '02:00:00:00:66:66', ethDst: 'ff:ff:ff:ff:ff:ff', targetIp: '10.77.9.1', senderIp: '10.77.9.1', senderMac: '02:00:00:00:66:66' });
  assert.deepEqual(parseCaptureLine('1796589046.939939 02:00:00:00:66:66 > 02:00:00:00:00:fe, ethertype ARP (0x0806), length 42: Reply 10.77.9.1 is-at 02:00:00:00:66:66, length 28'), { kind: 'arp', op: 'reply', ethSrc: '02:00:00:00:66:66', ethDst: '02:00:00:00:00:fe', senderIp: '10.77.9.1', senderMac: '02:00:00:00:66:66', targetIp: '' });
  assert.equal(parseCaptureLine('1.0 02:00:00:00:66:66 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 10.0.0.9 (ff:ff:ff:ff:ff:ff) tell 10.0.0.1, length 28')?.kind, 'arp');
  assert.deepEqual(parseCaptureLine('1796589047.273169 02:00:00:00:66:66 > 02:00:00:00:00:01, ethertype IPv4 (0x0800), length 74: 10.77.9.66.49966 > 10.77.9.1.1: Flags [S], seq 3668710496, win 64240, length 0'), { kind: 'syn', ethSrc: '02:00:00:00:66:66', src: '10.77.9.66', sport: 49966, dst: '10.77.9.1', dport: 1 });
  assert.deepEqual(parseCaptureLine('1796589047.276670 02:00:00:00:00:01 > 02:00:00:00:66:66, ethertype IPv4 (0x0800), length 71: 10.77.9.1 > 10.77.9.66: ICMP 10.77.9.1 udp port 3 unreachable, length 37'), { kind: 'unreach', from: '10.77.9.1', to: '10.77.9.66', origDst: '10.77.9.1', dport: 3 });
  assert.equal(parseCaptureLine('listening on br0, link-type EN10MB (Ethernet), snapshot length 262144 bytes'), null);
  assert.equal(parseCaptureLine('1.0 02:00:00:00:66:66 > 02:00:00:00:00:01, ethertype IPv4 (0x0800), length 74: 10.0.0.2.80 > 10.0.0.1.5000: Flags [S.], seq 1, ack 2'), null, 'SYN-ACK is an answer, not a probe');
});

test('route: the default route next hop from /proc/net/route', () => {
  const t = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\neth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n';
  assert.deepEqual(parseRoute(t), [{ iface: 'eth0', destination: '0.0.0.0', gateway: '192.0.2.1' }]);
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

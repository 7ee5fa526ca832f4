// Correlator over real sealed events (test/helpers/chain.ts): the three shipped rules,
// lifecycle open → update → close, windows, joins, and restart/replay safety.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { pino } from 'pino';
import type { Chain, SealedEvent } from '../../agent/chain/chain.js';
import { correlateConfigSchema, type CorrelateConfigInput } from '../../agent/correlate/config.js';
import { createCorrelator, rulesFromConfig, type Correlator } from '../../agent/correlate/engine.js';
import type { JsonObject, Observation } from '../../agent/events/types.js';
import type { Clock } from '../../agent/clock.js';
import { tempDir, testChain } from '../helpers/chain.js';

const log = pino({ level: 'silent' });
const T0 = Date.parse('2030-01-01T10:00:00Z');
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function fakeClock(start = T0): Clock & { set(ms: number): void } {
  let now = start;
  return { now: () => now, mono: () => now - start, set: (ms) => (now = ms) };
}

function setup(cfg: CorrelateConfigInput = {}, extra: { stateDir?: string; isHistorical?: (e: SealedEvent) => boolean; clock?: ReturnType<typeof fakeClock> } = {}) {
  const chain = testChain();
  chain.newEpoch('fresh', null);
  const clock = extra.clock ?? fakeClock();
  const parsed = correlateConfigSchema.parse(cfg);
  const c = createCorrelator({ rules: rulesFromConfig(parsed), assets: parsed.assets, log, clock, stateDir: extra.stateDir, isHistorical: extra.isHistorical });
  return { chain, c, clock };
}

function seal(chain: Chain, type: string, device: string, data: JsonObject, atSec: number, driver = 'test'): SealedEvent {
  return chain.seal({ driver, device, type, severity: 'alarm', data, at: new Date(T0 + atSec * 1000) });
}

function feed(c: Correlator, ...events: SealedEvent[]): Observation[] {
  return events.flatMap((e) => c.listener(e) ?? []);
}

test('door forced + new device within the window → one rogue_device incident referencing both', () => {
  const { chain, c } = setup();
  const door = seal(chain, 'access.door.forced', 'door-1', {}, 0, 'osdp');
  const other = seal(chain, 'sensor.value.reading', 'temp-1', { v: 1 }, 10);
  const nd = seal(chain, 'network.device.new', '02:00:00:00:66:01', { mac: '02:00:00:00:66:01', ip: '10.0.0.9', interface: 'br0' }, 60, 'netwatch');
  assert.deepEqual(feed(c, door, other), []);
  const out = feed(c, nd);
  assert.equal(out.length, 1);
  const inc = out[0];
  assert.equal(inc.type, 'incident.intrusion.rogue_device');
  assert.equal(inc.severity, 'alarm');
  assert.equal(inc.data.phase, 'open');
  const refs = inc.data.events as Array<{ seq: number; epoch: string; step: string }>;
  assert.deepEqual(refs.map((r) => r.seq), [door.body.seq, nd.body.seq]);
  assert.ok(refs.every((r) => r.epoch === door.body.epoch));
  assert.deepEqual(refs.map((r) => r.step), ['physical', 'network']);
  assert.equal(c.incidents().length, 1);
});

test('lifecycle: update with a stable id, then close after the quiet period', () => {
  const { chain, c, clock } = setup();
  const open = feed(c, seal(chain, 'access.reader.tamper', 'rdr-1', {}, 0), seal(chain, 'network.device.new', 'm1', { mac: 'm1' }, 5));
  assert.equal(open.length, 1);
  const id = open[0].data.incident;
  const upd = feed(c, seal(chain, 'network.device.new', 'm2', { mac: 'm2' }, 30));
  assert.equal(upd.length, 1);
  assert.equal(upd[0].data.phase, 'update');
  assert.equal(upd[0].data.incident, id);
  assert.equal(upd[0].data.eventCount, 3);
  clock.set(T0 + 29 * 60_000);
  assert.deepEqual(c.sweep(), []);
  clock.set(T0 + 31 * 60_000);
  const closed = c.sweep();
  assert.equal(closed.length, 1);
  assert.equal(closed[0].data.phase, 'close');
  assert.equal(closed[0].data.incident, id);
  assert.equal(closed[0].severity, 'notice');
  assert.equal(c.incidents().length, 0);
  // Consumed events do not reopen: a lone new device after close stays quiet.
  assert.deepEqual(feed(c, seal(chain, 'network.device.new', 'm3', { mac: 'm3' }, 32 * 60)), []);
});

test('outside the window → no incident; order is by seq, not by arrival of the other step', () => {
  const { chain, c } = setup();
  assert.deepEqual(feed(c, seal(chain, 'access.door.forced', 'door-1', {}, 0), seal(chain, 'network.device.new', 'm1', { mac: 'm1' }, 601)), []);
  // New device first, door second: still one incident (any order within the window).
  const out = feed(c, seal(chain, 'network.device.new', 'm2', { mac: 'm2' }, 700), seal(chain, 'access.door.held', 'door-2', {}, 720));
  assert.equal(out.length, 1);
  // Every in-window event of each step is evidence: m1 (601 s) and m2, not door-1 (0 s).
  assert.deepEqual((out[0].data.events as Array<{ device: string }>).map((r) => r.device), ['m1', 'm2', 'door-2']);
});

test('brute_force_scan: three denials at one reader + a scan on the same segment', () => {
  const { chain, c } = setup({ assets: { 'rdr-1': { segment: 'eth1' }, 'rdr-2': { segment: 'eth1' } } });
  const scanOther = seal(chain, 'network.scan.suspected', 'eth2', { interface: 'eth2', source: null }, 0, 'netwatch');
  const d = [
    seal(chain, 'access.card.denied', 'rdr-1', {}, 1),
    seal(chain, 'access.card.denied', 'rdr-2', {}, 2),
    seal(chain, 'access.card.read', 'rdr-1', {}, 3), // a read is not a denial
    seal(chain, 'access.card.denied', 'rdr-1', {}, 4),
  ];
  assert.deepEqual(feed(c, scanOther, ...d), [], 'scan on another segment, only two denials at rdr-1');
  const scan = seal(chain, 'network.scan.suspected', 'eth1', { interface: 'eth1', source: '10.0.0.66' }, 20, 'netwatch');
  assert.deepEqual(feed(c, scan), [], 'still two denials at one reader');
  const third = seal(chain, 'access.card.denied', 'rdr-1', {}, 30);
  const out = feed(c, third);
  assert.equal(out.length, 1);
  assert.equal(out[0].type, 'incident.access.brute_force_scan');
  const seqs = (out[0].data.events as Array<{ seq: number }>).map((r) => r.seq);
  assert.deepEqual(seqs, [d[0].body.seq, d[3].body.seq, scan.body.seq, third.body.seq]);
  assert.deepEqual(out[0].data.join, { by: 'segment', value: 'eth1' });
});

test('camera_compromise joins the camera with its own network identity only', () => {
  const { chain, c } = setup({ assets: { 'cam-1': { ips: ['10.0.0.10'], macs: ['02:00:00:00:0C:01'] }, 'cam-2': { ips: ['10.0.0.11'] } } });
  const tamper = seal(chain, 'video.tamper.detected', 'cam-1', {}, 0, 'onvif');
  const otherCam = seal(chain, 'network.mac.changed', '10.0.0.11', { ip: '10.0.0.11', oldMac: 'aa', newMac: 'bb' }, 10, 'netwatch');
  assert.deepEqual(feed(c, tamper, otherCam), []);
  const mine = seal(chain, 'network.mac.changed', '10.0.0.10', { ip: '10.0.0.10', oldMac: '02:00:00:00:0c:01', newMac: '02:00:00:00:66:01' }, 20, 'netwatch');
  const out = feed(c, mine);
  assert.equal(out.length, 1);
  assert.equal(out[0].type, 'incident.camera.compromise');
  assert.deepEqual(out[0].data.join, { by: 'asset', value: 'cam-1' });
});

test('restart: replayed events neither re-open nor re-update; pre-restart events still join live ones', () => {
  const dir = tempDir('gw-corr-');
  dirs.push(dir);
  const clock = fakeClock();
  const a = setup({}, { stateDir: dir, clock });
  const door = seal(a.chain, 'access.door.forced', 'door-1', {}, 0);
  const nd = seal(a.chain, 'network.device.new', 'm1', { mac: 'm1' }, 10);
  const opened = feed(a.c, door, nd);
  assert.equal(opened.length, 1);
  const id = opened[0].data.incident;
  const door2 = seal(a.chain, 'access.reader.tamper', 'rdr-9', {}, 20);
  feed(a.c, door2);
  a.c.stop();

  // Restart: same state dir, the same events replayed in seq order → nothing.
  const parsed = correlateConfigSchema.parse({});
  const b = createCorrelator({ rules: rulesFromConfig(parsed), log, clock, stateDir: dir });
  assert.deepEqual(feed(b, door, nd, door2), []);
  assert.equal(b.incidents().length, 1);
  // A live event after the watermark updates the persisted incident (same id).
  const nd2 = seal(a.chain, 'network.device.new', 'm2', { mac: 'm2' }, 30);
  const upd = feed(b, nd2);
  assert.equal(upd.length, 1);
  assert.equal(upd[0].data.phase, 'update');
  assert.equal(upd[0].data.incident, id);
  b.stop();
});

test('restart with no incident yet: a replayed door event joins a live new device once', () => {
  const dir = tempDir('gw-corr-');
  dirs.push(dir);
  const clock = fakeClock();
  const a = setup({}, { stateDir: dir, clock });
  const door = seal(a.chain, 'access.door.forced', 'door-1', {}, 0);
  feed(a.c, door);
  a.c.stop();
  const rules = rulesFromConfig(correlateConfigSchema.parse({}));
  const b = createCorrelator({ rules, log, clock, stateDir: dir });
  assert.deepEqual(feed(b, door), []);
  const nd = seal(a.chain, 'network.device.new', 'm1', { mac: 'm1' }, 10);
  const out = feed(b, nd);
  assert.equal(out.length, 1);
  assert.deepEqual((out[0].data.events as Array<{ seq: number }>).map((r) => r.seq), [door.body.seq, nd.body.seq]);
  b.stop();
  // Third life: both replayed → nothing, the incident is still the one open.
  const c3 = createCorrelator({ rules, log, clock, stateDir: dir });
  assert.deepEqual(feed(c3, door, nd), []);
  assert.equal(c3.incidents().length, 1);
  c3.stop();
});

test('historical (replayed backlog) events never open an incident', () => {
  const { chain, c } = setup({}, { isHistorical: (e) => e.body.data.hist === true });
  assert.deepEqual(feed(c, seal(chain, 'access.door.forced', 'd', { hist: true }, 0), seal(chain, 'network.device.new', 'm', { hist: true }, 1)), []);
});

test('incident events (driver correlate) are not correlated again', () => {
  const { chain, c } = setup({ rules: [{ name: 'loop', type: 'incident.test.loop', steps: [{ name: 'any', match: [{ type: 'incident.*' }] }] }] });
  assert.deepEqual(feed(c, seal(chain, 'incident.intrusion.rogue_device', 'rogue_device', {}, 0, 'correlate')), []);
});

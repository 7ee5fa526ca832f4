// Local access decisions over a real pipeline with the correlator (as the daemon wires
// them), a real credential store (SQLite file) and the signed-command built-ins; the door
// route records what would go to the drivers. Every decision's data is checked against
// docs/events.schema.json.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { accessConfigSchema } from '../../agent/access/config.js';
import { startAccess, type AccessRuntime } from '../../agent/access/index.js';
import type { SealedEvent } from '../../agent/chain/chain.js';
import type { Clock } from '../../agent/clock.js';
import type { JsonObject } from '../../agent/events/types.js';
import { correlatingPipeline } from '../helpers/correlating-pipeline.js';
import { tempDir } from '../helpers/chain.js';
import { validateObservationData } from '../helpers/event-schema.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
// Wednesday 2030-01-02 10:00 Europe/Berlin (09:00 UTC).
const T0 = Date.parse('2030-01-02T09:00:00Z');

const CONFIG = {
  enabled: true,
  timezone: 'Europe/Berlin',
  rules: { nonSecureRead: 'alarm', tamperRecent: 'deny', tamperMinutes: 10, networkIncident: 'deny-except-emergency' },
  doors: [
    { id: 'front', readers: ['rdr-1'], groups: ['lobby'], strike: { osdpReader: 'rdr-1', output: 0 }, pulseMs: 3000 },
    { id: 'lab', readers: ['rdr-2'], strike: { osdpReader: 'rdr-2' }, rules: { nonSecureRead: 'deny' } },
    { id: 'side', readers: ['wg-1'], groups: ['lobby'], strike: { modbus: 'plc-1', point: 'side_strike' }, feedbackReader: 'rdr-3' },
  ],
};

const LIST: JsonObject = {
  version: 1,
  schedules: { office: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '07:00', to: '19:00' }], night: [{ days: ['wed'], from: '22:00', to: '06:00' }] },
  groups: { staff: { doors: ['lobby', 'lab'], schedule: 'office' }, cleaners: { doors: ['lobby'], schedule: 'night' }, emergency: { doors: ['lobby', 'lab'] } },
  credentials: [
    { id: 'alice', card: { format: 'H10301', facility: 12, number: 3456 }, groups: ['staff'] },
    { id: 'bob', card: { facility: 12, number: 1000 }, groups: ['staff'], validTo: '2029-12-31T00:00:00Z' },
    { id: 'carol', card: { format: 'H10301', facility: 12, number: 2000 }, groups: ['cleaners'] },
    { id: 'dave', card: { bits: '10101010101010101010101010' }, groups: ['staff'], pin: '4711' },
    { id: 'erin', card: { number: 77 }, groups: ['emergency'] },
  ],
};

interface Rig {
  rt: AccessRuntime;
  sunk: SealedEvent[];
  sent: Array<{ name: string; args: JsonObject; target: string }>;
  clock: Clock & { set(ms: number): void };
  read(reader: string, data: JsonObject, driver?: string): void;
  of(type: string): SealedEvent[];
  dir: string;
}

function rig(dir = tempDir('gw-access-')): Rig {
  if (!dirs.includes(dir)) dirs.push(dir);
  const { pipe, sunk } = correlatingPipeline();
  const sent: Rig['sent'] = [];
  let now = T0;
  const clock = { now: () => now, mono: () => now - T0, set: (ms: number) => (now = ms) };
  const rt = startAccess({
    config: accessConfigSchema.parse(CONFIG),
    stateDir: dir,
    pipeline: pipe,
    route: async (name, args, target) => {
      sent.push({ name, args, target });
      return { ok: true };
    },
    clock,
    log: pino({ level: 'silent' }),
  });
  return {
    rt,
    sunk,
    sent,
    clock,
    dir,
    read: (reader, data, driver = 'osdp') => void pipe.ingest(driver, { type: 'access.card.read', severity: 'info', device: reader, data: { reader, bitCount: 26, parityOk: true, ...data } }),
    of: (type) => sunk.filter((e) => e.body.type === type),
  };
}

const h10301 = (fc: number, cn: number, secure = true): JsonObject => ({ format: 'H10301', facility: fc, cardNumber: cn, secure });
const last = (r: Rig): SealedEvent => r.sunk.filter((e) => e.body.type.startsWith('access.card.') && e.body.type !== 'access.card.read').at(-1)!;

function checkSchemas(r: Rig): void {
  for (const e of r.sunk) if (e.body.src.driver === 'access') assert.equal(validateObservationData(e.body.type, e.body.data), null);
}

test('listed card opens the door; unlisted, expired, out of schedule, wrong door are denied with the reason', async () => {
  const r = rig();
  const put = await r.rt.builtins['access.credentials.put'](LIST);
  assert.equal(put.ok, true, put.detail);
  r.read('rdr-1', h10301(12, 3456));
  const g = last(r);
  assert.equal(g.body.type, 'access.card.granted');
  assert.equal(g.body.data.credential, 'alice');
  assert.equal(g.body.src.door, 'front');
  assert.deepEqual((g.body.data.read as JsonObject).seq, g.body.seq - 1, 'decision follows its read');
  assert.deepEqual(r.sent.map((s) => `${s.name}@${s.target}`), ['output@rdr-1', 'led@rdr-1', 'buzzer@rdr-1'], 'strike first, then LED and beep');
  assert.deepEqual(r.sent[0].args, { action: 'pulse', durationMs: 3000, output: 0 });
  assert.equal(r.sent[1].args.color, 'green');
  const reasons: Array<[JsonObject, string]> = [
    [h10301(99, 1), 'unknown'],
    [h10301(12, 1000), 'expired'],
    [h10301(12, 2000), 'outside-schedule'],
  ];
  for (const [card, reason] of reasons) {
    r.sent.length = 0;
    r.read('rdr-1', card);
    assert.equal(last(r).body.type, 'access.card.denied');
    assert.equal(last(r).body.data.reason, reason);
    assert.deepEqual(r.sent.map((s) => `${s.name}:${String(s.args.color ?? s.args.count)}`), ['led:red', 'buzzer:2']);
  }
  // carol's night window runs over midnight: Wednesday 23:30 and Thursday 05:30 Berlin are in it.
  r.clock.set(Date.parse('2030-01-02T22:30:00Z'));
  r.read('rdr-1', h10301(12, 2000));
  assert.equal(last(r).body.type, 'access.card.granted');
  r.clock.set(Date.parse('2030-01-03T04:30:00Z'));
  r.read('rdr-1', h10301(12, 2000));
  assert.equal(last(r).body.type, 'access.card.granted');
  r.clock.set(T0);
  // carol's groups do not include the lab.
  r.read('rdr-2', h10301(12, 2000));
  assert.equal(last(r).body.data.reason, 'not-permitted');
  // A card listed without format matches any format with that facility/number; bits match raw.
  r.read('rdr-2', { format: 'C1k35s', facility: 12, cardNumber: 1000, secure: true });
  assert.equal(last(r).body.data.reason, 'expired');
  checkSchemas(r);
  r.rt.stop();
});

test('zero-trust rules: non-secure read denied at a secure-only door, alarmed elsewhere; tamper; network incident', async () => {
  const r = rig();
  await r.rt.builtins['access.credentials.put'](LIST);
  r.read('rdr-2', h10301(12, 3456, false));
  assert.equal(last(r).body.data.reason, 'reader-not-secure');
  r.read('rdr-1', h10301(12, 3456, false));
  assert.equal(last(r).body.type, 'access.card.granted');
  assert.deepEqual(last(r).body.data.alarms, ['reader-not-secure']);
  assert.equal(last(r).body.severity, 'alarm');
  // A Wiegand line is never secure; its door's strike is a Modbus coil, feedback on an OSDP reader.
  r.sent.length = 0;
  r.read('wg-1', { format: 'H10301', facility: 12, cardNumber: 3456 }, 'wiegand');
  assert.equal(last(r).body.type, 'access.card.granted');
  assert.deepEqual(r.sent[0], { name: 'output.pulse', args: { point: 'side_strike', durationMs: 3000 }, target: 'plc-1' });
  assert.equal(r.sent[1].target, 'rdr-3');
  // Tamper in the last 10 minutes: denied (this config), then allowed again after.
  const pipeIngest = (type: string, device: string, data: JsonObject, driver = 'osdp'): void => r.rt.engine.listener({ ...r.sunk[0], body: { ...r.sunk[0].body, type, src: { driver, device }, data, seq: 9999 } } as SealedEvent);
  pipeIngest('access.reader.tamper', 'rdr-1', { reader: 'rdr-1', address: 1, tamper: true });
  r.read('rdr-1', h10301(12, 3456));
  assert.equal(last(r).body.data.reason, 'tamper-recent');
  r.clock.set(T0 + 11 * 60_000);
  r.read('rdr-1', h10301(12, 3456));
  assert.equal(last(r).body.type, 'access.card.granted');
  // An open network incident: deny all but the emergency group; its close ends that.
  pipeIngest('incident.intrusion.rogue_device', 'rogue_device', { incident: 'inc-1', phase: 'open' }, 'correlate');
  r.read('rdr-1', h10301(12, 3456));
  assert.equal(last(r).body.data.reason, 'network-incident');
  r.read('rdr-1', { format: 'osdp-fmt', text: '77', facility: null, cardNumber: 77, bitCount: null, parityOk: null, direction: 0, secure: true });
  assert.equal(last(r).body.type, 'access.card.granted', 'emergency group still admitted');
  pipeIngest('incident.intrusion.rogue_device', 'rogue_device', { incident: 'inc-1', phase: 'close' }, 'correlate');
  r.read('rdr-1', h10301(12, 3456));
  assert.equal(last(r).body.type, 'access.card.granted');
  checkSchemas(r);
  r.rt.stop();
});

test('five denials in a minute at one door open a brute_force incident', async () => {
  const r = rig();
  await r.rt.builtins['access.credentials.put'](LIST);
  for (let i = 0; i < 4; i++) r.read('rdr-1', h10301(1, 100 + i));
  assert.equal(r.of('incident.access.brute_force').length, 0, 'four are not enough');
  r.read('rdr-2', h10301(1, 200)); // another door
  assert.equal(r.of('incident.access.brute_force').length, 0, 'a denial at another door does not count');
  r.read('rdr-1', h10301(1, 104));
  const inc = r.of('incident.access.brute_force');
  assert.equal(inc.length, 1);
  const seqs = (inc[0].body.data.events as Array<{ seq: number; type: string }>).map((e) => e.type);
  assert.deepEqual(seqs, Array(5).fill('access.card.denied'));
  r.rt.stop();
});

test('credential list: old version, malformed entry and wrong base refused with reason; patch applies; cards stored hashed', async () => {
  const r = rig();
  assert.equal((await r.rt.builtins['access.credentials.put'](LIST)).ok, true);
  const old = await r.rt.builtins['access.credentials.put']({ ...LIST, version: 1 });
  assert.equal(old.ok, false);
  assert.equal(old.data?.reason, 'old-version');
  const bad = await r.rt.builtins['access.credentials.put']({ ...LIST, version: 2, credentials: [...(LIST.credentials as JsonObject[]), { id: 'x', card: { number: -4 }, groups: ['staff'] }] });
  assert.equal(bad.ok, false);
  assert.equal(bad.data?.reason, 'malformed');
  assert.match(bad.detail!, /credentials\.5\.card/);
  const nogroup = await r.rt.builtins['access.credentials.put']({ ...LIST, version: 2, credentials: [{ id: 'x', card: { number: 4 }, groups: ['ghosts'] }] });
  assert.equal(nogroup.data?.reason, 'malformed');
  assert.equal(r.rt.store.info.version, 1, 'refusals leave the held list');
  const refusals = r.of('access.credentials.refused').map((e) => e.body.data.reason);
  assert.deepEqual(refusals, ['old-version', 'malformed', 'malformed']);
  const wrongBase = await r.rt.builtins['access.credentials.patch']({ baseVersion: 0, version: 2, upsert: [] });
  assert.equal(wrongBase.data?.reason, 'version-mismatch');
  const p = await r.rt.builtins['access.credentials.patch']({ baseVersion: 1, version: 2, upsert: [{ id: 'frank', card: { format: 'H10301', facility: 12, number: 9 }, groups: ['staff'] }], remove: ['alice'] });
  assert.equal(p.ok, true, p.detail);
  assert.deepEqual([r.rt.store.info.version, r.rt.store.info.count], [2, 5]);
  r.read('rdr-1', h10301(12, 3456));
  assert.equal(last(r).body.data.reason, 'unknown', 'alice removed');
  r.read('rdr-1', h10301(12, 9));
  assert.equal(last(r).body.data.credential, 'frank');
  // At rest: no card number, no PIN digits in the database file; the key is 0600.
  const db = readFileSync(join(r.dir, 'access.db')).toString('latin1') + readFileSync(join(r.dir, 'access.db-wal')).toString('latin1');
  for (const s of ['3456', '4711', '10101010101010101010101010']) assert.ok(!db.includes(`:${s}`) && !db.includes(`"${s}`), `${s} stored in clear`);
  assert.equal(statSync(join(r.dir, 'access-card.key')).mode & 0o777, 0o600);
  assert.deepEqual(r.rt.evidenceArgs('access.credentials.put', LIST), { version: 1, credentials: 5, upsert: null, remove: null, redacted: 'card numbers and PINs are not recorded' });
  checkSchemas(r);
  r.rt.stop();
});

test('PIN after the card: the keypad digest must match; none within the timeout is pin-missing', async () => {
  const r = rig();
  await r.rt.builtins['access.credentials.put'](LIST);
  const pinKey = Buffer.from(readFileSync(join(r.dir, 'osdp-pin.key'), 'utf8').trim(), 'base64');
  const keypad = (digits: string): void => r.rt.engine.listener({ ...r.sunk[0], body: { ...r.sunk[0].body, seq: 9000, type: 'access.keypad', src: { driver: 'osdp', device: 'rdr-1' }, data: { policy: 'hash', length: digits.length, hmac: createHmac('sha256', pinKey).update(digits).digest('base64url') } } } as SealedEvent);
  const dave = { format: 'unknown', facility: null, cardNumber: null, bits: '10101010101010101010101010', secure: true };
  r.read('rdr-1', dave);
  assert.equal(r.of('access.card.granted').length, 0, 'waits for the PIN');
  assert.equal(r.sent.length, 0);
  keypad('4711#');
  assert.equal(last(r).body.type, 'access.card.granted');
  assert.equal(last(r).body.data.pin, true);
  r.read('rdr-1', dave);
  keypad('1234');
  assert.equal(last(r).body.data.reason, 'pin-wrong');
  checkSchemas(r);
  r.rt.stop();
});

test('lockdown denies every door and survives a restart; release restores; forced after a denial is attributed', async () => {
  const dir = tempDir('gw-access-');
  const r = rig(dir);
  await r.rt.builtins['access.credentials.put'](LIST);
  await r.rt.builtins['access.lockdown']({ reason: 'drill' });
  r.read('rdr-1', h10301(12, 3456));
  assert.equal(last(r).body.data.reason, 'lockdown');
  r.rt.stop();
  const r2 = rig(dir);
  assert.equal(r2.rt.store.info.version, 1, 'list kept across restart');
  r2.read('rdr-1', h10301(12, 3456));
  assert.equal(last(r2).body.data.reason, 'lockdown', 'lockdown kept across restart');
  r2.rt.engine.listener({ ...r2.sunk[0], body: { ...r2.sunk[0].body, seq: 9000, type: 'access.door.forced', src: { driver: 'osdp', device: 'rdr-1' }, data: { reader: 'rdr-1', address: 1, input: 0 } } } as SealedEvent);
  const att = r2.of('access.door.attributed')[0];
  assert.equal(att.body.severity, 'alarm');
  assert.equal((att.body.data.lastDecision as JsonObject).reason, 'lockdown');
  await r2.rt.builtins['access.release']({});
  r2.read('rdr-1', h10301(12, 3456));
  assert.equal(last(r2).body.type, 'access.card.granted');
  assert.deepEqual(r2.of('access.lockdown.released').length, 1);
  const o = await r2.rt.engine.unlock('front', 10_000, 'control-socket');
  assert.equal(o.ok, true);
  assert.equal(r2.of('access.door.override')[0].body.data.forMs, 10_000);
  await assert.rejects(r2.rt.engine.unlock('nowhere', 1000, 'control-socket'), /no door "nowhere"/);
  checkSchemas(r2);
  r2.rt.stop();
});

// Pure pieces of the OSDP CP: config errors that name the path, keypad PIN policies,
// card data from RAW, door logic (forced / granted / held), command argument checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCommand } from '../../drivers/osdp/commands.js';
import { osdpConfigSchema } from '../../drivers/osdp/config.js';
import { keypadData, rawCardData } from '../../drivers/osdp/cp/card.js';
import { DoorMonitor } from '../../drivers/osdp/cp/door.js';
import { loadOrCreatePinKey } from '../../drivers/osdp/cp/pin-key.js';
import { decideOverride } from '../../drivers/osdp/cp/comset-store.js';
import { bitsToRawBytes } from '../../drivers/cards/raw-bits.js';
import { encodeWiegand } from '../../drivers/cards/formats.js';

test('config: defaults and path-naming errors', () => {
  const c = osdpConfigSchema.parse({ id: 'b', port: '/dev/ttyUSB0', readers: [{ id: 'r', address: 1 }] });
  assert.equal(c.replyTimeoutMs, 200);
  assert.equal(c.offlineAfterMs, 8000);
  assert.equal(c.readers[0].pinPolicy, 'length');
  const r = osdpConfigSchema.safeParse({ id: 'b', port: '/dev/x', readers: [{ id: 'a', address: 200 }, { id: 'a', address: 3, secureRequired: true }, { id: 'c', address: 3, scbk: 'zz' }] });
  const paths = r.error!.issues.map((i) => i.path.join('.'));
  assert.ok(paths.includes('readers.0.address'));
  assert.ok(paths.includes('readers.1.secureRequired'));
  assert.ok(paths.includes('readers.2.scbk'));
  assert.ok(paths.includes('readers.2.address'), 'duplicate address');
});

test('keypad: hash / length / none never carry digits; hash is keyed (HMAC), not a reversible digest', () => {
  const keys = Buffer.from('4711\r', 'latin1');
  const key = Buffer.alloc(32, 7);
  const h = keypadData(keys, 'hash', key);
  assert.equal(h.length, 5);
  assert.match(String(h.hmac), /^[A-Za-z0-9_-]{43}$/);
  assert.equal(h.hmac, createHmac('sha256', key).update('4711#').digest('base64url'));
  assert.equal(keypadData(keys, 'hash', key).hmac, h.hmac, 'same PIN, same key: comparable');
  assert.notEqual(keypadData(keys, 'hash', Buffer.alloc(32, 8)).hmac, h.hmac, 'another gateway key: unrelated');
  assert.notEqual(h.hmac, createHash('sha256').update('4711#').digest('base64url'), 'not the plain digest');
  assert.throws(() => keypadData(keys, 'hash'), /needs the gateway PIN key/);
  assert.deepEqual(keypadData(keys, 'length'), { policy: 'length', length: 5 });
  assert.deepEqual(keypadData(keys, 'none'), { policy: 'none' });
  assert.ok(!JSON.stringify(h).includes('4711'));
});

test('keypad PIN key: created 0600 once, reused, refused when group/world-readable', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-pin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'state', 'osdp-pin.key');
  const k1 = loadOrCreatePinKey(file);
  assert.equal(k1.length, 32);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(loadOrCreatePinKey(file), k1, 'the same key on the next start');
  chmodSync(file, 0o644);
  assert.throws(() => loadOrCreatePinKey(file), /readable by group\/others \(mode 0644\).*chmod 600/);
});

test('card data: RAW decoded, ambiguous 37-bit listed, unknown length kept raw', () => {
  const raw = (bits: string) => ({ ...(({ bytes, bitCount }) => ({ data: bytes, bitCount }))(bitsToRawBytes(bits)), format: 0 });
  const d = rawCardData(raw(encodeWiegand('H10301', { fc: 5, cn: 6 })), []);
  assert.deepEqual([d.format, d.facility, d.cardNumber, d.parityOk], ['H10301', 5, 6, true]);
  const u = rawCardData(raw('1011'), []);
  assert.deepEqual([u.format, u.cardNumber, u.bits, u.parityOk], ['unknown', null, '1011', null]);
});

test('door: forced without grant, granted after strike, held once per opening', () => {
  const ev: string[] = [];
  const d = new DoorMonitor({ contactInput: 0, openValue: 1, rexActiveValue: 1, rexInput: 1, grantSeconds: 5, heldOpenSeconds: 10 }, (t) => ev.push(t));
  d.onInputs([0, 0], 0);
  d.onInputs([1, 0], 1000);
  assert.deepEqual(ev, ['access.door.opened', 'access.door.forced']);
  d.onInputs([0, 0], 2000);
  d.onInputs([0, 1], 3000); // REX press grants
  d.onInputs([1, 1], 4000);
  d.tick(13_000);
  d.tick(20_000);
  assert.deepEqual(ev.slice(2), ['access.door.closed', 'access.door.rex', 'access.door.opened', 'access.door.held']);
});

test('commands: LED temporary/permanent, output pulse needs a strike, args checked', () => {
  const led = buildCommand('led', { color: 'green', durationMs: 1500 });
  assert.equal(led.type === 'LED' && led.records[0].temporary.timer, 15);
  const perm = buildCommand('led', { color: 'red' });
  assert.equal(perm.type === 'LED' && perm.records[0].permanent.control, 1);
  assert.deepEqual(buildCommand('output', { action: 'pulse', durationMs: 500 }, 3), { type: 'OUT', records: [{ output: 3, control: 5, timer: 5 }] });
  assert.throws(() => buildCommand('output', {}), /strike/);
  assert.throws(() => buildCommand('comset', { address: 127, baud: 9600 }));
});

test('COMSET override at start: config still old → apply; copied fully → drop; copied half → apply the rest; third value → config wins', () => {
  const o = { address: 9, baud: 19200 as const, configAddress: 5, configBaud: 115200 as const, at: '2026-11-27T20:00:00.000Z' };
  assert.deepEqual(decideOverride(o, { address: 5, baud: 115200 }, 1), { action: 'apply', override: o, applyBaud: true });
  assert.deepEqual(decideOverride(o, { address: 5, baud: 115200 }, 2), { action: 'apply', override: o, applyBaud: false }, 'one speed per bus');
  assert.equal(decideOverride(o, { address: 9, baud: 19200 }, 1).action, 'drop');
  assert.deepEqual(decideOverride(o, { address: 9, baud: 115200 }, 1), { action: 'apply', override: o, applyBaud: true }, 'address copied, baud forgotten: the stored speed still holds');
  assert.deepEqual(decideOverride(o, { address: 5, baud: 19200 }, 1), { action: 'apply', override: o, applyBaud: true }, 'baud copied, address forgotten');
  const third = decideOverride(o, { address: 12, baud: 115200 }, 1);
  assert.equal(third.action, 'drop');
  assert.equal(third.action === 'drop' && third.reason, 'config-changed');
  const taken = decideOverride(o, { address: 5, baud: 115200 }, 2, 'r2');
  assert.equal(taken.action === 'drop' && taken.reason, 'address-taken');
});

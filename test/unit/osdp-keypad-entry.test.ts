// Keypad entry collection (drivers/osdp/cp/keypad-entry.ts): keys of successive KEYPAD
// replies joined into one entry, ended by '#', a pause or the bound; '*' clears; a
// discarded partial entry never comes out. Time is the scheduler's mono ms, passed in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KEYPAD_MAX_KEYS, KeypadEntry, type EntryEnd } from '../../drivers/osdp/cp/keypad-entry.js';

const keys = (s: string): Buffer => Buffer.from(s.replace(/\*/g, '\x7f').replace(/#/g, '\r'), 'latin1');
const text = (b: Buffer): string => b.toString('latin1').replace(/\r/g, '#');

function rig(timeoutMs = 4000) {
  const out: Array<{ text: string; end: EntryEnd; replies: number }> = [];
  const e = new KeypadEntry(timeoutMs, (k, end, replies) => out.push({ text: text(k), end, replies }));
  return { e, out };
}

test("one key per reply: joined until '#', the '#' kept as a buffering reader sends it", () => {
  const { e, out } = rig();
  let t = 0;
  for (const k of ['4', '7', '1', '1']) e.add(keys(k), (t += 300));
  assert.deepEqual(out, []);
  assert.equal(e.pending, 4);
  e.add(keys('#'), (t += 300));
  assert.deepEqual(out, [{ text: '4711#', end: '#', replies: 5 }]);
  assert.equal(e.pending, 0);
});

test('a pause ends the entry as typed; a tick before the pause does not', () => {
  const { e, out } = rig(4000);
  e.add(keys('12'), 1000);
  e.add(keys('34'), 2000);
  e.tick(5999);
  assert.deepEqual(out, []);
  e.tick(6000);
  assert.deepEqual(out, [{ text: '1234', end: 'timeout', replies: 2 }]);
  e.tick(20_000);
  assert.equal(out.length, 1, 'nothing pending, nothing more');
});

test("'*' clears; a whole entry in one reply; two entries in one reply; the bound", () => {
  const { e, out } = rig();
  e.add(keys('99*'), 0);
  e.add(keys('4711#'), 10);
  e.add(keys('1#2#'), 20);
  assert.deepEqual(out, [
    { text: '4711#', end: '#', replies: 1 },
    { text: '1#', end: '#', replies: 1 },
    { text: '2#', end: '#', replies: 1 },
  ]);
  out.length = 0;
  e.add(keys('1'.repeat(KEYPAD_MAX_KEYS + 2)), 30);
  assert.deepEqual(out, [{ text: '1'.repeat(KEYPAD_MAX_KEYS), end: 'overflow', replies: 1 }]);
  assert.equal(e.pending, 2, 'the keys after the bound start a new entry');
});

test('a discarded partial entry (card read, reader offline) never comes out', () => {
  const { e, out } = rig(1000);
  e.add(keys('12'), 0);
  e.discard();
  e.tick(10_000);
  e.add(keys('34#'), 10_001);
  assert.deepEqual(out, [{ text: '34#', end: '#', replies: 1 }]);
});

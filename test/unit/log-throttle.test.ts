// agent/log-throttle.ts with an injected clock and scheduler: a repeated condition logs
// once, then one summary per interval with the count; a stack once per distinct error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { errorKey, LogThrottle } from '../../agent/log-throttle.js';

interface Line {
  level: number;
  msg: string;
  repeated?: number;
  overS?: number;
  err?: { type?: string; message?: string; stack?: string; code?: string };
  [k: string]: unknown;
}

function harness(intervalMs = 10_000) {
  const lines: Line[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  let now = 1_000_000;
  let timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  const th = new LogThrottle({
    intervalMs,
    now: () => now,
    schedule: (fn, ms) => {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return { cancel: () => void (t.live = false) };
    },
  });
  /** Advance the fake clock, running due timers in order. */
  const advance = (ms: number): void => {
    const end = now + ms;
    for (;;) {
      const due = timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      now = due.at;
      due.live = false;
      due.fn();
    }
    timers = timers.filter((t) => t.live);
    now = end;
  };
  return { lines, log, th, advance, pending: () => timers.filter((t) => t.live).length };
}

test('a repeated condition logs once, then one summary per interval with the count of suppressed repeats', () => {
  const { lines, log, th, advance } = harness(10_000);
  // 3,000 occurrences over 25 s (one every ~8 ms), as "spool over quota" did.
  for (let i = 0; i < 3000; i++) {
    th.log(log, 'error', 'quota', { count: i }, 'spool over quota: unsent events dropped');
    advance(8);
  }
  advance(1); // t = 24.001 s: two interval ends so far
  console.log(`3000 occurrences in 24 s → ${lines.length} lines: ${lines.map((l) => l.repeated ?? 'first').join(', ')}`);
  assert.equal(lines.length, 3, 'first line + a summary at 10 s and at 20 s');
  assert.equal(lines[0].repeated, undefined);
  assert.equal(lines[0].count, 0);
  assert.equal(lines[0].level, 50);
  assert.equal(lines[1].repeated, 1249, 'occurrences at 8 ms … 9.992 s (the one at 10 s opens the next interval)');
  assert.match(lines[1].msg, /^spool over quota: unsent events dropped \(repeated 1249 more time\(s\) in 10 s\)$/);
  assert.equal(lines[1].overS, 10);
  assert.equal(lines[1].count, 1249, 'the summary carries the latest occurrence');
  assert.equal(lines[2].repeated, 1250, 'occurrences at 10 s … 19.992 s');
  advance(10_000); // the rest of the repeats (20 s … 24 s) are summarised at 30 s
  assert.equal(lines.length, 4);
  const total = lines.slice(1).reduce((n, l) => n + (l.repeated ?? 0), 0);
  assert.equal(total + 1, 3000, 'every occurrence is either written or counted');
  assert.equal(th.suppressedTotal, 2999);
  advance(10_000); // a quiet interval ends the episode
  assert.equal(th.active('quota'), false);
  th.log(log, 'error', 'quota', { count: -1 }, 'spool over quota: unsent events dropped');
  assert.equal(lines.length, 5, 'after a quiet interval the next occurrence logs in full');
  assert.equal(lines[4].repeated, undefined);
});

test('a single occurrence writes no summary; distinct keys are independent', () => {
  const { lines, log, th, advance, pending } = harness(1000);
  th.log(log, 'warn', 'a', {}, 'A');
  th.log(log, 'warn', 'b', {}, 'B');
  th.log(log, 'warn', 'a', {}, 'A');
  advance(5000);
  assert.deepEqual(lines.map((l) => `${l.msg}|${l.repeated ?? ''}`), ['A|', 'B|', 'A (repeated 1 more time(s) in 1 s)|1']);
  assert.equal(pending(), 0, 'no timers left once both conditions went quiet');
});

test('resolved() writes the pending summary at once and re-arms the condition', () => {
  const { lines, log, th, advance } = harness(30_000);
  for (let i = 0; i < 7; i++) {
    th.log(log, 'error', 'mqtt', { attempt: i }, 'MQTT broker refused');
    advance(1000);
  }
  th.resolved('mqtt');
  assert.equal(lines.length, 2);
  assert.equal(lines[1].repeated, 6);
  assert.equal(lines[1].overS, 7);
  th.resolved('mqtt'); // nothing pending: no line
  advance(60_000);
  assert.equal(lines.length, 2, 'the cancelled interval timer writes nothing');
  th.log(log, 'error', 'mqtt', {}, 'MQTT broker refused');
  assert.equal(lines.length, 3);
  th.log(log, 'error', 'x', {}, 'X');
  th.log(log, 'error', 'x', {}, 'X');
  th.flush();
  assert.equal(lines.length, 5);
  assert.equal(lines[4].repeated, 1);
  for (const k of ['e: a', 'e: a', 'e: b', 'e: b', 'f', 'f']) th.log(log, 'error', k, {}, k);
  assert.equal(lines.length, 8);
  th.resolvedPrefix('e: ');
  assert.deepEqual(lines.slice(8).map((l) => l.msg), ['e: a (repeated 1 more time(s) in 0 s)', 'e: b (repeated 1 more time(s) in 0 s)']);
  assert.equal(th.active('f'), true, 'other keys untouched');
});

test('a stack trace appears once per distinct error message; repeats carry type, message and code', () => {
  const { lines, log, th, advance } = harness(1000);
  const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1883'), { code: 'ECONNREFUSED' });
  for (let i = 0; i < 5; i++) {
    th.log(log, 'error', errorKey('mqtt', refused()), { err: refused() }, 'connect failed');
    advance(1500); // each occurrence after a quiet interval: all written in full
  }
  assert.equal(lines.length, 5);
  assert.match(lines[0].err?.stack ?? '', /ECONNREFUSED[\s\S]*at /, 'the first line has the stack');
  for (const l of lines.slice(1)) {
    assert.ok(!l.err?.stack, 'later lines: no stack (pino writes an empty one)');
    assert.equal(l.err?.message, 'connect ECONNREFUSED 127.0.0.1:1883');
    assert.equal(l.err?.type, 'Error');
    assert.equal(l.err?.code, 'ECONNREFUSED');
  }
  th.log(log, 'error', 'disk', { err: new Error('SQLITE_FULL: database or disk is full') }, 'append failed');
  assert.match(lines[5].err?.stack ?? '', /SQLITE_FULL[\s\S]*at /, 'a different error gets its stack once');
  th.log(log, 'error', 'disk', { err: new Error('SQLITE_FULL: database or disk is full') }, 'append failed');
  advance(1000);
  assert.equal(lines[6].repeated, 1);
  assert.ok(!lines[6].err?.stack, 'the summary carries no stack');
  const stacks = lines.filter((l) => l.err?.stack).length;
  console.log(`${lines.length} lines, ${stacks} with a stack`);
  assert.equal(stacks, 2);
});

test('sum: numeric fields of the suppressed occurrences are totalled in the summary', () => {
  const { lines, log, th, advance } = harness(1000);
  for (const count of [5, 7, 11, 13]) th.log(log, 'error', 'q', { count, note: 'x' }, 'dropped', ['count', 'note']);
  advance(1000);
  assert.equal(lines.length, 2);
  assert.equal(lines[0].count, 5);
  assert.deepEqual(lines[1].suppressedTotals, { count: 31 }, '7 + 11 + 13; non-numeric fields are not summed');
  th.log(log, 'error', 'q', { count: 2 }, 'dropped', ['count']);
  advance(1000);
  assert.deepEqual(lines[2].suppressedTotals, { count: 2 }, 'totals restart with each interval');
  advance(1000); // quiet: the episode ends
  th.log(log, 'error', 'q', { count: 1 }, 'dropped', ['count']);
  advance(1000);
  assert.equal(lines.length, 4, 'a fresh episode: its first line in full, no summary');
  assert.equal(lines[3].suppressedTotals, undefined);
});

test('errorKey: call site plus message', () => {
  assert.equal(errorKey('spool', new Error('disk full')), 'spool: disk full');
  assert.equal(errorKey('x', 'plain'), 'x: plain');
  assert.equal(errorKey('x', new Error('m'.repeat(1000))).length, 'x: '.length + 200);
});

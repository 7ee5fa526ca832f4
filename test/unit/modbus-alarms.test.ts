// Alarm state machines and deadband reporting, driven with explicit monotonic times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reporter, StateAlarm, ThresholdAlarm } from '../../drivers/modbus/alarms.js';
import { thresholdAlarmSchema, stateAlarmSchema } from '../../drivers/modbus/config.js';

const th = (o: object) => new ThresholdAlarm(thresholdAlarmSchema.parse(o));

test('hysteresis: a value hovering around the limit raises once and clears once', () => {
  const a = th({ high: 30, hysteresis: 2 });
  const seq = [25, 30.5, 29.6, 30.4, 29.5, 30.8, 28.1, 31, 28, 27, 30.5];
  const out = seq.flatMap((v, i) => a.update(v, i * 100).map((x) => `${x.action}@${v}`));
  assert.deepEqual(out, ['alarm@30.5', 'clear@28', 'alarm@30.5']);
  const flappy = th({ high: 30 });
  assert.equal(seq.flatMap((v, i) => flappy.update(v, i)).filter((x) => x.action === 'alarm').length, 5);
});

test('low limit, jump from high straight to low, durations', () => {
  const a = th({ high: 30, low: 10, hysteresis: 1 });
  assert.deepEqual(a.update(31, 0).map((x) => [x.action, x.limit]), [['alarm', 'high']]);
  const t = a.update(5, 1000);
  assert.deepEqual(t.map((x) => [x.action, x.limit, x.durationMs]), [['clear', 'high', 1000], ['alarm', 'low', 0]]);
  assert.deepEqual(a.update(10.5, 1500), []);
  assert.deepEqual(a.update(11, 2000).map((x) => [x.action, x.threshold, x.durationMs]), [['clear', 10, 1000]]);
  assert.equal(a.state, 'normal');
});

test('delay: the condition must hold across polls for delayMs; a dip resets it', () => {
  const a = th({ high: 30, delayMs: 1000 });
  assert.deepEqual(a.update(31, 0), []);
  assert.deepEqual(a.update(31, 500), []);
  assert.deepEqual(a.update(29, 900), []);
  assert.deepEqual(a.update(31, 1000), []);
  assert.deepEqual(a.update(31, 1999), []);
  const t = a.update(32, 2000);
  assert.deepEqual(t.map((x) => [x.action, x.durationMs]), [['alarm', 1000]]);
});

test('boolean state alarm (door contact), with and without delay', () => {
  const door = new StateAlarm(stateAlarmSchema.parse({ when: true, kind: 'contact' }));
  assert.deepEqual(door.update(false, 0), []);
  assert.deepEqual(door.update(true, 100).map((x) => x.action), ['alarm']);
  assert.deepEqual(door.update(true, 200), []);
  assert.deepEqual(door.update(false, 700).map((x) => [x.action, x.durationMs]), [['clear', 600]]);
  const leak = new StateAlarm(stateAlarmSchema.parse({ when: true, kind: 'leak', delayMs: 300 }));
  assert.deepEqual(leak.update(true, 0), []);
  assert.deepEqual(leak.update(false, 100), []);
  assert.deepEqual(leak.update(true, 200), []);
  assert.deepEqual(leak.update(true, 500).map((x) => x.action), ['alarm']);
});

test('Reporter: first, change beyond deadband, periodic report of a stable value', () => {
  const r = new Reporter(0.5, 1000);
  assert.equal(r.check(20, 0), 'first');
  assert.equal(r.check(20.4, 100), null);
  assert.equal(r.check(20.6, 200), 'change');
  assert.equal(r.check(20.2, 300), null);
  assert.equal(r.check(20.2, 1199), null);
  assert.equal(r.check(20.2, 1200), 'interval');
  const exact = new Reporter(0, 0);
  assert.equal(exact.check(true, 0), 'first');
  assert.equal(exact.check(true, 10_000), null);
  assert.equal(exact.check(false, 10_001), 'change');
  assert.equal(exact.check(1, 0), 'change');
  assert.equal(exact.check(1.0001, 1), 'change');
});

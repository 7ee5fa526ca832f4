// A refused observation never breaks an alarm/clear pair: the alarm state machines and the
// unit advance only when the pipeline accepted the event (UnitEnv.emit → true); the next
// poll retries. Also: NaN/±Infinity become explicit invalid readings, 1e20 a plain reading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Observation } from '../../agent/events/types.js';
import { checkObservation } from '../../agent/events/types.js';
import { ThresholdAlarm, StateAlarm } from '../../drivers/modbus/alarms.js';
import { modbusConfigSchema } from '../../drivers/modbus/config.js';
import { UnitRuntime } from '../../drivers/modbus/unit.js';

test('ThresholdAlarm: a refused alarm stays pending, a refused clear keeps it raised', () => {
  const a = new ThresholdAlarm({ high: 10, hysteresis: 1, delayMs: 0, severity: 'alarm' } as never);
  assert.deepEqual(a.update(20, 0, () => false), []);
  assert.equal(a.state, 'normal');
  assert.deepEqual(a.update(20, 1).map((t) => t.action), ['alarm']);
  assert.equal(a.state, 'high');
  assert.deepEqual(a.update(5, 2, () => false), []);
  assert.equal(a.state, 'high');
  assert.deepEqual(a.update(5, 3).map((t) => t.action), ['clear']);
  const s = new StateAlarm({ when: true, delayMs: 0, kind: 'leak', severity: 'alarm' } as never);
  assert.deepEqual(s.update(true, 0, () => false), []);
  assert.equal(s.state, 'normal');
  assert.deepEqual(s.update(true, 1).map((t) => t.action), ['alarm']);
  assert.deepEqual(s.update(false, 2, () => false), []);
  assert.equal(s.state, 'alarm');
  assert.deepEqual(s.update(false, 3).map((t) => t.action), ['clear']);
});

function unit(refuse: (o: Observation) => boolean) {
  const cfg = modbusConfigSchema.parse({
    id: 'b',
    transport: { type: 'tcp', host: 'x' },
    units: [{ id: 'u', unitId: 1, points: [{ name: 'p', table: 'holding', address: 0, type: 'float32', alarm: { high: 100, hysteresis: 1 } }] }],
  });
  const accepted: Observation[] = [];
  let k = 0;
  const u = new UnitRuntime(cfg.units[0], {
    bus: 'b',
    emit: (o) => {
      if (refuse(o)) return false;
      checkObservation(o); // what the pipeline checks
      accepted.push(o);
      return true;
    },
    now: () => k,
    mono: () => ++k,
    reportError: () => undefined,
  });
  const req = u.jobs[0].requests[0];
  return { u, accepted, read: (regs: number[]) => u.readOk(req, regs) };
}

const F = { e20: [0x60ad, 0x78ec], max: [0x7f7f, 0xffff], nan: [0x7fc0, 0], inf: [0x7f80, 0], v20: [0x41a0, 0] };

test('unit: the pipeline refuses the first alarm and reading; both come at the next poll, and the clear after them', () => {
  let refusals = 2;
  const { u, accepted, read } = unit((o) => o.data.point === 'p' && refusals-- > 0);
  read(F.max);
  assert.equal(accepted.length, 0);
  assert.equal(u.counters.emitRefused, 2);
  read(F.max);
  assert.deepEqual(accepted.map((o) => o.type), ['sensor.reading', 'sensor.threshold.alarm']);
  assert.equal(accepted[0].data.value, 3.4028235e38);
  read(F.v20);
  assert.deepEqual(accepted.map((o) => o.type).slice(2), ['sensor.reading', 'sensor.threshold.clear']);
});

test('unit: 1e20 is a reading (the pipeline accepts it); NaN and +Inf are explicit invalid readings, once per episode', () => {
  const { accepted, read } = unit(() => false);
  read(F.e20);
  assert.deepEqual(accepted.map((o) => [o.type, o.data.value]), [['sensor.reading', 1e20], ['sensor.threshold.alarm', 1e20]]);
  read(F.nan);
  read(F.nan);
  read(F.inf);
  const inv = accepted.filter((o) => o.data.invalid);
  assert.deepEqual(inv.map((o) => [o.data.value, o.data.invalid, o.severity]), [[null, 'nan', 'warning'], [null, '+inf', 'warning']]);
  read(F.v20);
  const last = accepted.slice(-2);
  assert.deepEqual(last.map((o) => [o.type, o.data.value]), [['sensor.reading', 20], ['sensor.threshold.clear', 20]]);
});

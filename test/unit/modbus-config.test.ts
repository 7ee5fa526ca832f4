// The bus config schema: defaults, and errors that name the offending path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interFrameDelayMs, modbusConfigSchema } from '../../drivers/modbus/config.js';
import { manifest } from '../../drivers/modbus/index.js';

const base = {
  id: 'bus-1',
  transport: { type: 'rtu', path: '/dev/ttyUSB0' },
  units: [{ id: 'env-1', unitId: 1, points: [{ name: 'temp', table: 'input', address: 0, type: 'int16', scale: 0.1 }] }],
};

test('defaults: 9600 8E1, 1 s timeout, one retry, 1 s poll, 125-register reads', () => {
  const c = modbusConfigSchema.parse(base);
  assert.equal(manifest.kind, 'modbus');
  assert.deepEqual(c.transport, { type: 'rtu', path: '/dev/ttyUSB0', baudRate: 9600, parity: 'even', dataBits: 8, stopBits: 1 });
  assert.equal(c.timeoutMs, 1000);
  assert.equal(c.retries, 1);
  assert.equal(c.units[0].pollIntervalMs, 1000);
  assert.equal(c.units[0].maxRegistersPerRead, 125);
  assert.equal(c.units[0].points[0].order, 'ABCD');
  assert.equal(c.transport.type, 'rtu');
  if (c.transport.type !== 'rtu') return;
  assert.ok(Math.abs(interFrameDelayMs(c.transport) - 4.01) < 0.01);
  assert.equal(interFrameDelayMs({ ...c.transport, baudRate: 115200 }), 1.75);
});

function issues(raw: unknown): string[] {
  const r = modbusConfigSchema.safeParse(raw);
  assert.equal(r.success, false);
  return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

test('errors name the path', () => {
  const pts = (p: object) => ({ ...base, units: [{ ...base.units[0], points: [{ name: 'p', table: 'holding', address: 0, ...p }] }] });
  assert.match(issues(pts({ table: 'coil', type: 'int16' })).join(), /units\.0\.points\.0\.type: coil points are bool/);
  assert.match(issues(pts({ type: 'string' })).join(), /points\.0\.count: string points need count/);
  assert.match(issues(pts({ type: 'bool', alarm: { high: 3 } })).join(), /points\.0\.alarm: bool points take/);
  assert.match(issues(pts({ alarm: { high: 10, low: 9, hysteresis: 1 } })).join(), /points\.0\.alarm/);
  assert.match(issues(pts({ table: 'input', writable: true })).join(), /writable: input tables are read-only/);
  assert.match(issues({ ...base, units: [{ ...base.units[0], unitId: 0 }] }).join(), /units\.0\.unitId: serial unit ids are 1–247/);
  assert.match(issues({ ...base, units: [base.units[0], { ...base.units[0], unitId: 2 }] }).join(), /units\.1\.id: duplicate device id/);
  assert.match(issues({ ...base, bogus: 1 }).join(), /bogus|Unrecognized/);
});

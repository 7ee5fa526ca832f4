// The discover scan against pymodbus on a pty, and the demo simulator driven by the driver
// (including the write command).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scanUnits } from '../../drivers/modbus/discover.js';
import { ModbusDriver } from '../../drivers/modbus/driver.js';
import { simBusConfig, startModbusSim } from '../../drivers/modbus/sim.js';
import { openPtyPair } from '../helpers/pty.js';
import { makeCtx, parseConfig, readings, startPeer, waitFor } from './modbus-harness.js';

test('scanUnits finds exactly the units that answer, with progress', async (t) => {
  const pty = await openPtyPair();
  t.after(() => pty.close());
  // Unit 5 has no register 10 (exception 2): it still counts as present.
  const peer = await startPeer({ transport: 'rtu', device: pty.b, units: { '2': { hr: { '10': [7] } }, '5': { size: 5 } } });
  t.after(() => peer.kill());
  const progress: number[] = [];
  const hits = await scanUnits({ port: pty.a, parity: 'none', ids: [1, 2, 3, 4, 5, 6], timeoutMs: 500, probe: { fc: 3, address: 10 }, onProgress: (p) => progress.push(p.done) });
  assert.deepEqual(hits.map((h) => [h.unitId, h.answer]), [[2, 'data'], [5, 'exception']]);
  assert.equal(hits[0].detail, '10 = 7');
  assert.match(hits[1].detail, /exception 2/);
  assert.deepEqual(progress, [1, 2, 3, 4, 5, 6]);
});

test('demo simulator: the driver reads temperature, humidity and the door; write drives the relay', async (t) => {
  const sim = await startModbusSim({ port: 0 });
  t.after(() => sim.close());
  const { ctx, events } = makeCtx();
  const driver = new ModbusDriver(parseConfig(simBusConfig(sim.port)), ctx);
  t.after(() => driver.stop());
  await driver.start();
  await waitFor(() => ['temperature', 'humidity', 'door', 'relay'].every((p) => readings(events, 'env-sensor-1', p).length > 0), 'all demo points');
  const temp = readings(events, 'env-sensor-1', 'temperature')[0] as number;
  assert.ok(temp > 20 && temp < 35, `plausible temperature ${temp}`);
  assert.equal(readings(events, 'env-sensor-1', 'relay')[0], false);
  const res = await driver.command('write', { point: 'relay', value: true });
  assert.equal(res.ok, true, res.detail);
  await waitFor(() => readings(events, 'env-sensor-1', 'relay').includes(true), 'relay reads back true');
  assert.equal((await driver.command('write', { point: 'humidity', value: 1 })).ok, false);
  await assert.rejects(driver.command('blink', {}), /unknown command/);
});

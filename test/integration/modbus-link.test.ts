// Modbus TCP under the reconnecting link, against pymodbus: the server killed (SIGKILL) and
// restarted on the same port. The unit goes offline once, the link reopens the socket with
// backoff while nothing listens, and the unit is online again by itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ModbusDriver } from '../../drivers/modbus/driver.js';
import { makeCtx, ofType, parseConfig, readings, startPeer, waitFor } from './modbus-harness.js';

test('modbus TCP server killed and restarted: offline once, reopened by the link, online again', { timeout: 60_000 }, async (t) => {
  let peer = await startPeer({ transport: 'tcp', port: 0, units: { '1': { hr: { '0': [11] } } } });
  t.after(() => peer.kill());
  const port = Number(peer.where);
  const { ctx, events, errors } = makeCtx();
  const cfg = parseConfig({
    id: 'bus-tcp',
    transport: { type: 'tcp', host: '127.0.0.1', port },
    timeoutMs: 300,
    reconnect: { minMs: 50, maxMs: 300 },
    units: [{ id: 'meter-1', unitId: 1, pollIntervalMs: 100, points: [{ name: 'v', table: 'holding', address: 0, type: 'uint16' }] }],
  });
  const driver = new ModbusDriver(cfg, ctx);
  t.after(() => driver.stop());
  await driver.start();
  await waitFor(() => readings(events, 'meter-1', 'v').includes(11), 'first reading');

  await peer.kill();
  await waitFor(() => ofType(events, 'sensor.device.offline').length === 1, 'offline after the server died');
  // Nothing listens: connection attempts fail and are retried (refused, not announced again).
  await waitFor(() => driver.health()[0].info?.port === 'closed' || null, 'socket closed');
  assert.equal((await driver.diagnose()).find((d) => d.check === 'bus open')?.verdict, 'fail');

  peer = await startPeer({ transport: 'tcp', port, units: { '1': { hr: { '0': [12] } } } });
  await waitFor(() => readings(events, 'meter-1', 'v').includes(12), 'a reading from the restarted server', 20_000);
  assert.deepEqual(
    events.filter((e) => e.type.startsWith('sensor.device.')).map((e) => e.type),
    ['sensor.device.online', 'sensor.device.offline', 'sensor.device.online'],
  );
  assert.equal(typeof ofType(events, 'sensor.device.online')[1].data.downMs, 'number');
  assert.equal(errors.length, 1, 'the loss reported once');
  const open = (await driver.diagnose()).find((d) => d.check === 'bus open');
  assert.equal(open?.verdict, 'pass');
  assert.match(open?.detail ?? '', /1 re-open/);
});

// Alarm hysteresis, exception handling, a dead unit on a shared RTU line, and a serial
// port that vanishes and comes back — all against a real pymodbus slave.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { ModbusDriver } from '../../drivers/modbus/driver.js';
import { openPtyPair } from '../helpers/pty.js';
import { makeCtx, ofType, parseConfig, readings, startPeer, startStandingExceptionPeer, waitFor } from './modbus-harness.js';

test('threshold hovering around the limit: exactly one alarm and one clear with hysteresis', async (t) => {
  const peer = await startPeer({ transport: 'tcp', port: 0, units: { '1': { hr: { '0': [250] }, co: { '0': [false] } } } });
  t.after(() => peer.kill());
  const { ctx, events } = makeCtx();
  const cfg = parseConfig({
    id: 'bus-h',
    transport: { type: 'tcp', host: '127.0.0.1', port: Number(peer.where) },
    units: [
      {
        id: 'env-1',
        unitId: 1,
        pollIntervalMs: 50,
        points: [
          { name: 'temp', table: 'holding', address: 0, type: 'int16', scale: 0.1, unit: 'degC', alarm: { high: 30, hysteresis: 2 } },
          // Same register without hysteresis: shows the flapping the hysteresis prevents.
          { name: 'temp_raw', table: 'holding', address: 0, type: 'int16', scale: 0.1, alarm: { high: 30 } },
          { name: 'door', table: 'coil', address: 0, type: 'bool', alarm: { when: true, kind: 'contact' } },
        ],
      },
    ],
  });
  const driver = new ModbusDriver(cfg, ctx);
  t.after(() => driver.stop());
  await driver.start();
  await waitFor(() => readings(events, 'env-1', 'temp').includes(25), 'first reading 25.0');
  // Hover around 30 (never back below 30 - 2 = 28), then drop well below.
  for (const raw of [305, 296, 304, 295, 308, 294, 303, 270]) {
    await peer.set(1, 'hr', 0, [raw]);
    await waitFor(() => readings(events, 'env-1', 'temp').at(-1) === raw / 10, `reading ${raw / 10}`);
  }
  const alarms = ofType(events, 'sensor.threshold.alarm').filter((e) => e.data.point === 'temp');
  const clears = ofType(events, 'sensor.threshold.clear').filter((e) => e.data.point === 'temp');
  assert.equal(alarms.length, 1, 'one alarm');
  assert.equal(clears.length, 1, 'one clear');
  assert.equal(alarms[0].severity, 'alarm');
  assert.deepEqual(
    { value: alarms[0].data.value, limit: alarms[0].data.limit, threshold: alarms[0].data.threshold, unit: alarms[0].data.unit },
    { value: 30.5, limit: 'high', threshold: 30, unit: 'degC' },
  );
  assert.equal(clears[0].data.value, 27);
  assert.equal(typeof clears[0].data.durationMs, 'number');
  assert.ok(events.indexOf(alarms[0]) < events.indexOf(clears[0]));
  const rawAlarms = ofType(events, 'sensor.threshold.alarm').filter((e) => e.data.point === 'temp_raw');
  assert.ok(rawAlarms.length >= 4, `without hysteresis the same values flap (${rawAlarms.length} alarms)`);

  // Door contact: open → sensor.contact.alarm, closed → sensor.contact.clear, once each.
  await peer.set(1, 'co', 0, [true]);
  await waitFor(() => ofType(events, 'sensor.contact.alarm').length === 1, 'contact alarm');
  await peer.set(1, 'co', 0, [false]);
  await waitFor(() => ofType(events, 'sensor.contact.clear').length === 1, 'contact clear');
  assert.equal(ofType(events, 'sensor.contact.alarm')[0].data.value, true);
});

test('exception 2: one exception event, the unit\'s other points keep polling', async (t) => {
  const { peer, config: cfg } = await startStandingExceptionPeer(t);
  const { ctx, events } = makeCtx();
  const driver = new ModbusDriver(cfg, ctx);
  t.after(() => driver.stop());
  await driver.start();
  await waitFor(() => readings(events, 'pm-1', 'power').includes(100), 'power reading');
  await waitFor(() => (driver.health()[0].counters.exception_2 ?? 0) >= 6, 'several polls of the bad point');
  await peer.set(1, 'hr', 0, [123]);
  await waitFor(() => readings(events, 'pm-1', 'power').includes(123), 'power keeps polling');
  const ex = ofType(events, 'sensor.modbus.exception');
  assert.equal(ex.length, 1, 'one exception event for a standing condition');
  assert.equal(ex[0].severity, 'warning');
  assert.equal(ex[0].data.code, 2);
  assert.equal(ex[0].data.name, 'illegal data address');
  assert.deepEqual(ex[0].data.points, ['bogus']);
  assert.equal(ex[0].data.address, 50);
  const h = driver.health()[0];
  assert.equal(h.state, 'degraded');
  assert.match(h.lastError ?? '', /exception 2/);
  const diag = await driver.diagnose();
  const check = diag.find((d) => d.check === 'exception responses');
  assert.equal(check?.verdict, 'warn');
  assert.match(check?.hint ?? '', /0-based/);
  assert.equal(ofType(events, 'sensor.device.offline').length, 0);
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

test('dead unit on an RTU bus: the other units keep their poll interval (median within 1.5x)', async (t) => {
  const pty = await openPtyPair();
  t.after(() => pty.close());
  const peer = await startPeer({ transport: 'rtu', device: pty.b, units: { '1': { hr: { '0': [11] } }, '2': { hr: { '0': [22] } } } });
  t.after(() => peer.kill());
  const { ctx, events, times } = makeCtx();
  const NOMINAL = 200;
  // reportIntervalMs: 1 turns every poll into a reading, so reading times are poll times.
  const point = { name: 'v', table: 'holding', address: 0, type: 'uint16', reportIntervalMs: 1 };
  const cfg = parseConfig({
    id: 'bus-d',
    transport: { type: 'rtu', path: pty.a, baudRate: 19200, parity: 'none' },
    timeoutMs: 150,
    retries: 2,
    offlineBackoff: { minMs: 300, maxMs: 600 },
    units: [
      { id: 'u1', unitId: 1, pollIntervalMs: NOMINAL, points: [point] },
      { id: 'dead', unitId: 9, pollIntervalMs: NOMINAL, points: [point] },
      { id: 'u2', unitId: 2, pollIntervalMs: NOMINAL, points: [point] },
    ],
  });
  const driver = new ModbusDriver(cfg, ctx);
  t.after(() => driver.stop());
  await driver.start();
  await waitFor(() => readings(events, 'u1', 'v').length >= 16 && readings(events, 'u2', 'v').length >= 16, '16 polls of each live unit', 30_000);
  const dead = driver.health().find((h) => h.device === 'dead');
  assert.equal(dead?.state, 'offline');
  assert.ok((dead?.counters.timeouts ?? 0) >= 3, `the dead unit was probed repeatedly (${dead?.counters.timeouts} timeouts)`);
  assert.equal(dead?.counters.retries, 0, 'no retries spent on a unit that never answered');
  assert.equal(ofType(events, 'sensor.device.offline', 'dead').length, 1);
  for (const dev of ['u1', 'u2']) {
    const ts = events.map((e, i) => (e.type === 'sensor.reading' && e.device === dev ? times[i] : -1)).filter((x) => x >= 0);
    const gaps = ts.slice(1).map((x, i) => x - ts[i]);
    const m = median(gaps.slice(2));
    assert.ok(m <= NOMINAL * 1.5, `${dev}: median poll interval ${m.toFixed(0)} ms > 1.5 × ${NOMINAL}`);
    assert.equal(ofType(events, 'sensor.device.offline', dev).length, 0, `${dev} never went offline`);
  }
});

test('serial port unplugged and back: offline, then online again by itself', async (t) => {
  const pty = await openPtyPair();
  t.after(() => pty.close());
  let peer = await startPeer({ transport: 'rtu', device: pty.b, units: { '3': { hr: { '0': [33] } } } });
  t.after(() => peer.kill());
  const { ctx, events, errors } = makeCtx();
  const cfg = parseConfig({
    id: 'bus-u',
    transport: { type: 'rtu', path: pty.a, baudRate: 9600, parity: 'none' },
    timeoutMs: 200,
    reconnect: { minMs: 50, maxMs: 400 },
    units: [{ id: 'leak-1', unitId: 3, pollIntervalMs: 100, points: [{ name: 'v', table: 'holding', address: 0, type: 'uint16' }] }],
  });
  const driver = new ModbusDriver(cfg, ctx);
  t.after(() => driver.stop());
  await driver.start();
  await waitFor(() => ofType(events, 'sensor.device.online').length === 1, 'online');

  await peer.kill();
  await pty.close();
  await waitFor(() => ofType(events, 'sensor.device.offline').length === 1, 'offline after unplug');
  assert.equal(ofType(events, 'sensor.device.offline')[0].data.reason, 'serial port closed');
  assert.equal(driver.health()[0].state, 'offline');
  const down = await driver.diagnose();
  assert.equal(down.find((d) => d.check === 'serial port exists')?.verdict, 'fail');

  const again = await openPtyPair({ dir: pty.dir });
  t.after(async () => {
    await again.close();
    rmSync(pty.dir, { recursive: true, force: true });
  });
  peer = await startPeer({ transport: 'rtu', device: again.b, units: { '3': { hr: { '0': [34] } } } });
  await waitFor(() => ofType(events, 'sensor.device.online').length === 2, 'online after re-plug', 20_000);
  await waitFor(() => readings(events, 'leak-1', 'v').includes(34), 'fresh reading after re-plug');
  assert.deepEqual(
    events.filter((e) => e.type.startsWith('sensor.device.')).map((e) => e.type),
    ['sensor.device.online', 'sensor.device.offline', 'sensor.device.online'],
  );
  assert.equal(driver.health()[0].state, 'online');
  assert.equal(errors.length, 1, 'the loss was reported once through ctx.reportError');
  assert.equal((await driver.diagnose()).find((d) => d.check === 'bus open')?.verdict, 'pass');
});

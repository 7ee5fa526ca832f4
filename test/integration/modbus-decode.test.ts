// Every data type and word order decodes to the value the slave holds, over Modbus TCP and
// over RTU on a socat pty pair, against pymodbus 3.0 (zero_mode, RTU framer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModbusDriver } from '../../drivers/modbus/driver.js';
import { openPtyPair } from '../helpers/pty.js';
import { makeCtx, parseConfig, readings, startPeer, waitFor } from './modbus-harness.js';

// Register images computed independently (Python struct), A = most significant byte.
const HOLDING: Record<string, number[]> = {
  '0': [215], // uint16 215, scale 0.1 → 21.5
  '1': [0xfb2e], // int16 -1234 ABCD
  '2': [0x2efb], // int16 -1234 BADC
  '3': [0xfffe, 0x1dc0], // int32 -123456 ABCD
  '5': [0x1dc0, 0xfffe], // int32 -123456 CDAB
  '7': [0x0000, 0x41ac], // float32 21.5 CDAB
  '9': [0xd0b2, 0x005e], // uint32 3000000000 BADC
  '11': [0x0000, 0x50c0], // float32 -3.25 DCBA
  '13': [0xffdf, 0xffff, 0xffff, 0xffff], // int64 -9007199254740993 ABCD (beyond 2^53 → string)
  '17': [0x1c35, 0xdfdc, 0x0002, 0x0000], // uint64 12345678901 CDAB
  '21': [0xadfa, 0x5c6d, 0x454a, 0x9340], // float64 1234.5678 DCBA
  '25': [0x4757, 0x2d30, 0x3100, 0x0000], // string "GW-01" ABCD
  '29': [0x5747, 0x302d, 0x0031, 0x0000], // string "GW-01" BADC
  '33': [0b1000], // bool from bit 3
};

const POINTS = [
  { name: 'scaled', table: 'holding', address: 0, type: 'uint16', scale: 0.1, unit: 'degC' },
  { name: 'i16', table: 'holding', address: 1, type: 'int16' },
  { name: 'i16_badc', table: 'holding', address: 2, type: 'int16', order: 'BADC' },
  { name: 'i32', table: 'holding', address: 3, type: 'int32' },
  { name: 'i32_cdab', table: 'holding', address: 5, type: 'int32', order: 'CDAB' },
  { name: 'f32_cdab', table: 'holding', address: 7, type: 'float32', order: 'CDAB' },
  { name: 'u32_badc', table: 'holding', address: 9, type: 'uint32', order: 'BADC' },
  { name: 'f32_dcba', table: 'holding', address: 11, type: 'float32', order: 'DCBA' },
  { name: 'i64_big', table: 'holding', address: 13, type: 'int64' },
  { name: 'u64_cdab', table: 'holding', address: 17, type: 'uint64', order: 'CDAB' },
  { name: 'f64_dcba', table: 'holding', address: 21, type: 'float64', order: 'DCBA' },
  { name: 'str', table: 'holding', address: 25, type: 'string', count: 4 },
  { name: 'str_badc', table: 'holding', address: 29, type: 'string', count: 4, order: 'BADC' },
  { name: 'bit3', table: 'holding', address: 33, type: 'bool', bit: 3 },
  { name: 'in_i16', table: 'input', address: 4, type: 'int16' },
  { name: 'coil0', table: 'coil', address: 0, type: 'bool' },
  { name: 'coil1', table: 'coil', address: 1, type: 'bool' },
  { name: 'coil9', table: 'coil', address: 9, type: 'bool' },
  { name: 'di3', table: 'discrete', address: 3, type: 'bool' },
];

const EXPECTED: Record<string, number | boolean | string> = {
  scaled: 21.5,
  i16: -1234,
  i16_badc: -1234,
  i32: -123456,
  i32_cdab: -123456,
  f32_cdab: 21.5,
  u32_badc: 3000000000,
  f32_dcba: -3.25,
  i64_big: '-9007199254740993',
  u64_cdab: 12345678901,
  f64_dcba: 1234.5678,
  str: 'GW-01',
  str_badc: 'GW-01',
  bit3: true,
  in_i16: -5,
  coil0: true,
  coil1: false,
  coil9: true,
  di3: true,
};

const UNIT = { hr: HOLDING, ir: { '4': [0xfffb] }, co: { '0': [true, false], '9': [true] }, di: { '3': [true] } };

async function decodeAll(transport: object, t: { after(fn: () => Promise<void>): void }): Promise<void> {
  const { ctx, events } = makeCtx();
  const cfg = parseConfig({ id: 'bus-t', transport, timeoutMs: 1000, units: [{ id: 'dev-1', unitId: 1, pollIntervalMs: 100, points: POINTS }] });
  const driver = new ModbusDriver(cfg, ctx);
  t.after(() => driver.stop());
  await driver.start();
  await waitFor(() => Object.keys(EXPECTED).every((p) => readings(events, 'dev-1', p).length > 0), 'a reading of every point');
  for (const [p, v] of Object.entries(EXPECTED)) assert.deepEqual(readings(events, 'dev-1', p)[0], v, `point ${p}`);
  const online = events.filter((e) => e.type === 'sensor.device.online');
  assert.equal(online.length, 1);
  // 19 points merge into one holding, one input, one coil and one discrete read.
  const h = driver.health()[0];
  assert.equal(h.state, 'online');
  assert.ok(h.counters.requests >= 4);
  await driver.stop();
  const n = events.length;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(events.length, n, 'nothing emitted after stop()');
}

test('modbus TCP: every type and word order decodes to the slave value', async (t) => {
  const peer = await startPeer({ transport: 'tcp', host: '127.0.0.1', port: 0, units: { '1': UNIT } });
  t.after(() => peer.kill());
  await decodeAll({ type: 'tcp', host: '127.0.0.1', port: Number(peer.where) }, t);
});

test('modbus RTU over a pty: every type and word order decodes to the slave value', async (t) => {
  const pty = await openPtyPair();
  t.after(() => pty.close());
  const peer = await startPeer({ transport: 'rtu', device: pty.b, units: { '1': UNIT } });
  t.after(() => peer.kill());
  await decodeAll({ type: 'rtu', path: pty.a, baudRate: 115200, parity: 'none' }, t);
});

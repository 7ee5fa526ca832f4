// Value codec byte vectors (registers as a device holds them → decoded value), scaling,
// and the encode/decode round trip used by the write command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyScaling, decodeRegisters, encodeRegisters, orderedBytes, shortestFloat32 } from '../../drivers/modbus/codec.js';
import type { DataType, WordOrder } from '../../drivers/modbus/config.js';

const V: Array<[DataType, WordOrder, number[], number | string | boolean]> = [
  ['uint16', 'ABCD', [0x00d7], 215],
  ['int16', 'ABCD', [0xfb2e], -1234],
  ['int16', 'BADC', [0x2efb], -1234],
  ['int16', 'CDAB', [0xfb2e], -1234],
  ['int16', 'DCBA', [0x2efb], -1234],
  ['int32', 'ABCD', [0xfffe, 0x1dc0], -123456],
  ['int32', 'CDAB', [0x1dc0, 0xfffe], -123456],
  ['int32', 'BADC', [0xfeff, 0xc01d], -123456],
  ['int32', 'DCBA', [0xc01d, 0xfeff], -123456],
  ['uint32', 'BADC', [0xd0b2, 0x005e], 3000000000],
  ['float32', 'ABCD', [0x41ac, 0x0000], 21.5],
  ['float32', 'CDAB', [0x0000, 0x41ac], 21.5],
  ['float32', 'DCBA', [0x0000, 0x50c0], -3.25],
  ['int64', 'ABCD', [0xffdf, 0xffff, 0xffff, 0xffff], '-9007199254740993'],
  ['int64', 'ABCD', [0xffff, 0xffff, 0xffff, 0xfffe], -2],
  ['uint64', 'CDAB', [0x1c35, 0xdfdc, 0x0002, 0x0000], 12345678901],
  ['uint64', 'ABCD', [0xffff, 0xffff, 0xffff, 0xffff], '18446744073709551615'],
  ['float64', 'DCBA', [0xadfa, 0x5c6d, 0x454a, 0x9340], 1234.5678],
  ['string', 'ABCD', [0x4757, 0x2d30, 0x3100, 0x0000], 'GW-01'],
  ['string', 'BADC', [0x5747, 0x302d, 0x0031, 0x0000], 'GW-01'],
  ['string', 'ABCD', [0x4142, 0x2020], 'AB'],
  ['bool', 'ABCD', [0x0000], false],
  ['bool', 'ABCD', [0x0100], true],
];

test('decodeRegisters: every type and order against hand-made vectors', () => {
  for (const [type, order, regs, want] of V) {
    const r = decodeRegisters(regs, type, order);
    assert.ok(r.ok, `${type} ${order}`);
    assert.deepEqual(r.value, want, `${type} ${order} ${regs.map((x) => x.toString(16))}`);
  }
});

test('decodeRegisters: bit of a register, non-finite floats, short input', () => {
  assert.deepEqual(decodeRegisters([0b1000], 'bool', 'ABCD', 3), { ok: true, value: true });
  assert.deepEqual(decodeRegisters([0b1000], 'bool', 'ABCD', 2), { ok: true, value: false });
  assert.equal(decodeRegisters([0x7fc0, 0x0000], 'float32', 'ABCD').ok, false);
  assert.equal(decodeRegisters([0x7f80, 0x0000], 'float32', 'ABCD').ok, false);
  assert.equal(decodeRegisters([0x0001], 'int32', 'ABCD').ok, false);
  // control characters never reach event data
  assert.deepEqual(decodeRegisters([0x4107], 'string', 'ABCD'), { ok: true, value: 'A?' });
});

test('orderedBytes puts A first for each order', () => {
  const regs = [0x0102, 0x0304];
  assert.deepEqual([...orderedBytes(regs, 'ABCD')], [1, 2, 3, 4]);
  assert.deepEqual([...orderedBytes(regs, 'CDAB')], [3, 4, 1, 2]);
  assert.deepEqual([...orderedBytes(regs, 'BADC')], [2, 1, 4, 3]);
  assert.deepEqual([...orderedBytes(regs, 'DCBA')], [4, 3, 2, 1]);
});

test('applyScaling: shortest exact decimals, decimals option, int64 strings', () => {
  assert.equal(applyScaling(215, 'uint16', { scale: 0.1, offset: 0 }), 21.5);
  assert.equal(applyScaling(1, 'int16', { scale: 0.1, offset: -0.1 }), 0);
  assert.equal(applyScaling(-400, 'int16', { scale: 0.1, offset: 40 }), 0);
  assert.equal(applyScaling(2731, 'uint16', { scale: 0.1, offset: -273.15 }), -0.05);
  assert.equal(applyScaling(2732, 'uint16', { scale: 0.1, offset: -273.15 }), 0.05);
  assert.equal(applyScaling(123, 'uint16', { scale: 0.000001, offset: 0 }), 0.000123);
  assert.equal(applyScaling(Math.fround(21.3), 'float32', { scale: 1, offset: 0 }), 21.3);
  assert.equal(applyScaling(12345, 'uint16', { scale: 0.001, offset: 0, decimals: 1 }), 12.3);
  assert.equal(applyScaling('-9007199254740993', 'int64', { scale: 1, offset: 0 }), '-9007199254740993');
  assert.equal(typeof applyScaling('-9007199254740993', 'int64', { scale: 0.001, offset: 0 }), 'number');
  assert.equal(applyScaling(true, 'bool', { scale: 1, offset: 0 }), true);
  assert.equal(shortestFloat32(Math.fround(16777216)), 16777216);
});

test('encodeRegisters inverts decode for writable types, and refuses out-of-range values', () => {
  const cases: Array<[DataType, WordOrder, number]> = [
    ['int16', 'ABCD', -1234],
    ['uint16', 'BADC', 65535],
    ['int32', 'CDAB', -123456],
    ['uint32', 'DCBA', 3000000000],
    ['float32', 'CDAB', 21.5],
    ['float64', 'ABCD', 1234.5678],
    ['int64', 'DCBA', -42],
  ];
  for (const [type, order, v] of cases) {
    const regs = encodeRegisters(v, type, order, { scale: 1, offset: 0 });
    assert.deepEqual(decodeRegisters(regs, type, order), { ok: true, value: v }, `${type} ${order}`);
  }
  assert.deepEqual(encodeRegisters(21.5, 'uint16', 'ABCD', { scale: 0.1, offset: 0 }), [215]);
  assert.throws(() => encodeRegisters(70000, 'uint16', 'ABCD', { scale: 1, offset: 0 }), /out of range/);
  assert.throws(() => encodeRegisters(Number.NaN, 'int16', 'ABCD', { scale: 1, offset: 0 }), /finite/);
});

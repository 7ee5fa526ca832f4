import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BUILTIN_FORMATS,
  decodeWiegand,
  defineWiegandFormat,
  encodeWiegand,
  WiegandFormatError,
} from '../../drivers/cards/formats.js';
import { bitsToRawBytes, rawBytesToBits, WiegandInputError } from '../../drivers/cards/raw-bits.js';
import { hex, wiegandVectors } from '../helpers/osdp-vectors.js';

const W = wiegandVectors();

test('every Wiegand vector: decode, parity, OSDP RAW bytes, encode', () => {
  assert.equal(W.formats.length, 7);
  for (const v of W.formats) {
    const label = `${v.format} ${v.fc ?? '-'}/${v.cn}`;
    assert.deepEqual(bitsToRawBytes(v.bits), { bytes: hex(v.osdp_raw_data_hex), bitCount: v.bit_count }, label);
    assert.equal(rawBytesToBits(hex(v.osdp_raw_data_hex), v.bit_count), v.bits, label);
    for (const input of [v.bits, { bytes: hex(v.osdp_raw_data_hex), bitCount: v.bit_count }]) {
      const r = decodeWiegand(input);
      assert.equal(r.bits, v.bits);
      const c = r.candidates.find((x) => x.format === v.format);
      assert.ok(c, `${label}: candidate present`);
      assert.equal(c.cn, v.decoded.cn, label);
      assert.equal(c.fc, v.decoded.fc, label);
      assert.equal(c.parityOk, v.decoded.parity_ok, label);
      assert.equal(r.candidates[0].parityOk, true, label);
    }
    const values: Record<string, number> = { cn: v.cn };
    if (v.fc !== undefined) values.fc = v.fc;
    assert.equal(encodeWiegand(v.format, values), v.bits, `${label} encode`);
  }
  assert.equal(encodeWiegand('H10301', { fc: 21, cn: 15890 }), W.public_example_check.ours);
});

test('37 bits: H10302 and H10304 both returned, ambiguity flagged, never guessed', () => {
  const v = W.formats.find((f) => f.format === 'H10304')!;
  const r = decodeWiegand(v.bits);
  assert.deepEqual(r.candidates.map((c) => c.format).sort(), ['H10302', 'H10304']);
  assert.equal(r.ambiguous, true);
  // With a broken parity bit both stay, both flagged invalid, and nothing is "ambiguous-valid".
  const flipped = (v.bits[0] === '1' ? '0' : '1') + v.bits.slice(1);
  const f = decodeWiegand(flipped);
  assert.equal(f.candidates.length, 2);
  assert.ok(f.candidates.every((c) => !c.parityOk));
  assert.equal(f.ambiguous, false);
});

test('parity failures are reported per parity bit; valid candidates sort first', () => {
  const good = encodeWiegand('H10301', { fc: 123, cn: 4567 });
  const badTrailing = good.slice(0, 25) + (good[25] === '1' ? '0' : '1');
  const r = decodeWiegand(badTrailing);
  assert.equal(r.candidates.length, 1);
  assert.deepEqual(r.candidates[0].parity, [
    { bit: 1, type: 'even', ok: true },
    { bit: 26, type: 'odd', ok: false },
  ]);
  assert.equal(r.candidates[0].parityOk, false);
  // A custom 26-bit format with no parity sorts before the parity-failed H10301.
  const custom = defineWiegandFormat({ name: 'raw26', bitCount: 26, fields: { cn: { start: 1, length: 26 } }, parity: [] });
  const r2 = decodeWiegand(badTrailing, { formats: [custom] });
  assert.deepEqual(r2.candidates.map((c) => c.format), ['raw26', 'H10301']);
});

test('C1k35s/C1k48s: a single flipped data bit is caught', () => {
  for (const name of ['C1k35s', 'C1k48s']) {
    const bits = encodeWiegand(name, { fc: 1000, cn: 123456 });
    assert.ok(decodeWiegand(bits).candidates[0].parityOk);
    for (let i = 0; i < bits.length; i++) {
      const flipped = bits.slice(0, i) + (bits[i] === '1' ? '0' : '1') + bits.slice(i + 1);
      const c = decodeWiegand(flipped).candidates.find((x) => x.format === name)!;
      assert.equal(c.parityOk, false, `${name} bit ${i + 1}`);
    }
  }
});

test('unknown lengths: raw bits kept, no candidates', () => {
  const r = decodeWiegand('1010101');
  assert.deepEqual(r, { bits: '1010101', bitCount: 7, candidates: [], ambiguous: false });
  assert.deepEqual(decodeWiegand(encodeWiegand('H10301', { fc: 1, cn: 2 }), { builtins: false }).candidates, []);
});

test('custom format from config: field positions and parity ranges', () => {
  // A 32-bit site format: P(even over 2-16) | FC 10 bits (2-11) | CN 20 bits (12-31) | P(odd over 17-31).
  const def = {
    name: 'site32',
    bitCount: 32,
    fields: { fc: { start: 2, length: 10 }, cn: { start: 12, length: 20 } },
    parity: [
      { bit: 1, type: 'even' as const, over: [[2, 16] as [number, number]] },
      { bit: 32, type: 'odd' as const, over: [[17, 31] as [number, number]] },
    ],
  };
  const f = defineWiegandFormat(def);
  const bits = encodeWiegand(f, { fc: 777, cn: 654321 });
  const r = decodeWiegand(bits, { formats: [f] });
  assert.equal(r.candidates[0].format, 'site32');
  assert.equal(r.candidates[0].fc, 777);
  assert.equal(r.candidates[0].cn, 654321);
  assert.ok(r.candidates[0].parityOk);
});

test('format definitions are validated with a path', () => {
  const base = { name: 'x', bitCount: 26, fields: { cn: { start: 2, length: 24 } }, parity: [] };
  const bad = (def: unknown, re: RegExp): void =>
    assert.throws(() => defineWiegandFormat(def as Parameters<typeof defineWiegandFormat>[0], 'drivers.wiegand[0].formats[1]'), (e: unknown) => e instanceof WiegandFormatError && re.test(e.message));
  bad({ ...base, fields: { cn: { start: 20, length: 10 } } }, /^drivers\.wiegand\[0\]\.formats\[1\]\.fields\.cn: bits 20\.\.29 run past bit 26/);
  bad({ ...base, fields: { cn: { start: 1, length: 60 } } }, /fields\.cn\.length: must be 1\.\.53/);
  bad({ ...base, parity: [{ bit: 1, type: 'even', over: [[1, 13]] }] }, /parity\[0\]\.over: covers its own parity bit 1/);
  bad({ ...base, parity: [{ bit: 30, type: 'even', over: [2] }] }, /parity\[0\]\.bit/);
  bad({ ...base, parity: [{ bit: 1, type: 'mark', over: [2] }] }, /parity\[0\]\.type/);
  bad({ ...base, bitCount: 0 }, /bitCount/);
  assert.equal(BUILTIN_FORMATS.length, 6);
});

test('input errors are typed', () => {
  assert.throws(() => decodeWiegand('10201'), WiegandInputError);
  assert.throws(() => decodeWiegand(''), WiegandInputError);
  assert.throws(() => decodeWiegand({ bytes: Buffer.alloc(3), bitCount: 26 }), WiegandInputError);
  assert.throws(() => encodeWiegand('H10301', { fc: 256, cn: 1 }), /does not fit in 8 bits/);
  assert.throws(() => encodeWiegand('H10301', { cn: 1 }), /missing field fc/);
  assert.throws(() => encodeWiegand('nope', {}), WiegandInputError);
});

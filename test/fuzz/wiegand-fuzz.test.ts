// Seeded fuzzing of the Wiegand layer: random bit strings never throw (unknown lengths are
// reported raw), and encode → decode round-trips every built-in format on random values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_FORMATS, decodeWiegand, encodeWiegand } from '../../drivers/cards/formats.js';
import { bitsToRawBytes, rawBytesToBits } from '../../drivers/cards/raw-bits.js';
import { prng } from '../helpers/prng.js';

test('20k random reads: decode never throws, RAW bytes round-trip', { timeout: 60_000 }, () => {
  const rand = prng(0x1d0f);
  for (let i = 0; i < 20_000; i++) {
    const n = 1 + Math.floor(rand() * 64);
    let bits = '';
    for (let j = 0; j < n; j++) bits += rand() < 0.5 ? '0' : '1';
    const r = decodeWiegand(bits);
    assert.equal(r.bits, bits);
    for (const c of r.candidates) assert.equal(BUILTIN_FORMATS.find((f) => f.name === c.format)?.bitCount, n);
    const { bytes, bitCount } = bitsToRawBytes(bits);
    assert.equal(rawBytesToBits(bytes, bitCount), bits);
    assert.deepEqual(decodeWiegand({ bytes, bitCount }), r);
  }
});

test('encode → decode round-trips every built-in format on random values', { timeout: 60_000 }, () => {
  const rand = prng(0x8785);
  for (const f of BUILTIN_FORMATS) {
    for (let i = 0; i < 2000; i++) {
      const values: Record<string, number> = {};
      for (const [name, def] of Object.entries(f.fields)) values[name] = Math.floor(rand() * 2 ** def.length);
      const bits = encodeWiegand(f, values);
      const c = decodeWiegand(bits).candidates.find((x) => x.format === f.name);
      assert.ok(c?.parityOk, `${f.name} ${JSON.stringify(values)}`);
      assert.deepEqual(c.fields, values);
    }
  }
});

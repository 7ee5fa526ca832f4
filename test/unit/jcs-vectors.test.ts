// The shipped RFC 8785 vectors (test/vectors/jcs/) against our canonicaliser
// (agent/chain/jcs.ts, `canonicalize` ≥ 4), an independent one (`json-canonicalize`) and
// the strict I-JSON reader (agent/chain/strict-json.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalize as independent } from 'json-canonicalize';
import { jcs } from '../../agent/chain/jcs.js';
import { parseStrictJson, StrictJsonError } from '../../agent/chain/strict-json.js';
import { doubleOf, invalidInput, invalidVectors, numberVectors, validVectors } from '../helpers/jcs-vectors.js';

test('valid vectors: both canonicalisers produce the exact canonical bytes', () => {
  const vs = validVectors();
  for (const v of vs) {
    assert.equal(Buffer.from(v.canonical, 'utf8').toString('hex'), v.canonicalHex, `${v.name}: canonical and canonicalHex disagree`);
    const value = parseStrictJson(v.input);
    assert.equal(jcs(value), v.canonical, `${v.name}: our jcs`);
    assert.equal(independent(value), v.canonical, `${v.name}: json-canonicalize`);
    assert.equal(jcs(JSON.parse(v.input)), v.canonical, `${v.name}: JSON.parse agrees on valid input`);
    // Canonical text is a fixed point and is itself I-JSON.
    assert.equal(jcs(parseStrictJson(Buffer.from(v.canonicalHex, 'hex'))), v.canonical, `${v.name}: fixed point`);
  }
  console.log(`valid vectors: ${vs.length}`);
});

test('number vectors: ECMAScript serialisation of each double; NaN and ±Infinity refused', () => {
  const vs = numberVectors();
  let refused = 0;
  for (const v of vs) {
    const d = doubleOf(v.ieee754);
    if (v.canonical === null) {
      assert.throws(() => jcs(d), /cannot be canonicalized/, `${v.ieee754} must be refused`);
      assert.throws(() => jcs({ value: d }), /cannot be canonicalized/);
      refused += 1;
      continue;
    }
    assert.equal(jcs(d), v.canonical, `${v.ieee754}: our jcs`);
    assert.equal(independent(d), v.canonical, `${v.ieee754}: json-canonicalize`);
    // The canonical text reads back as the same double under the strict reader.
    assert.ok(Object.is(parseStrictJson(v.canonical), d) || (d === 0 && parseStrictJson(v.canonical) === 0), `${v.ieee754}: reads back`);
  }
  console.log(`number vectors: ${vs.length} (${refused} refused)`);
});

test('invalid vectors: the strict reader refuses each with the stated reason, never a RangeError', () => {
  const vs = invalidVectors();
  const reasons = new Map<string, number>();
  for (const v of vs) {
    const input = invalidInput(v);
    assert.throws(
      () => parseStrictJson(input),
      (e: unknown) => e instanceof StrictJsonError && e.reason === v.reason,
      `${v.name}: expected ${v.reason}`,
    );
    reasons.set(v.reason, (reasons.get(v.reason) ?? 0) + 1);
  }
  for (const r of ['lone-surrogate', 'duplicate-key', 'number-range', 'depth', 'utf8', 'syntax']) assert.ok(reasons.has(r), `no vector for ${r}`);
  console.log(`invalid vectors: ${vs.length}`, Object.fromEntries(reasons));
});

test('second line: jcs refuses lone surrogates that a lax reader let through', () => {
  let n = 0;
  for (const v of invalidVectors().filter((x) => x.reason === 'lone-surrogate')) {
    const lax = JSON.parse(v.input as string) as unknown;
    assert.throws(() => jcs(lax), /Lone surrogate/i, v.name);
    n += 1;
  }
  assert.ok(n >= 4);
});

test('JSON.parse keeps the last duplicate; the strict reader names it with its path', () => {
  const text = '{"body":{"severity":"debug","seq":7,"severity":"alarm"}}';
  assert.equal((JSON.parse(text) as { body: { severity: string } }).body.severity, 'alarm');
  assert.throws(() => parseStrictJson(text), /duplicate key "severity".*\(\/body\/severity\)/);
});

test('"__proto__" stays an own property, as with JSON.parse', () => {
  const v = parseStrictJson('{"__proto__":{"x":1},"a":2}') as Record<string, unknown>;
  assert.deepEqual(Object.keys(v), ['__proto__', 'a']);
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.equal(jcs(v), '{"__proto__":{"x":1},"a":2}');
  assert.throws(() => parseStrictJson('{"__proto__":1,"__proto__":2}'), /duplicate key/);
});

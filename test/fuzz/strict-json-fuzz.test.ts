// Seeded differential fuzzing of the strict I-JSON reader (agent/chain/strict-json.ts)
// against JSON.parse: on well-formed input without duplicates the two agree value for
// value (and both canonicalisers agree on the result); on mutated or random input the
// strict reader either agrees with JSON.parse or throws a StrictJsonError whose reason is
// true of the input — never another error, never a stack overflow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalize as independent } from 'json-canonicalize';
import { jcs } from '../../agent/chain/jcs.js';
import { loneSurrogateAt, parseStrictJson, StrictJsonError } from '../../agent/chain/strict-json.js';
import { prng } from '../helpers/prng.js';

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

const CHARS = ['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\u0000', '\u001f', '\u007f', '\u00e9', '\u20ac', '\u2028', '\ufffd', '\ud83d\ude00', '\ud800\udc00', '\ufb33'];

function randString(r: Rand): string {
  let s = '';
  const n = Math.floor(r() * 8);
  for (let i = 0; i < n; i++) s += pick(r, CHARS);
  return s;
}

function randNumber(r: Rand): number {
  const k = r();
  if (k < 0.3) return Math.floor(r() * 2000) - 1000;
  if (k < 0.5) return (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20);
  const b = Buffer.alloc(8);
  for (let i = 0; i < 8; i++) b[i] = Math.floor(r() * 256);
  const d = b.readDoubleBE(0);
  return Number.isFinite(d) ? d : 1.5;
}

function randValue(r: Rand, depth: number): unknown {
  const k = r();
  if (depth > 6 || k < 0.35) {
    const s = r();
    if (s < 0.4) return randString(r);
    if (s < 0.8) return randNumber(r);
    return pick(r, [true, false, null]);
  }
  if (k < 0.65) return Array.from({ length: Math.floor(r() * 4) }, () => randValue(r, depth + 1));
  const o: Record<string, unknown> = {};
  const n = Math.floor(r() * 5);
  for (let i = 0; i < n; i++) o[randString(r)] = randValue(r, depth + 1);
  return o;
}

/** JSON.stringify with random insignificant whitespace. */
function spaced(r: Rand, v: unknown): string {
  const ws = (): string => pick(r, ['', '', ' ', '\n', '\t ', '\r\n']);
  if (Array.isArray(v)) return `[${ws()}${v.map((x) => spaced(r, x)).join(`${ws()},${ws()}`)}${ws()}]`;
  if (v !== null && typeof v === 'object') {
    return `{${ws()}${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}${ws()}:${ws()}${spaced(r, x)}`).join(`${ws()},`)}${ws()}}`;
  }
  return JSON.stringify(v);
}

function hasLoneSurrogate(v: unknown): boolean {
  if (typeof v === 'string') return loneSurrogateAt(v) >= 0;
  if (Array.isArray(v)) return v.some(hasLoneSurrogate);
  if (v !== null && typeof v === 'object') return Object.entries(v).some(([k, x]) => loneSurrogateAt(k) >= 0 || hasLoneSurrogate(x));
  return false;
}

test('10k random documents: strict reader == JSON.parse, and both canonicalisers agree', { timeout: 60_000 }, () => {
  const r = prng(0x8785);
  for (let i = 0; i < 10_000; i++) {
    const v = randValue(r, 0);
    const text = spaced(r, v);
    const strict = parseStrictJson(r() < 0.5 ? text : Buffer.from(text));
    assert.deepEqual(strict, JSON.parse(text), text);
    assert.equal(jcs(strict), independent(strict), text);
  }
  console.log('agreed on 10000 documents');
});

const MUTATIONS = ['"', '\\', '\\ud800', '\\udc00', '\\u', ',', ':', '{', '}', '[', ']', '1e400', '-', '0', 'NaN', ' ', '\u0001', '\ud800', '9007199254740993', 'true', 'nul'];

function mutate(r: Rand, text: string): string {
  const pos = Math.floor(r() * (text.length + 1));
  const k = r();
  if (k < 0.4) return text.slice(0, pos) + pick(r, MUTATIONS) + text.slice(pos);
  if (k < 0.7) return text.slice(0, pos) + text.slice(pos + 1 + Math.floor(r() * 3));
  // Duplicate the first member of some object.
  const m = /\{("(?:[^"\\]|\\.)*":[^,{}[\]]*)[,}]/.exec(text.slice(pos));
  return m ? text.slice(0, pos + m.index + 1) + `${m[1]},` + text.slice(pos + m.index + 1) : text;
}

/** Some key occurs twice in the text (a necessary condition for a duplicate). */
function dupCandidates(text: string): boolean {
  const keys = [...text.matchAll(/"((?:[^"\\]|\\.)*)"\s*:/g)].map((m) => m[1]);
  return new Set(keys).size < keys.length || /\\u/.test(text);
}

test('20k mutated documents: agree with JSON.parse or refuse for a true reason', { timeout: 60_000 }, () => {
  const r = prng(0x7493);
  const refused = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const text = mutate(r, spaced(r, randValue(r, 0)));
    let lax: unknown;
    let laxOk = true;
    try {
      lax = JSON.parse(text);
    } catch {
      laxOk = false;
    }
    let strict: unknown;
    try {
      strict = parseStrictJson(text);
    } catch (e) {
      assert.ok(e instanceof StrictJsonError, `${text}: ${(e as Error).stack}`);
      refused.set(e.reason, (refused.get(e.reason) ?? 0) + 1);
      if (e.reason === 'syntax') assert.equal(laxOk, false, `strict says syntax error, JSON.parse accepts: ${JSON.stringify(text)}`);
      // The reader stops at the first problem: a duplicate may come before a syntax error.
      if (e.reason === 'lone-surrogate' && laxOk) assert.ok(hasLoneSurrogate(lax), text);
      if (e.reason === 'duplicate-key' && laxOk) assert.ok(dupCandidates(text), text);
      if (e.reason === 'number-range') assert.match(text, /[0-9]/);
      continue;
    }
    assert.ok(laxOk, `strict accepts what JSON.parse refuses: ${JSON.stringify(text)}`);
    assert.deepEqual(strict, lax, text);
    assert.equal(hasLoneSurrogate(strict), false);
    assert.equal(jcs(strict), independent(strict));
  }
  for (const k of ['syntax', 'duplicate-key', 'lone-surrogate', 'number-range']) assert.ok((refused.get(k) ?? 0) > 0, `no mutation hit ${k}`);
  console.log('refused', Object.fromEntries(refused));
});

test('random bytes and deep nesting: only StrictJsonError, never a RangeError', { timeout: 60_000 }, () => {
  const r = prng(0xbad);
  const alphabet = Buffer.from('{}[]":,\\u0123456789eE+-. tfnrula\xc3\xa9\xed\xa0\x80\xff');
  for (let i = 0; i < 10_000; i++) {
    const b = Buffer.alloc(Math.floor(r() * 40));
    for (let j = 0; j < b.length; j++) b[j] = r() < 0.8 ? alphabet[Math.floor(r() * alphabet.length)] : Math.floor(r() * 256);
    try {
      parseStrictJson(b);
    } catch (e) {
      assert.ok(e instanceof StrictJsonError, `${b.toString('hex')}: ${(e as Error).stack}`);
    }
  }
  for (const depth of [65, 1000, 100_000]) {
    for (const [open, close] of [['[', ']'], ['{"k":', '}']]) {
      const text = open.repeat(depth) + '0' + close.repeat(depth);
      assert.throws(() => parseStrictJson(text), (e: unknown) => e instanceof StrictJsonError && e.reason === 'depth');
    }
  }
  assert.deepEqual(parseStrictJson('['.repeat(64) + ']'.repeat(64), { maxDepth: 64 }), JSON.parse('['.repeat(64) + ']'.repeat(64)));
});

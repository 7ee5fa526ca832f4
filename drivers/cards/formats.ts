// Wiegand card formats: pure decode/encode with parity checks. Positions are 1-indexed,
// first-transmitted bit = 1, as format documents (HID, proxmark3 wiegand_formats.c) number
// them. A read is decoded against every format of its length; ambiguity (e.g. 37 bits:
// H10302 vs H10304 share length and parity layout) is reported, never resolved silently.
import { assertBitString, bitsToNumber, numberToBits, rawBytesToBits, WiegandInputError } from './raw-bits.js';

export type ParityType = 'even' | 'odd';
/** A single position, or an inclusive [from, to] range. */
export type BitSpan = number | [number, number];

export interface WiegandFieldDef {
  /** First bit, 1-indexed. */
  start: number;
  /** Number of bits, 1..53 (values stay exact JS numbers). */
  length: number;
}
export interface WiegandParityDef {
  /** Position of the parity bit. */
  bit: number;
  type: ParityType;
  /** Positions covered (the parity bit itself excluded). */
  over: BitSpan[];
}
/** A format as written in config: `fields` conventionally has `fc` (facility) and `cn` (card number). */
export interface WiegandFormatDef {
  name: string;
  bitCount: number;
  fields: Record<string, WiegandFieldDef>;
  /** Encoding computes parity bits in this order, so a parity may cover earlier-listed ones. */
  parity: WiegandParityDef[];
}

export interface WiegandFormat {
  readonly name: string;
  readonly bitCount: number;
  readonly fields: Readonly<Record<string, WiegandFieldDef>>;
  readonly parity: ReadonlyArray<{ bit: number; type: ParityType; positions: readonly number[] }>;
}

export interface ParityResult {
  bit: number;
  type: ParityType;
  ok: boolean;
}
export interface WiegandCandidate {
  format: string;
  fields: Record<string, number>;
  /** Facility code / company ID, when the format has an `fc` field. */
  fc?: number;
  /** Card number, when the format has a `cn` field. */
  cn?: number;
  parity: ParityResult[];
  parityOk: boolean;
}
export interface WiegandDecodeResult {
  /** The raw bits, always kept (evidence), first-transmitted first. */
  bits: string;
  bitCount: number;
  /** Formats of this length, parity-valid first. Empty for an unknown length. */
  candidates: WiegandCandidate[];
  /** More than one candidate has valid parity: the format cannot be told from the bits. */
  ambiguous: boolean;
}

export class WiegandFormatError extends Error {
  override readonly name = 'WiegandFormatError';
}

const MAX_BITS = 1024;

/** Validate a format definition and precompute parity positions. Errors name the path. */
export function defineWiegandFormat(def: WiegandFormatDef, path = 'format'): WiegandFormat {
  const bad = (p: string, msg: string): never => {
    throw new WiegandFormatError(`${path}${p}: ${msg}`);
  };
  if (typeof def.name !== 'string' || def.name.length === 0) bad('.name', 'must be a non-empty string');
  if (!Number.isInteger(def.bitCount) || def.bitCount < 1 || def.bitCount > MAX_BITS) bad('.bitCount', `must be 1..${MAX_BITS} (got ${def.bitCount})`);
  const inRange = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= def.bitCount;
  for (const [name, f] of Object.entries(def.fields)) {
    if (!inRange(f.start)) bad(`.fields.${name}.start`, `must be 1..${def.bitCount} (got ${f.start})`);
    if (!Number.isInteger(f.length) || f.length < 1 || f.length > 53) bad(`.fields.${name}.length`, `must be 1..53 (got ${f.length})`);
    if (f.start + f.length - 1 > def.bitCount) bad(`.fields.${name}`, `bits ${f.start}..${f.start + f.length - 1} run past bit ${def.bitCount}`);
  }
  const parity = def.parity.map((p, i) => {
    const pp = `.parity[${i}]`;
    if (!inRange(p.bit)) bad(`${pp}.bit`, `must be 1..${def.bitCount} (got ${p.bit})`);
    if (p.type !== 'even' && p.type !== 'odd') bad(`${pp}.type`, `must be "even" or "odd" (got ${String(p.type)})`);
    const positions = new Set<number>();
    p.over.forEach((span, j) => {
      const [from, to] = Array.isArray(span) ? span : [span, span];
      if (!inRange(from) || !inRange(to) || from > to) bad(`${pp}.over[${j}]`, `must lie within 1..${def.bitCount} in order (got ${JSON.stringify(span)})`);
      for (let b = from; b <= to; b++) positions.add(b);
    });
    if (positions.has(p.bit)) bad(`${pp}.over`, `covers its own parity bit ${p.bit}`);
    if (positions.size === 0) bad(`${pp}.over`, 'covers no bits');
    return { bit: p.bit, type: p.type, positions: [...positions].sort((a, b) => a - b) };
  });
  return { name: def.name, bitCount: def.bitCount, fields: { ...def.fields }, parity };
}

function positions(from: number, to: number, keep: (pos: number) => boolean): number[] {
  const out: number[] = [];
  for (let p = from; p <= to; p++) if (keep(p)) out.push(p);
  return out;
}

/** Built-in formats. Layouts cross-checked against test/vectors/wiegand.json. */
export const BUILTIN_FORMATS: readonly WiegandFormat[] = [
  defineWiegandFormat({
    name: 'H10301',
    bitCount: 26,
    fields: { fc: { start: 2, length: 8 }, cn: { start: 10, length: 16 } },
    parity: [
      { bit: 1, type: 'even', over: [[2, 13]] },
      { bit: 26, type: 'odd', over: [[14, 25]] },
    ],
  }),
  defineWiegandFormat({
    name: 'H10306',
    bitCount: 34,
    fields: { fc: { start: 2, length: 16 }, cn: { start: 18, length: 16 } },
    parity: [
      { bit: 1, type: 'even', over: [[2, 17]] },
      { bit: 34, type: 'odd', over: [[18, 33]] },
    ],
  }),
  defineWiegandFormat({
    name: 'C1k35s',
    bitCount: 35,
    fields: { fc: { start: 3, length: 12 }, cn: { start: 15, length: 20 } },
    parity: [
      { bit: 2, type: 'even', over: positions(3, 34, (p) => p % 3 !== 2) },
      { bit: 35, type: 'odd', over: positions(2, 33, (p) => p % 3 !== 1) },
      { bit: 1, type: 'odd', over: [[2, 35]] },
    ],
  }),
  defineWiegandFormat({
    name: 'H10302',
    bitCount: 37,
    fields: { cn: { start: 2, length: 35 } },
    parity: [
      { bit: 1, type: 'even', over: [[2, 19]] },
      { bit: 37, type: 'odd', over: [[19, 36]] },
    ],
  }),
  defineWiegandFormat({
    name: 'H10304',
    bitCount: 37,
    fields: { fc: { start: 2, length: 16 }, cn: { start: 18, length: 19 } },
    parity: [
      { bit: 1, type: 'even', over: [[2, 19]] },
      { bit: 37, type: 'odd', over: [[19, 36]] },
    ],
  }),
  defineWiegandFormat({
    name: 'C1k48s',
    bitCount: 48,
    fields: { fc: { start: 3, length: 22 }, cn: { start: 25, length: 23 } },
    parity: [
      { bit: 2, type: 'even', over: positions(3, 47, (p) => p % 3 !== 0) },
      { bit: 48, type: 'odd', over: positions(3, 46, (p) => p % 3 !== 2) },
      { bit: 1, type: 'odd', over: [[2, 48]] },
    ],
  }),
];

function parityBit(bits: string, type: ParityType, over: readonly number[]): '0' | '1' {
  let ones = 0;
  for (const p of over) if (bits[p - 1] === '1') ones++;
  // Even parity: total ones incl. the parity bit is even; odd: total is odd.
  const needOne = type === 'even' ? ones % 2 === 1 : ones % 2 === 0;
  return needOne ? '1' : '0';
}

/** Decode bits with one format (the length must match). */
export function decodeWithFormat(bits: string, format: WiegandFormat): WiegandCandidate {
  assertBitString(bits);
  if (bits.length !== format.bitCount) throw new WiegandInputError(`${format.name} needs ${format.bitCount} bits, got ${bits.length}`);
  const fields: Record<string, number> = {};
  for (const [name, f] of Object.entries(format.fields)) fields[name] = bitsToNumber(bits, f.start, f.length);
  const parity = format.parity.map((p) => ({ bit: p.bit, type: p.type, ok: bits[p.bit - 1] === parityBit(bits, p.type, p.positions) }));
  const c: WiegandCandidate = { format: format.name, fields, parity, parityOk: parity.every((p) => p.ok) };
  if (fields.fc !== undefined) c.fc = fields.fc;
  if (fields.cn !== undefined) c.cn = fields.cn;
  return c;
}

export interface DecodeOptions {
  /** Site formats (validated with defineWiegandFormat); tried before the built-ins. */
  formats?: readonly WiegandFormat[];
  /** Include BUILTIN_FORMATS (default true). */
  builtins?: boolean;
}

/**
 * Decode a read against every known format of its length. Input: a bit string, or the
 * bytes + bit count of an OSDP RAW reply. Throws WiegandInputError for malformed input only.
 */
export function decodeWiegand(input: string | { bytes: Uint8Array; bitCount: number }, opts: DecodeOptions = {}): WiegandDecodeResult {
  const bits = typeof input === 'string' ? input : rawBytesToBits(input.bytes, input.bitCount);
  assertBitString(bits);
  const formats = [...(opts.formats ?? []), ...(opts.builtins === false ? [] : BUILTIN_FORMATS)];
  const candidates = formats
    .filter((f) => f.bitCount === bits.length)
    .map((f) => decodeWithFormat(bits, f))
    .map((c, i) => ({ c, i }))
    .sort((a, b) => Number(b.c.parityOk) - Number(a.c.parityOk) || a.i - b.i)
    .map(({ c }) => c);
  return { bits, bitCount: bits.length, candidates, ambiguous: candidates.filter((c) => c.parityOk).length > 1 };
}

/** Look up a built-in (or given) format by name. */
export function findFormat(name: string, extra: readonly WiegandFormat[] = []): WiegandFormat | undefined {
  return [...extra, ...BUILTIN_FORMATS].find((f) => f.name === name);
}

/** Encode field values into a bit string with correct parity (test peers, demo simulator). */
export function encodeWiegand(format: string | WiegandFormat, values: Record<string, number>, extra: readonly WiegandFormat[] = []): string {
  const f = typeof format === 'string' ? findFormat(format, extra) : format;
  if (!f) throw new WiegandInputError(`unknown Wiegand format ${String(format)}`);
  const bits = new Array<string>(f.bitCount).fill('0');
  for (const [name, def] of Object.entries(f.fields)) {
    const v = values[name];
    if (v === undefined) throw new WiegandInputError(`${f.name}: missing field ${name}`);
    const s = numberToBits(v, def.length, `${f.name}.${name}`);
    for (let i = 0; i < def.length; i++) bits[def.start - 1 + i] = s[i];
  }
  for (const p of f.parity) bits[p.bit - 1] = parityBit(bits.join(''), p.type, p.positions);
  return bits.join('');
}

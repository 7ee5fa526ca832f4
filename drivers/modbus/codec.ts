// Pure value codec: Modbus registers (16-bit words, big-endian on the wire, spec §4.2)
// ↔ typed point values. No I/O; tested with byte vectors.
//
// Word/byte order names follow the common convention where A is the most significant
// byte of the value: ABCD = big-endian words in order (the Modbus default), CDAB = words
// swapped ("little-endian word order", common for float32), BADC = bytes swapped inside
// each word, DCBA = fully little-endian. For 64-bit values the same rule extends to four
// words: CDAB/DCBA reverse the word order, BADC/DCBA swap the bytes inside each word.
import type { DataType, WordOrder } from './config.js';

export type PointValue = number | boolean | string;

/** Registers a value of this type occupies (0 for bit-table booleans). */
export function registerWidth(type: DataType, count = 1): number {
  switch (type) {
    case 'bool':
    case 'int16':
    case 'uint16':
      return 1;
    case 'int32':
    case 'uint32':
    case 'float32':
      return 2;
    case 'int64':
    case 'uint64':
    case 'float64':
      return 4;
    case 'string':
      return count;
  }
}

/** Big-endian value bytes (A first) from registers as read, undoing the device's order. */
export function orderedBytes(regs: ArrayLike<number>, order: WordOrder): Buffer {
  const n = regs.length;
  const out = Buffer.allocUnsafe(n * 2);
  const reverseWords = order === 'CDAB' || order === 'DCBA';
  const swapBytes = order === 'BADC' || order === 'DCBA';
  for (let i = 0; i < n; i++) {
    const w = regs[reverseWords ? n - 1 - i : i] & 0xffff;
    out[2 * i] = swapBytes ? w & 0xff : w >> 8;
    out[2 * i + 1] = swapBytes ? w >> 8 : w & 0xff;
  }
  return out;
}

/** Inverse of orderedBytes: the registers to write so the device reads `bytes` (A first). */
export function registersFromBytes(bytes: Buffer, order: WordOrder): number[] {
  const n = bytes.length / 2;
  const reverseWords = order === 'CDAB' || order === 'DCBA';
  const swapBytes = order === 'BADC' || order === 'DCBA';
  const regs = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const hi = bytes[2 * i];
    const lo = bytes[2 * i + 1];
    regs[reverseWords ? n - 1 - i : i] = swapBytes ? (lo << 8) | hi : (hi << 8) | lo;
  }
  return regs;
}

/** Why a float register holds no number: reported as an explicit invalid reading. */
export type InvalidKind = 'nan' | '+inf' | '-inf';

export type DecodeResult = { ok: true; value: PointValue } | { ok: false; reason: string; invalid?: InvalidKind };

/**
 * Decode the raw value of a register point. 16-bit types honour only the byte swap of the
 * order (BADC/DCBA). int64/uint64 outside ±2^53 come back as decimal strings: event data
 * must hold safe integers (docs/contracts.md §Event).
 */
export function decodeRegisters(regs: ArrayLike<number>, type: DataType, order: WordOrder, bit?: number): DecodeResult {
  if (regs.length < registerWidth(type, regs.length)) return { ok: false, reason: `need ${registerWidth(type)} registers, got ${regs.length}` };
  const b = orderedBytes(type === 'string' ? regs : Array.prototype.slice.call(regs, 0, registerWidth(type)), order);
  switch (type) {
    case 'bool':
      return { ok: true, value: bit === undefined ? b.readUInt16BE(0) !== 0 : ((b.readUInt16BE(0) >> bit) & 1) === 1 };
    case 'int16':
      return { ok: true, value: b.readInt16BE(0) };
    case 'uint16':
      return { ok: true, value: b.readUInt16BE(0) };
    case 'int32':
      return { ok: true, value: b.readInt32BE(0) };
    case 'uint32':
      return { ok: true, value: b.readUInt32BE(0) };
    case 'float32':
      return finite(b.readFloatBE(0));
    case 'float64':
      return finite(b.readDoubleBE(0));
    case 'int64':
      return { ok: true, value: bigToValue(b.readBigInt64BE(0)) };
    case 'uint64':
      return { ok: true, value: bigToValue(b.readBigUInt64BE(0)) };
    case 'string': {
      // Devices pad with NUL or spaces; only printable ASCII is kept, so a garbage register never yields control characters in events.
      let s = '';
      for (const c of b) {
        if (c === 0) break;
        s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '?';
      }
      return { ok: true, value: s.trimEnd() };
    }
  }
}

/** Every finite double is a valid reading (1e20, FLT_MAX included); NaN and ±Infinity are named. */
function finite(v: number): DecodeResult {
  if (Number.isFinite(v)) return { ok: true, value: v };
  const invalid: InvalidKind = Number.isNaN(v) ? 'nan' : v > 0 ? '+inf' : '-inf';
  return { ok: false, reason: `not a finite number (${v})`, invalid };
}

function bigToValue(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

export interface Scaling {
  scale: number;
  offset: number;
  decimals?: number;
}

/**
 * Engineering value from a decoded raw value. Booleans and strings pass through; an
 * unscaled int64 string stays a string (exact); a scaled one becomes an approximate
 * number. Results are rounded to their shortest exact decimal form so 215 × 0.1 reports
 * 21.5, not 21.500000000000004, and a float32 21.3 reports 21.3, not 21.299999237060547.
 */
export function applyScaling(raw: PointValue, type: DataType, s: Scaling): PointValue {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string' && (type === 'string' || (s.scale === 1 && s.offset === 0 && s.decimals === undefined))) return raw;
  let v = typeof raw === 'string' ? Number(raw) : raw;
  const scaled = s.scale !== 1 || s.offset !== 0;
  if (type === 'float32' && !scaled) v = shortestFloat32(v);
  if (scaled) v = roundScaled(v * s.scale, s.offset);
  if (s.decimals !== undefined) v = Number(v.toFixed(s.decimals));
  return Object.is(v, -0) ? 0 : v;
}

/**
 * raw × scale + offset, rounded to 15 significant digits of the larger operand: the error
 * of the float arithmetic is relative to the operands, not to a result that cancels them
 * (2731 × 0.1 − 273.15 must read −0.05, not −0.0499999999999545).
 */
function roundScaled(product: number, offset: number): number {
  const r = product + offset;
  const mag = Math.max(Math.abs(product), Math.abs(offset), Math.abs(r));
  if (mag === 0 || !Number.isFinite(r)) return r;
  const d = Math.min(100, Math.max(0, 14 - Math.floor(Math.log10(mag))));
  return Number(r.toFixed(d));
}

/** Shortest decimal that reads back as the same float32 (at most 9 significant digits). */
export function shortestFloat32(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  for (let p = 1; p < 9; p++) {
    const c = Number(v.toPrecision(p));
    if (Math.fround(c) === v) return c;
  }
  return Number(v.toPrecision(9));
}

/**
 * Registers to write for a value (inverse of decode + scaling). Throws a message naming the
 * problem when the value does not fit the type.
 */
export function encodeRegisters(value: number | boolean, type: DataType, order: WordOrder, s: Scaling): number[] {
  if (type === 'string') throw new Error('string points are read-only');
  if (type === 'bool') return [value === true || value === 1 ? 1 : 0];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`expected a finite number (got ${String(value)})`);
  const raw = (value - s.offset) / s.scale;
  const b = Buffer.alloc(registerWidth(type) * 2);
  const int = (lo: number, hi: number): number => {
    const r = Math.round(raw);
    if (r < lo || r > hi) throw new Error(`${value} is out of range for ${type} with scale ${s.scale}, offset ${s.offset}`);
    return r;
  };
  switch (type) {
    case 'int16':
      b.writeInt16BE(int(-0x8000, 0x7fff));
      break;
    case 'uint16':
      b.writeUInt16BE(int(0, 0xffff));
      break;
    case 'int32':
      b.writeInt32BE(int(-0x80000000, 0x7fffffff));
      break;
    case 'uint32':
      b.writeUInt32BE(int(0, 0xffffffff));
      break;
    case 'int64':
      b.writeBigInt64BE(BigInt(int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)));
      break;
    case 'uint64':
      b.writeBigUInt64BE(BigInt(int(0, Number.MAX_SAFE_INTEGER)));
      break;
    case 'float32':
      b.writeFloatBE(raw);
      break;
    case 'float64':
      b.writeDoubleBE(raw);
      break;
  }
  return registersFromBytes(b, order);
}

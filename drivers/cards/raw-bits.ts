// Bit-string helpers shared by the Wiegand decoder, the OSDP RAW reply (OSDP v2.2 §7 osdp_RAW:
// card data MSB-first, left-justified, zero-padded to a whole byte) and converter lines.
// A "bit string" is '0'/'1' characters, first-transmitted bit first.

export class WiegandInputError extends Error {
  override readonly name = 'WiegandInputError';
}

const BITS_RE = /^[01]+$/;

export function assertBitString(bits: string): void {
  if (!BITS_RE.test(bits)) throw new WiegandInputError(`not a bit string of 0/1 characters: ${JSON.stringify(bits.slice(0, 80))}`);
}

/** OSDP RAW data → bit string of exactly `bitCount` bits. */
export function rawBytesToBits(bytes: Uint8Array, bitCount: number): string {
  if (!Number.isInteger(bitCount) || bitCount < 1) throw new WiegandInputError(`bit count must be a positive integer (got ${bitCount})`);
  if (bytes.length < Math.ceil(bitCount / 8)) {
    throw new WiegandInputError(`${bitCount} bits need ${Math.ceil(bitCount / 8)} byte(s), got ${bytes.length}`);
  }
  let s = '';
  for (let i = 0; i < bitCount; i++) s += (bytes[i >> 3] >> (7 - (i & 7))) & 1 ? '1' : '0';
  return s;
}

/** Bit string → OSDP RAW data bytes (left-justified, zero-padded) and the bit count. */
export function bitsToRawBytes(bits: string): { bytes: Buffer; bitCount: number } {
  assertBitString(bits);
  const bytes = Buffer.alloc(Math.ceil(bits.length / 8));
  for (let i = 0; i < bits.length; i++) if (bits[i] === '1') bytes[i >> 3] |= 0x80 >> (i & 7);
  return { bytes, bitCount: bits.length };
}

/** Bits [start, start+length) of a 1-indexed position range as an unsigned number (≤ 53 bits). */
export function bitsToNumber(bits: string, start: number, length: number): number {
  let v = 0;
  for (let i = start - 1; i < start - 1 + length; i++) v = v * 2 + (bits[i] === '1' ? 1 : 0);
  return v;
}

/** Unsigned number → `length` bits, MSB first. Throws if it does not fit. */
export function numberToBits(value: number, length: number, field: string): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new WiegandInputError(`${field} must be a non-negative safe integer (got ${value})`);
  if (value >= 2 ** length) throw new WiegandInputError(`${field} ${value} does not fit in ${length} bits (max ${2 ** length - 1})`);
  let s = '';
  let v = value;
  for (let i = 0; i < length; i++) {
    s = (v % 2 ? '1' : '0') + s;
    v = Math.floor(v / 2);
  }
  return s;
}

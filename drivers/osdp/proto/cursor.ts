// Bounds-checked little-endian reader over a command/reply payload. Every failure is an
// OsdpParseError naming the field and its byte offset, so a bad reply can be reported
// precisely (errors that name the path, docs/contracts.md §Practices).
import { OsdpParseError } from '../errors.js';

export class Cursor {
  private pos = 0;
  constructor(
    private readonly data: Buffer,
    private readonly code: number,
  ) {}

  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.data.length - this.pos;
  }

  fail(field: string, message: string, offset = this.pos): never {
    throw new OsdpParseError(this.code, field, offset, message);
  }

  private need(n: number, field: string): void {
    if (this.remaining < n) this.fail(field, `needs ${n} byte(s), only ${this.remaining} left (payload is ${this.data.length} bytes)`);
  }

  u8(field: string): number {
    this.need(1, field);
    return this.data[this.pos++];
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.data.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u24(field: string): number {
    this.need(3, field);
    const v = this.data.readUIntLE(this.pos, 3);
    this.pos += 3;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.data.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  bytes(n: number, field: string): Buffer {
    this.need(n, field);
    const v = Buffer.from(this.data.subarray(this.pos, this.pos + n));
    this.pos += n;
    return v;
  }
  rest(): Buffer {
    return this.bytes(this.remaining, 'rest');
  }
  /** The payload must be fully consumed. */
  end(): void {
    if (this.remaining !== 0) this.fail('end', `${this.remaining} unexpected trailing byte(s)`);
  }
  /** The remaining bytes must form whole records of `size` bytes. */
  records(size: number, field: string): number {
    if (this.remaining % size !== 0) {
      this.fail(field, `${this.remaining} bytes is not a whole number of ${size}-byte records`, this.pos + this.remaining - (this.remaining % size));
    }
    return this.remaining / size;
  }
}

/**
 * Little-endian byte writer for building payloads. Out-of-range values are caller bugs
 * (or config that escaped validation): they throw RangeError naming the field.
 */
export class Writer {
  private readonly parts: number[] = [];
  private put(v: number, bytes: number, field: string): this {
    const max = 2 ** (8 * bytes) - 1;
    if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${field} must be an integer 0..${max} (got ${v})`);
    for (let i = 0; i < bytes; i++) this.parts.push(Math.floor(v / 2 ** (8 * i)) & 0xff);
    return this;
  }
  u8(v: number, field: string): this {
    return this.put(v, 1, field);
  }
  u16(v: number, field: string): this {
    return this.put(v, 2, field);
  }
  u24(v: number, field: string): this {
    return this.put(v, 3, field);
  }
  u32(v: number, field: string): this {
    return this.put(v, 4, field);
  }
  bytes(b: Uint8Array, field: string, exact?: number): this {
    if (exact !== undefined && b.length !== exact) throw new RangeError(`${field} must be ${exact} bytes (got ${b.length})`);
    for (const x of b) this.parts.push(x);
    return this;
  }
  build(): Buffer {
    return Buffer.from(this.parts);
  }
}

// Strict JSON reading: I-JSON (RFC 7493), the subset RFC 8785 canonicalises. JSON.parse
// is looser than a verifier in another language: it keeps the last of duplicate keys,
// accepts lone surrogates (raw or as \uD800 escapes), reads 1e400 as Infinity and
// 9007199254740993 as a different integer, and recurses without bound. This parser
// refuses all of that with an error naming the offset and the JSON path, so a signed body
// reads the same here as in any conforming platform. docs/verification.md describes the rules.
import type { JsonValue } from '../events/types.js';

/** Deepest nesting accepted by default (objects and arrays; the top level is depth 1). */
export const DEFAULT_MAX_DEPTH = 64;

export class StrictJsonError extends Error {
  constructor(
    readonly reason: 'syntax' | 'duplicate-key' | 'lone-surrogate' | 'number-range' | 'depth' | 'utf8',
    message: string,
    /** Offset in UTF-16 code units of the decoded text (0 for invalid UTF-8). */
    readonly offset: number,
    /** JSON Pointer of the value being read. */
    readonly path: string,
  ) {
    super(message);
    this.name = 'StrictJsonError';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Clip a hostile string for an error message (never echo 100 kB back). */
function clip(s: string): string {
  const c = s.length > 40 ? `${s.slice(0, 40)}…` : s;
  return JSON.stringify(c);
}

function pointer(path: string[]): string {
  const seg = (p: string): string => (p.length > 40 ? `${p.slice(0, p.charCodeAt(39) >= 0xd800 && p.charCodeAt(39) <= 0xdbff ? 39 : 40)}…` : p);
  const shown = path.length > 12 ? [...path.slice(0, 6), '…', ...path.slice(-5)] : path;
  return path.length === 0 ? '' : `/${shown.map((p) => seg(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
}

/** First index of a lone surrogate in s, or -1. */
export function loneSurrogateAt(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && i + 1 < s.length) {
      const n = s.charCodeAt(i + 1);
      if (n >= 0xdc00 && n <= 0xdfff) {
        i++;
        continue;
      }
    }
    return i;
  }
  return -1;
}

/** Parse I-JSON text (or UTF-8 bytes). Throws StrictJsonError naming what and where. */
export function parseStrictJson(input: string | Uint8Array, o: { maxDepth?: number } = {}): JsonValue {
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = utf8.decode(input);
    } catch {
      throw new StrictJsonError('utf8', 'not valid UTF-8', 0, '');
    }
  }
  return new Reader(text, o.maxDepth ?? DEFAULT_MAX_DEPTH).document();
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const ESC: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

class Reader {
  private i = 0;
  private readonly path: string[] = [];

  constructor(
    private readonly s: string,
    private readonly maxDepth: number,
  ) {}

  document(): JsonValue {
    if (this.s.charCodeAt(0) === 0xfeff) this.fail('syntax', 'byte order mark is not allowed (RFC 8259 §8.1)');
    this.ws();
    const v = this.value(1);
    this.ws();
    if (this.i < this.s.length) this.fail('syntax', `unexpected ${clip(this.s[this.i])} after the JSON value`);
    return v;
  }

  private fail(reason: StrictJsonError['reason'], what: string, at = this.i): never {
    const p = pointer(this.path);
    throw new StrictJsonError(reason, `${what} at offset ${at}${p ? ` (${p})` : ''}`, at, p);
  }

  private ws(): void {
    while (this.i < this.s.length && WS.has(this.s.charCodeAt(this.i))) this.i++;
  }

  private value(depth: number): JsonValue {
    const c = this.s[this.i];
    switch (c) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        if (c === '-' || (c >= '0' && c <= '9')) return this.number();
        return this.fail('syntax', c === undefined ? 'unexpected end of input' : `unexpected ${clip(c)}`);
    }
  }

  private literal<T extends JsonValue>(word: string, v: T): T {
    if (!this.s.startsWith(word, this.i)) this.fail('syntax', `unexpected ${clip(this.s.slice(this.i, this.i + word.length))}`);
    this.i += word.length;
    return v;
  }

  private number(): number {
    const start = this.i;
    NUMBER_RE.lastIndex = start;
    const m = NUMBER_RE.exec(this.s);
    if (!m) return this.fail('syntax', 'malformed number');
    const t = m[0];
    this.i = start + t.length;
    const v = Number(t);
    if (!Number.isFinite(v)) this.fail('number-range', `number ${clip(t)} is outside the IEEE 754 double range`, start);
    if (v === 0 && /[1-9]/.test(t.replace(/[eE].*$/, ''))) this.fail('number-range', `number ${clip(t)} underflows to 0 as an IEEE 754 double`, start);
    // An integer literal beyond 2^53 must be either exact (2^60) or the ECMAScript form a
    // JCS signer writes for that double (123456789012345680000); 9007199254740993 is neither:
    // a double reader and an integer reader would see two different numbers.
    if (!/[.eE]/.test(t) && !Number.isSafeInteger(v) && String(v) !== t && BigInt(t) !== BigInt(v)) {
      this.fail('number-range', `integer ${clip(t)} is not exactly an IEEE 754 double (it reads as ${v})`, start);
    }
    return v;
  }

  private string(): string {
    const start = this.i;
    this.i++; // opening quote
    let out = '';
    let chunk = this.i;
    for (;;) {
      if (this.i >= this.s.length) this.fail('syntax', 'unterminated string', start);
      const c = this.s.charCodeAt(this.i);
      if (c === 0x22) break;
      if (c < 0x20) this.fail('syntax', `control character U+${c.toString(16).padStart(4, '0')} must be escaped in a string`);
      if (c !== 0x5c) {
        this.i++;
        continue;
      }
      out += this.s.slice(chunk, this.i);
      const e = this.s[this.i + 1];
      if (e === 'u') {
        const hex = this.s.slice(this.i + 2, this.i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('syntax', `bad \\u escape ${clip(this.s.slice(this.i, this.i + 6))}`);
        out += String.fromCharCode(parseInt(hex, 16));
        this.i += 6;
      } else if (e !== undefined && e in ESC) {
        out += ESC[e];
        this.i += 2;
      } else this.fail('syntax', `bad escape ${clip(`\\${e ?? ''}`)}`);
      chunk = this.i;
    }
    out += this.s.slice(chunk, this.i);
    this.i++; // closing quote
    const lone = loneSurrogateAt(out);
    if (lone >= 0) this.fail('lone-surrogate', `string holds a lone surrogate U+${out.charCodeAt(lone).toString(16).toUpperCase()} (not well-formed Unicode; RFC 8785 cannot canonicalise it)`, start);
    return out;
  }

  private enter(depth: number): void {
    if (depth > this.maxDepth) this.fail('depth', `nesting deeper than ${this.maxDepth} levels`);
  }

  private array(depth: number): JsonValue[] {
    this.enter(depth);
    this.i++;
    const out: JsonValue[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      this.path.push(String(out.length));
      this.ws();
      out.push(this.value(depth + 1));
      this.path.pop();
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') this.fail('syntax', c === undefined ? 'unterminated array' : `expected , or ] but found ${clip(c)}`, this.i - 1);
    }
  }

  private object(depth: number): { [k: string]: JsonValue } {
    this.enter(depth);
    this.i++;
    const out: { [k: string]: JsonValue } = {};
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('syntax', this.i >= this.s.length ? 'unterminated object' : `expected a string key but found ${clip(this.s[this.i])}`);
      const at = this.i;
      const key = this.string();
      if (Object.hasOwn(out, key)) {
        this.path.push(key);
        this.fail('duplicate-key', `duplicate key ${clip(key)} (a first-wins reader would see another value)`, at);
      }
      this.ws();
      if (this.s[this.i] !== ':') this.fail('syntax', `expected : after key ${clip(key)}`);
      this.i++;
      this.ws();
      this.path.push(key);
      const v = this.value(depth + 1);
      this.path.pop();
      // defineProperty: a "__proto__" key must stay an own data property, as JSON.parse makes it.
      if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      else out[key] = v;
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return out;
      if (c !== ',') this.fail('syntax', c === undefined ? 'unterminated object' : `expected , or } but found ${clip(c)}`, this.i - 1);
    }
  }
}

// Line formats of Wiegand-to-serial converter boards: one line per card read. Built-ins:
//   bits     "10110…"                      the Wiegand bits, first-transmitted first
//   hex      "26:02F6A1C" / "26 0x2F6A1C"  bit count, then the bits as a right-justified hex value
//   decimal  "123,4567" / "123/4567" / "123;4567"  facility and card number, already decoded by the board
// plus `regex`: a configured pattern with named groups (bits) | (count + hex) | (fc + cn).
// Pure: no I/O. Unparseable lines return undefined (the driver counts them).

export type LineFormat = 'auto' | 'bits' | 'hex' | 'decimal' | 'regex';

export type ParsedLine = { kind: 'bits'; bits: string } | { kind: 'decoded'; fc: number; cn: number };

const BITS = /^(?<bits>[01]{4,256})$/;
const HEX = /^(?<count>\d{1,3})(?:\s*:\s*|\s+)(?:0x)?(?<hex>[0-9a-fA-F]{1,64})$/;
const DEC = /^(?<fc>\d{1,10})\s*[,/;]\s*(?<cn>\d{1,15})$/;

/** Right-justified hex value → exactly `count` bits (throws nothing; undefined if it does not fit). */
export function hexToBits(hex: string, count: number): string | undefined {
  if (count < 1 || count > 256) return undefined;
  const bin = BigInt(`0x${hex}`).toString(2);
  if (bin.length > count) return undefined;
  return bin.padStart(count, '0');
}

function fromGroups(g: Record<string, string | undefined>): ParsedLine | undefined {
  if (g.bits !== undefined) return /^[01]+$/.test(g.bits) ? { kind: 'bits', bits: g.bits } : undefined;
  if (g.hex !== undefined && g.count !== undefined) {
    const bits = hexToBits(g.hex, Number(g.count));
    return bits ? { kind: 'bits', bits } : undefined;
  }
  if (g.fc !== undefined && g.cn !== undefined) {
    const fc = Number(g.fc);
    const cn = Number(g.cn);
    return Number.isSafeInteger(fc) && Number.isSafeInteger(cn) ? { kind: 'decoded', fc, cn } : undefined;
  }
  return undefined;
}

/** Parse one line (without its terminator). `pattern` is required for 'regex'. */
export function parseLine(line: string, format: LineFormat, pattern?: RegExp): ParsedLine | undefined {
  const s = line.trim();
  if (!s) return undefined;
  const tries: RegExp[] = format === 'auto' ? [BITS, HEX, DEC] : format === 'bits' ? [BITS] : format === 'hex' ? [HEX] : format === 'decimal' ? [DEC] : pattern ? [pattern] : [];
  for (const re of tries) {
    const m = re.exec(s);
    if (m?.groups) {
      const p = fromGroups(m.groups);
      if (p) return p;
    }
  }
  return undefined;
}

/** Compile and check a configured pattern: it must have (bits) or (count and hex) or (fc and cn). */
export function compilePattern(src: string): RegExp {
  const re = new RegExp(src);
  const names = new Set(Object.keys(new RegExp(`${src}|`).exec('')?.groups ?? {}));
  const ok = names.has('bits') || (names.has('count') && names.has('hex')) || (names.has('fc') && names.has('cn'));
  if (!ok) throw new Error('pattern needs named groups (?<bits>…), or (?<count>…) and (?<hex>…), or (?<fc>…) and (?<cn>…)');
  return re;
}

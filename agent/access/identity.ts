// Card identities: the strings that are HMAC'd (./card-key.ts) and stored, and the same
// strings derived from an `access.card.read` event, so a lookup is a few HMACs and
// indexed SELECTs whatever the list size. A credential names its card by format +
// facility + number (format optional: then any format with that facility and number
// matches) or by its raw Wiegand bits.
import type { JsonObject, JsonValue } from '../events/types.js';

export interface CardSpec {
  format?: string;
  facility?: number | null;
  number?: number;
  bits?: string;
}

const fcPart = (fc: number | null | undefined): string => (fc === null || fc === undefined ? '-' : String(fc));

/** The one identity string a credential's card is stored under. */
export function credentialIdentity(c: CardSpec): string {
  if (c.bits !== undefined) return `bits:${c.bits}`;
  return `card:${c.format ?? '*'}:${fcPart(c.facility)}:${c.number}`;
}

function num(v: JsonValue | undefined): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : null;
}

/**
 * Every identity a read may match, most specific first: the decoded format with facility and
 * number, the same without format, each parity-valid alternative of an ambiguous length,
 * and the raw bits. A decode with bad parity is not trusted for a number (bits only).
 */
export function readIdentities(data: JsonObject): string[] {
  const out: string[] = [];
  const add = (format: JsonValue | undefined, fc: JsonValue | undefined, cn: JsonValue | undefined): void => {
    const n = num(cn);
    if (n === null) return;
    const f = num(fc);
    if (typeof format === 'string' && format !== 'unknown') out.push(`card:${format}:${fcPart(f)}:${n}`);
    out.push(`card:*:${fcPart(f)}:${n}`);
  };
  if (data.parityOk !== false) add(data.format, data.facility, data.cardNumber);
  const alts = data.alternatives;
  if (Array.isArray(alts)) {
    for (const a of alts) if (a && typeof a === 'object' && !Array.isArray(a)) add(a.format, a.facility, a.cardNumber);
  }
  if (typeof data.bits === 'string' && /^[01]{1,1024}$/.test(data.bits)) out.push(`bits:${data.bits}`);
  return [...new Set(out)];
}

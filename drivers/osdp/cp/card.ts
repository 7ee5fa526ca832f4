// Reader data → event data: osdp_RAW / osdp_FMT card reads and osdp_KEYPAD (OSDP v2.2
// §7.12–7.14). Raw bits are always kept (evidence); the decode names every parity-valid
// format when the length is ambiguous and never guesses an unknown length.
// KEYPAD digits are secrets: only what the PIN policy allows leaves this file, and the
// digits are never logged.
import { createHmac } from 'node:crypto';
import type { JsonObject } from '../../../agent/events/types.js';
import { decodeWiegand, type WiegandFormat } from '../../cards/formats.js';
import { keypadText } from '../proto/replies.js';

export type PinPolicy = 'hash' | 'length' | 'none';

/** Data of access.card.read for an osdp_RAW reply. */
export function rawCardData(raw: { bitCount: number; data: Buffer; format: number }, formats: readonly WiegandFormat[]): JsonObject {
  const d = decodeWiegand({ bytes: raw.data, bitCount: raw.bitCount }, { formats });
  const best = d.candidates[0];
  const out: JsonObject = {
    format: best ? best.format : 'unknown',
    bitCount: raw.bitCount,
    rawHex: raw.data.toString('hex'),
    bits: d.bits,
    parityOk: best ? best.parityOk : null,
    facility: best?.fc ?? null,
    cardNumber: best?.cn ?? null,
    osdpFormat: raw.format === 1 ? 'wiegand' : 'raw',
  };
  if (d.ambiguous) {
    out.ambiguous = true;
    out.alternatives = d.candidates.filter((c) => c.parityOk).map((c) => ({ format: c.format, facility: c.fc ?? null, cardNumber: c.cn ?? null }));
  }
  return out;
}

/** Data of access.card.read for an osdp_FMT reply (card number already formatted by the reader). */
export function fmtCardData(fmt: { text: string; direction: number }): JsonObject {
  const numeric = /^\d{1,15}$/.test(fmt.text);
  return { format: 'osdp-fmt', text: fmt.text, cardNumber: numeric ? Number(fmt.text) : null, facility: null, bitCount: null, parityOk: null, direction: fmt.direction };
}

/**
 * Data of access.keypad under the configured PIN policy. `hash` needs the gateway's PIN key
 * (./pin-key.ts): `hmac` = HMAC-SHA256(key, digits), comparable across this gateway's
 * readers, not reversible without the key.
 */
export function keypadData(keys: Buffer, policy: PinPolicy, pinKey?: Buffer): JsonObject {
  const data: JsonObject = { policy };
  if (policy === 'none') return data;
  data.length = keys.length;
  if (policy === 'hash') {
    if (!pinKey) throw new Error('pinPolicy hash needs the gateway PIN key');
    data.hmac = createHmac('sha256', pinKey).update(keypadText(keys)).digest('base64url');
  }
  return data;
}

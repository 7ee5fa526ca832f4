// A signed head message (the retained `head` topic, agent/forward/signed-head.ts) read as
// the expected head of a verification: its signature must verify with a trusted key
// (given, or learned through a validly signed key rotation) before it attests anything.
import { verify as edVerify, type KeyObject } from 'node:crypto';
import { jcs } from '../chain/jcs.js';
import { parseStrictJson } from '../chain/strict-json.js';
import type { ExpectedHead } from './types.js';

export type SignedHeadCheck =
  | { ok: true; head: ExpectedHead & { hash: string }; site: string; gw: string; kid: string; ts: string }
  | { ok: false; detail: string };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks shape and signature of a head message (JSON text or parsed) against `keys` (by kid). */
export function checkSignedHead(msg: string | object, keys: ReadonlyMap<string, KeyObject>): SignedHeadCheck {
  let v: unknown = msg;
  if (typeof msg === 'string') {
    try {
      v = parseStrictJson(msg.trim());
    } catch (e) {
      return { ok: false, detail: `head message is not I-JSON (${(e as Error).message})` };
    }
  }
  if (!isObj(v) || !isObj(v.body) || typeof v.sig !== 'string') return { ok: false, detail: 'head message: expected {"body": {...}, "sig": "..."}' };
  const b = v.body;
  for (const k of ['site', 'gw', 'epoch', 'hash', 'ts', 'kid'] as const) {
    if (typeof b[k] !== 'string') return { ok: false, detail: `head message: body.${k} must be a string` };
  }
  if (b.type !== 'head') return { ok: false, detail: `head message: body.type must be "head" (got ${JSON.stringify(b.type)})` };
  if (typeof b.seq !== 'number' || !Number.isSafeInteger(b.seq) || b.seq < 1) return { ok: false, detail: 'head message: body.seq must be an integer ≥ 1' };
  const kid = b.kid as string;
  const key = keys.get(kid);
  if (!key) return { ok: false, detail: `head message signed by kid ${kid}, which is none of the trusted keys` };
  let good = false;
  try {
    good = edVerify(null, Buffer.from(jcs(b)), key, Buffer.from(v.sig, 'base64url'));
  } catch {
    good = false;
  }
  if (!good) return { ok: false, detail: `head message signature does not verify with the key of kid ${kid}` };
  return { ok: true, head: { epoch: b.epoch as string, seq: b.seq, hash: b.hash as string }, site: b.site as string, gw: b.gw as string, kid, ts: b.ts as string };
}

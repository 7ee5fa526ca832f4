// The signed committed head (docs/mqtt-api.yaml `head`, docs/architecture.md "Signed
// head"): `{body: {type: "head", site, gw, epoch, seq, hash, ts, kid}, sig}`, Ed25519 over
// JCS(body) with the gateway key. Retained, so a consumer that connects later still
// learns how far the chain reached and can prove a truncated tail (agent/verify/head.ts).
// Built from the spool's COMMITTED head only: a seq sealed but not committed may be
// re-issued with another body after a crash, so it must never be attested.
import { sign, type KeyObject } from 'node:crypto';
import type { ChainHead } from '../chain/chain.js';
import { jcs } from '../chain/jcs.js';

export interface SignedHeadBody {
  type: 'head';
  site: string;
  gw: string;
  epoch: string;
  seq: number;
  hash: string;
  ts: string;
  kid: string;
}

/** The `head` payload for a committed head, or null when nothing is committed yet. */
export function signedHeadPayload(o: { site: string; gw: string; head: ChainHead | null; kid: string; privateKey: KeyObject; now: number }): string | null {
  const h = o.head;
  if (!h || h.epoch === '' || h.seq < 1) return null;
  const body: SignedHeadBody = { type: 'head', site: o.site, gw: o.gw, epoch: h.epoch, seq: h.seq, hash: h.hash, ts: new Date(o.now).toISOString(), kid: o.kid };
  const sig = sign(null, Buffer.from(jcs(body)), o.privateKey).toString('base64url');
  return JSON.stringify({ body, sig });
}

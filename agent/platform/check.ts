// Per-message checks at arrival, with the verifier library's envelope reader and key
// handling (agent/verify): an event is stored only when it is a contract envelope, names
// the gateway its topic names, and its signature verifies with a key the platform holds
// for that gateway. Chain checks (prev links, checkpoints, epoch links, declared drops)
// run afterwards on contiguous runs of the store, by the library itself (chains.ts).
import { verify as edVerify, type KeyObject } from 'node:crypto';
import { hashJcs, jcs } from '../chain/jcs.js';
import { readEnvelope } from '../verify/envelope.js';
import { checkSignedHead } from '../verify/head.js';
import type { SignedEvent } from '../events/types.js';
import type { HeadRow, StoredEvent } from './store.js';

export type Arrival =
  | { ok: true; event: StoredEvent; signed: SignedEvent }
  /** No key for body.kid yet (a rotation not yet verified, or a gateway not enrolled): kept aside and retried. */
  | { ok: false; why: 'unknown-kid'; site: string; gw: string; kid: string; detail: string }
  | { ok: false; why: 'bad-envelope' | 'bad-signature' | 'wrong-topic'; detail: string };

/** Checks one received `evt/…` payload. `keys` are the gateway's keys by kid. */
export function checkArrival(payload: string, topicSite: string, topicGw: string, keysOf: (site: string, gw: string) => Map<string, KeyObject>, hist: boolean): Arrival {
  const env = readEnvelope(payload);
  if (!env.ok) return { ok: false, why: 'bad-envelope', detail: env.detail };
  const { body, sig } = env.event;
  if (body.site !== topicSite || body.gw !== topicGw) {
    return { ok: false, why: 'wrong-topic', detail: `seq ${body.seq}: body names ${body.site}/${body.gw} but arrived on ${topicSite}/${topicGw}` };
  }
  let canonical: string;
  try {
    canonical = jcs(body);
  } catch (e) {
    return { ok: false, why: 'bad-envelope', detail: `seq ${body.seq}: body cannot be canonicalized (${(e as Error).message})` };
  }
  const key = keysOf(body.site, body.gw).get(body.kid);
  if (!key) return { ok: false, why: 'unknown-kid', site: body.site, gw: body.gw, kid: body.kid, detail: `seq ${body.seq}: no key enrolled or learned for kid ${body.kid} of ${body.site}/${body.gw}` };
  if (!edVerify(null, Buffer.from(canonical), key, Buffer.from(sig, 'base64url'))) {
    return { ok: false, why: 'bad-signature', detail: `${body.epoch}:${body.seq}: signature does not verify with the key of kid ${body.kid}` };
  }
  return {
    ok: true,
    signed: env.event,
    event: {
      site: body.site,
      gw: body.gw,
      epoch: body.epoch,
      seq: body.seq,
      hash: hashJcs(canonical),
      prev: body.prev,
      type: body.type,
      severity: body.severity,
      ts: body.ts.wall,
      kid: body.kid,
      payload,
      hist,
    },
  };
}

/**
 * The retained `head` topic, checked by the verifier library (agent/verify/head.ts
 * checkSignedHead: shape and Ed25519 signature with the gateway's keys by kid), plus the
 * consumer's own rule that the body names the gateway whose topic it arrived on.
 */
export function checkHead(payload: string, topicSite: string, topicGw: string, keysOf: (site: string, gw: string) => Map<string, KeyObject>): { ok: true; head: HeadRow } | { ok: false; detail: string } {
  const h = checkSignedHead(payload, keysOf(topicSite, topicGw));
  if (!h.ok) return { ok: false, detail: `${topicSite}/${topicGw}: ${h.detail}` };
  if (h.site !== topicSite || h.gw !== topicGw) return { ok: false, detail: `head: body names ${h.site}/${h.gw} but arrived on ${topicSite}/${topicGw}` };
  return { ok: true, head: { site: topicSite, gw: topicGw, epoch: h.head.epoch, seq: h.head.seq, hash: h.head.hash, ts: h.ts } };
}

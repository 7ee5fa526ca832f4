// Per-message checks at arrival, with the verifier library's envelope reader and key
// handling (agent/verify): an event is stored only when it is a contract envelope, names
// the gateway its topic names, and its signature verifies with a key the platform holds
// for that gateway. Chain checks (prev links, checkpoints, epoch links, declared drops)
// run afterwards on contiguous runs of the store, by the library itself (chains.ts).
import { verify as edVerify, type KeyObject } from 'node:crypto';
import { hashJcs, jcs } from '../chain/jcs.js';
import { parseStrictJson } from '../chain/strict-json.js';
import { readEnvelope } from '../verify/envelope.js';
import type { SignedEvent } from '../events/types.js';
import type { StoredEvent } from './store.js';

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

export interface SignedHead {
  site: string;
  gw: string;
  epoch: string;
  seq: number;
  hash: string;
  ts: string;
  kid: string;
}

/**
 * The retained `head` topic: `{body: {type: "head", site, gw, epoch, seq, hash, ts, kid}, sig}`,
 * Ed25519 over JCS(body) with the gateway's key (docs/platform.md "Signed head").
 */
export function checkHead(payload: string, topicSite: string, topicGw: string, keysOf: (site: string, gw: string) => Map<string, KeyObject>): { ok: true; head: SignedHead } | { ok: false; detail: string } {
  let v: { body?: Record<string, unknown>; sig?: unknown };
  try {
    v = parseStrictJson(payload) as typeof v;
  } catch (e) {
    return { ok: false, detail: `head: not JSON (${(e as Error).message})` };
  }
  const b = v?.body;
  if (!b || typeof b !== 'object' || typeof v.sig !== 'string') return { ok: false, detail: 'head: expected {body, sig}' };
  const { type, site, gw, epoch, seq, hash, ts, kid } = b;
  if (type !== 'head' || typeof epoch !== 'string' || typeof hash !== 'string' || typeof kid !== 'string' || typeof ts !== 'string' || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    return { ok: false, detail: 'head: body needs type "head", epoch, seq, hash, ts, kid' };
  }
  if (site !== topicSite || gw !== topicGw) return { ok: false, detail: `head: body names ${String(site)}/${String(gw)} but arrived on ${topicSite}/${topicGw}` };
  const key = keysOf(topicSite, topicGw).get(kid);
  if (!key) return { ok: false, detail: `head: no key for kid ${kid} of ${topicSite}/${topicGw}` };
  if (!edVerify(null, Buffer.from(jcs(b)), key, Buffer.from(v.sig, 'base64url'))) return { ok: false, detail: `head: signature does not verify with the key of kid ${kid}` };
  return { ok: true, head: { site: topicSite, gw: topicGw, epoch, seq, hash, ts, kid } };
}

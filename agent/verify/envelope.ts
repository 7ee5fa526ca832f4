// Shape checks of one received item against the event contract v1 (docs/contracts.md §Event), before
// any cryptography: a line that is not a `{body, sig}` envelope is named by line number
// and kept out of the chain analysis.
import { parseStrictJson, StrictJsonError } from '../chain/strict-json.js';
import { SEVERITIES, type EventBody, type SignedEvent } from '../events/types.js';

export type EnvelopeResult =
  | { ok: true; event: SignedEvent }
  | { ok: false; kind: 'bad-json' | 'bad-envelope'; detail: string; seq?: number };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

/**
 * Parses a JSONL line (or takes an already-parsed object) and checks the envelope. Lines
 * are read strictly as I-JSON (agent/chain/strict-json.ts, docs/verification.md): a
 * duplicate key, a lone surrogate, a number no double holds or nesting beyond the cap is
 * refused, naming the seq when a lax reading can still find one — a platform in another
 * language could read such a body differently from what was signed. An already-parsed
 * object is the caller's reading; jcs still refuses lone surrogates and non-finite numbers.
 */
export function readEnvelope(item: string | SignedEvent): EnvelopeResult {
  let v: unknown = item;
  if (typeof item === 'string') {
    try {
      v = parseStrictJson(item);
    } catch (e) {
      if (!(e instanceof StrictJsonError) || e.reason === 'syntax' || e.reason === 'utf8') {
        return { ok: false, kind: 'bad-json', detail: `not JSON (${(e as Error).message})` };
      }
      const seq = laxSeq(item, e);
      return { ok: false, kind: 'bad-json', detail: `${seq === undefined ? '' : `seq ${seq}: `}not I-JSON, refused: ${e.message}`, ...(seq === undefined ? {} : { seq }) };
    }
  }
  const why = envelopeProblem(v);
  if (why) return { ok: false, kind: 'bad-envelope', detail: why };
  return { ok: true, event: v as SignedEvent };
}

/** body.seq as JSON.parse reads it (last duplicate wins), to name a refused line; undefined when unreadable. */
function laxSeq(text: string, e: StrictJsonError): number | undefined {
  try {
    const seq = (JSON.parse(text) as { body?: { seq?: unknown } })?.body?.seq;
    return typeof seq === 'number' && Number.isSafeInteger(seq) ? seq : undefined;
  } catch {
    return undefined;
  }
}

/** The first contract violation found, or null. Unknown extra fields are allowed (signed anyway). */
export function envelopeProblem(v: unknown): string | null {
  if (!isObj(v)) return 'expected an object {"body": {...}, "sig": "..."}';
  if (!isStr(v.sig) || !/^[A-Za-z0-9_-]+$/.test(v.sig)) return 'sig: expected a base64url string';
  const b = v.body;
  if (!isObj(b)) return 'body: expected an object';
  if (b.v !== 1) return `body.v: expected 1 (got ${JSON.stringify(b.v)})`;
  for (const k of ['id', 'site', 'gw', 'kid', 'epoch', 'type'] as const) {
    if (!isStr(b[k]) || b[k] === '') return `body.${k}: expected a non-empty string`;
  }
  if (typeof b.seq !== 'number' || !Number.isSafeInteger(b.seq) || b.seq < 1) {
    return `body.seq: expected an integer ≥ 1 (got ${JSON.stringify(b.seq)})`;
  }
  if (!isStr(b.prev)) return 'body.prev: expected a string';
  const ts = b.ts;
  if (!isObj(ts) || !isStr(ts.wall) || typeof ts.mono !== 'number' || !isStr(ts.boot) || !isStr(ts.sync)) {
    return 'body.ts: expected {wall, mono, boot, sync}';
  }
  if (!(SEVERITIES as readonly unknown[]).includes(b.severity)) return `body.severity: expected one of ${SEVERITIES.join(', ')}`;
  if (!isObj(b.src)) return 'body.src: expected an object';
  if (!isObj(b.data)) return 'body.data: expected an object';
  return null;
}

export interface HeadRef {
  epoch: string;
  seq: number;
  hash: string;
}

/** `{epoch, seq, hash}` as carried by checkpoint `data.head` and epoch `data.previous`. */
export function readHeadRef(v: unknown): HeadRef | null {
  if (!isObj(v) || !isStr(v.epoch) || !isStr(v.hash)) return null;
  if (typeof v.seq !== 'number' || !Number.isSafeInteger(v.seq) || v.seq < 0) return null;
  return { epoch: v.epoch, seq: v.seq, hash: v.hash };
}

export interface DeclaredRange {
  epoch: string;
  from: number;
  to: number;
}

/** `data.dropped` of `system.spool.overflow`; null when malformed. */
export function readDropped(body: EventBody): DeclaredRange[] | null {
  const d = body.data.dropped;
  if (!Array.isArray(d)) return null;
  const out: DeclaredRange[] = [];
  for (const r of d) {
    if (!isObj(r) || !isStr(r.epoch)) return null;
    const { from, to } = r;
    if (typeof from !== 'number' || typeof to !== 'number' || !Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 1 || to < from) {
      return null;
    }
    out.push({ epoch: r.epoch, from, to });
  }
  return out;
}

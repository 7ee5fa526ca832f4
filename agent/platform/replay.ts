// Gap repair through the signed `spool.replay` command (docs/platform.md "Replay"): a hole
// that stays open for the grace period is asked for once (claimed in the store, so one
// consumer of a group asks), in chunks of at most MAX_REPLAY seqs, with an MQTT 5 response
// topic and the command id as correlation data. The answer's `missing` ranges (the
// gateway no longer holds them) and `declared` ranges (a signed overflow declaration
// covers them) are recorded, so the chain is accounted for and not asked again.
import type { KeyObject } from 'node:crypto';
import { signCommand } from '../commands/sign.js';
import type { Range } from '../verify/ranges.js';

export const MAX_REPLAY = 10_000;

export interface ReplayRequest {
  site: string;
  gw: string;
  epoch: string;
  from: number;
  to: number;
  id: string;
  /** The signed `{body, sig}` to publish on `{p}/{site}/{gw}/cmd/spool.replay`. */
  payload: string;
}

/** Splits a hole into requestable chunks. */
export function replayChunks(r: Range): Range[] {
  const out: Range[] = [];
  for (let f = r.from; f <= r.to; f += MAX_REPLAY) out.push({ from: f, to: Math.min(r.to, f + MAX_REPLAY - 1) });
  return out;
}

export function buildReplay(key: KeyObject, site: string, gw: string, epoch: string, r: Range, ttlMs: number): ReplayRequest {
  // site/gw bind the command to this gateway (a gateway refuses a command naming another).
  const opts: { ttlMs: number; site: string; gw: string } = { ttlMs, site, gw };
  const signed = signCommand(key, 'spool.replay', { epoch, fromSeq: r.from, toSeq: r.to }, opts);
  return { site, gw, epoch, from: r.from, to: r.to, id: signed.body.id, payload: JSON.stringify(signed) };
}

export interface ReplayAnswer {
  id: string | null;
  ok: boolean;
  replayed: number;
  missing: Range[];
  declared: Range[];
  error?: string;
}

const ranges = (v: unknown): Range[] =>
  Array.isArray(v)
    ? v.filter((r): r is Range => !!r && typeof r === 'object' && Number.isSafeInteger((r as Range).from) && Number.isSafeInteger((r as Range).to) && (r as Range).from <= (r as Range).to)
        .map((r) => ({ from: r.from, to: r.to }))
    : [];

/** Reads a command result `{id, ok, data: {replayed, missing, declared}}`; null when not JSON. */
export function readReplayAnswer(text: string): ReplayAnswer | null {
  let v: { id?: unknown; ok?: unknown; error?: unknown; detail?: unknown; data?: { replayed?: unknown; missing?: unknown; declared?: unknown } };
  try {
    v = JSON.parse(text) as typeof v;
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object') return null;
  return {
    id: typeof v.id === 'string' ? v.id : null,
    ok: v.ok === true,
    replayed: typeof v.data?.replayed === 'number' ? v.data.replayed : 0,
    missing: ranges(v.data?.missing),
    declared: ranges(v.data?.declared),
    ...(v.ok === true ? {} : { error: `${String(v.error ?? 'failed')}${typeof v.detail === 'string' ? `: ${v.detail}` : ''}` }),
  };
}

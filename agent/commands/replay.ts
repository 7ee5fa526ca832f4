// The signed `spool.replay {epoch, fromSeq, toSeq}` command (docs/mqtt-api.yaml): the
// gateway publishes again every event of the range it still holds, on the normal evt
// topics, historical (hist=1), and answers with what it could not:
//   replayed  how many held events were re-published (and acknowledged by the broker);
//   declared  seqs it no longer holds that a signed `system.spool.overflow` it holds
//             declares, with the declaring record's seq, so the platform can fetch and
//             verify that declaration (replaying it if need be);
//   missing   seqs it neither holds nor can show declared (delivered, then pruned or
//             evicted early; or never existed: beyond the committed head).
import type { CommandResult } from '../../drivers/types.js';
import type { JsonObject } from '../events/types.js';
import type { Spool, SpoolRow } from '../spool/types.js';
import { readRanges } from '../spool/evict.js';

/** Largest range one command may ask for (toSeq − fromSeq + 1). */
export const MAX_REPLAY_EVENTS = 10_000;
/** Overflow records read when looking for declarations. */
const MAX_DECLARATION_RECORDS = 10_000;

export interface ReplayDeps {
  spool: Pick<Spool, 'readRange' | 'readByType' | 'head'>;
  /** Publish rows again as historical; resolves with how many the broker acknowledged. */
  republish(rows: readonly SpoolRow[]): Promise<number>;
}

interface Run {
  from: number;
  to: number;
}

function runs(seqs: number[]): Run[] {
  const out: Run[] = [];
  for (const s of seqs) {
    const last = out[out.length - 1];
    if (last && s === last.to + 1) last.to = s;
    else out.push({ from: s, to: s });
  }
  return out;
}

function argsOf(args: JsonObject): { epoch: string; fromSeq: number; toSeq: number } | string {
  const { epoch, fromSeq, toSeq } = args;
  if (typeof epoch !== 'string' || epoch === '') return 'args.epoch must be a non-empty string';
  if (typeof fromSeq !== 'number' || !Number.isSafeInteger(fromSeq) || fromSeq < 1) return 'args.fromSeq must be an integer ≥ 1';
  if (typeof toSeq !== 'number' || !Number.isSafeInteger(toSeq) || toSeq < fromSeq) return 'args.toSeq must be an integer ≥ fromSeq';
  if (toSeq - fromSeq + 1 > MAX_REPLAY_EVENTS) return `at most ${MAX_REPLAY_EVENTS} events per replay (asked ${toSeq - fromSeq + 1})`;
  return { epoch, fromSeq, toSeq };
}

export async function replayRange(args: JsonObject, d: ReplayDeps): Promise<CommandResult> {
  const a = argsOf(args);
  if (typeof a === 'string') return { ok: false, detail: a };
  const { epoch, fromSeq, toSeq } = a;
  const held = d.spool.readRange(epoch, fromSeq, toSeq - fromSeq + 1).filter((r) => r.epoch === epoch && r.seq <= toSeq);
  const heldSeqs = new Set(held.map((r) => r.seq));
  const absent: number[] = [];
  for (let s = fromSeq; s <= toSeq; s++) if (!heldSeqs.has(s)) absent.push(s);

  // Declarations held: each overflow record's ranges of this epoch, by the record's seq.
  const declaredBy = new Map<number, number>();
  if (absent.length > 0 && d.spool.readByType) {
    for (const row of d.spool.readByType('system.spool.overflow', MAX_DECLARATION_RECORDS)) {
      let dropped: unknown;
      try {
        dropped = (JSON.parse(row.payload) as { body?: { data?: { dropped?: unknown } } }).body?.data?.dropped;
      } catch {
        continue;
      }
      for (const r of readRanges(dropped)) {
        if (r.epoch !== epoch || r.to < fromSeq || r.from > toSeq) continue;
        for (let s = Math.max(r.from, fromSeq); s <= Math.min(r.to, toSeq); s++) if (!declaredBy.has(s)) declaredBy.set(s, row.seq);
      }
    }
  }
  const declared: Array<{ from: number; to: number; seq: number }> = [];
  const missing: number[] = [];
  for (const s of absent) {
    const by = declaredBy.get(s);
    if (by === undefined) {
      missing.push(s);
      continue;
    }
    const last = declared[declared.length - 1];
    if (last && last.seq === by && last.to === s - 1) last.to = s;
    else declared.push({ from: s, to: s, seq: by });
  }
  const replayed = held.length > 0 ? await d.republish(held) : 0;
  const head = d.spool.head();
  const data: JsonObject = {
    epoch,
    fromSeq,
    toSeq,
    replayed,
    missing: runs(missing).map((r) => ({ from: r.from, to: r.to })),
    declared,
    head: head ? { epoch: head.epoch, seq: head.seq } : null,
  };
  const ok = replayed === held.length;
  return { ok, detail: ok ? `${replayed} event(s) replayed` : `${replayed} of ${held.length} held event(s) acknowledged by the broker`, data };
}

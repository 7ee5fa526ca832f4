// The verified head of each (site, gw, epoch) and its gaps (docs/platform.md "Verification
// and gaps"). The store holds signature-checked events in any order; here the contiguous
// run above the verified head is handed to the verifier library (agent/verify
// verifyEvents) and the head moves only when the library's verdict is ok and the run's
// first prev is the verified head's hash. A range a signed overflow declaration covers, or
// that a replay answered as no longer held, is stepped over (its first event's prev cannot
// be checked: the event it names is gone — shown as such). Keys named by a verified
// `system.chain.key_rotated` are learned here, from the library's verdict on that run.
import { verifyEvents } from '../verify/verify.js';
import type { Finding } from '../verify/types.js';
import { mergeRanges, splitRange, type Range } from '../verify/ranges.js';
import type { KeyBook } from './keys.js';
import type { ChainRow, PlatformStore, StoredEvent } from './store.js';

const RUN = 2000;

export interface ChainState {
  site: string;
  gw: string;
  epoch: string;
  verifiedSeq: number;
  verifiedHash: string;
  /** Highest seq anything attests (stored events, the signed head, a later epoch's announcement). */
  tailSeq: number;
  /** Seqs above the verified head neither stored nor accounted for. */
  holes: Range[];
  /** Defects the library (or the junction check) found; the head stops below them. */
  defects: string[];
  /** Keys learned from key_rotated events verified in this pass. */
  learned: number;
}

export function advanceChain(store: PlatformStore, keys: KeyBook, c: ChainRow): ChainState {
  const { site, gw, epoch } = c;
  let vs = c.verifiedSeq;
  let vh = c.verifiedHash;
  const accounted = mergeRanges(store.accounted(site, gw, epoch));
  const defects: string[] = [];
  let learned = 0;
  for (;;) {
    const rows = store.eventsAfter(site, gw, epoch, vs, RUN);
    const { run, jumped } = contiguousRun(rows, vs, accounted);
    if (run.length === 0) break;
    if (!jumped && vs > 0 && run[0].prev !== vh) {
      defects.push(`seq ${run[0].seq}: prev ${run[0].prev.slice(0, 12)}… is not the hash of the verified seq ${vs}`);
      break;
    }
    const pubkeys = [...keys.get(site, gw).values()];
    const report = verifyEvents(
      run.map((r) => r.payload),
      { pubkeys },
    );
    const bad = [...report.findings, ...report.chains.flatMap((ch) => ch.findings)].filter((f: Finding) => f.level === 'defect');
    if (!report.ok || bad.length > 0) {
      defects.push(...bad.map((f) => f.detail));
      break;
    }
    learned += learnRotations(run, keys, (report as { learnedKeys?: Array<{ pubkey: string }> }).learnedKeys);
    const last = run[run.length - 1];
    vs = last.seq;
    vh = last.hash;
    store.setVerified(site, gw, epoch, vs, vh);
    if (run.length < rows.length || rows.length < RUN) break;
  }
  store.clearRequested(site, gw, epoch, vs);
  const tailSeq = Math.max(c.maxSeq, attestedTail(store, site, gw, epoch));
  return { site, gw, epoch, verifiedSeq: vs, verifiedHash: vh, tailSeq, holes: holesAbove(store, c, vs, tailSeq, accounted), defects, learned };
}

/** The events from `vs + 1` on without a hole; an accounted range right at the start is stepped over. */
function contiguousRun(rows: StoredEvent[], vs: number, accounted: Range[]): { run: StoredEvent[]; jumped: boolean } {
  const run: StoredEvent[] = [];
  let expected = vs + 1;
  let jumped = false;
  for (const r of rows) {
    if (r.seq !== expected) {
      const gap = { from: expected, to: r.seq - 1 };
      if (run.length > 0 || splitRange(gap, accounted).rest.length > 0) break;
      jumped = true;
    }
    run.push(r);
    expected = r.seq + 1;
  }
  return { run, jumped };
}

/**
 * Keys a verified `system.chain.key_rotated` names (`data.newPubkey`), for the epoch that
 * follows: the library's `learnedKeys` when it reports them, else read from the run it
 * has just verified.
 */
function learnRotations(run: StoredEvent[], keys: KeyBook, fromLibrary: Array<{ pubkey: string }> | undefined): number {
  let n = 0;
  if (fromLibrary) {
    for (const k of fromLibrary) if (keys.add(run[0].site, run[0].gw, k.pubkey, 'rotation')) n++;
    return n;
  }
  for (const r of run) {
    if (r.type !== 'system.chain.key_rotated') continue;
    const data = (JSON.parse(r.payload) as { body: { data: { newPubkey?: unknown } } }).body.data;
    if (typeof data.newPubkey === 'string' && keys.add(r.site, r.gw, data.newPubkey, 'rotation')) n++;
  }
  return n;
}

/** The signed head (same epoch) and any later epoch's announcement naming this epoch's head. */
function attestedTail(store: PlatformStore, site: string, gw: string, epoch: string): number {
  let tail = 0;
  const h = store.head(site, gw);
  if (h && h.epoch === epoch) tail = h.seq;
  const anns = store.db.prepare("SELECT payload FROM events WHERE site = ? AND gw = ? AND seq = 1 AND type = 'system.chain.epoch' AND epoch != ?").all(site, gw, epoch) as Array<{ payload: string }>;
  for (const a of anns) {
    const prev = (JSON.parse(a.payload) as { body: { data: { previous?: { epoch?: unknown; seq?: unknown } | null } } }).body.data.previous;
    if (prev && prev.epoch === epoch && typeof prev.seq === 'number') tail = Math.max(tail, prev.seq);
  }
  return tail;
}

function holesAbove(store: PlatformStore, c: ChainRow, vs: number, tailSeq: number, accounted: Range[]): Range[] {
  if (tailSeq <= vs) return [];
  const seqs = (store.db.prepare('SELECT seq FROM events WHERE site = ? AND gw = ? AND epoch = ? AND seq > ? ORDER BY seq').pluck().all(c.site, c.gw, c.epoch, vs) as number[]);
  const holes: Range[] = [];
  let expected = vs + 1;
  for (const s of [...seqs, tailSeq + 1]) {
    if (s > expected) holes.push(...splitRange({ from: expected, to: Math.min(s - 1, tailSeq) }, accounted).rest);
    expected = Math.max(expected, s + 1);
    if (expected > tailSeq) break;
  }
  return holes;
}

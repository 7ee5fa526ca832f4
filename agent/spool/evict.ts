// Quota eviction (docs/contracts.md §Spool, docs/architecture.md "Evidence classes and
// the quota"): when an append would take the spool over its byte quota, rows leave
// inside the append's own transaction in this order:
//   1. sent rows, oldest sent first (already delivered: not a loss);
//   2. unsent rows that are not declarations: non-evidence before evidence (isEvidence),
//      then lowest severity, then oldest (rowid) — each one counted and reported as an
//      exact dropped seq range so the caller can seal a `system.spool.overflow` naming it;
//   3. only when 1–2 could not free enough (or declarations hold more than their share,
//      consolidationDue): a consolidation — every unsent checkpoint and overflow record
//      leaves at once. Such a row is never lost silently: its own seq and, for an overflow
//      record, every range it declared are reported again, merged with everything else
//      still owed into the fewest runs (one cumulative declaration), so dropped seqs that
//      earlier records declared piecemeal (every other seq, when alarms are kept and
//      readings dropped) come back as a few long runs.
// Never evicted unsent: `system.chain.epoch` (seq 1 of every epoch), any other
// `system.chain.*` type, and `system.spool.write_failed` (it declares observations that
// never got a seq, so no later record could re-declare it).
// The batch being appended is never touched here; sqlite-spool.ts drops the oldest
// non-declaration events of the batch only when nothing else is left.
import type Database from 'better-sqlite3';
import { DECLARATION_TYPES } from '../events/declarations.js';
import type { DroppedRange } from './types.js';

/** Unsent rows of these types never leave in phase 2 (agent/events/declarations.ts). */
export function isDeclaration(type: string): boolean {
  return type.startsWith('system.chain.') || (DECLARATION_TYPES as readonly string[]).includes(type);
}

/** Declarations that may leave in phase 3 because a later overflow record re-declares them. */
export function isCompactable(type: string): boolean {
  return type === 'system.chain.checkpoint' || type === 'system.spool.overflow';
}

/** SQL twin of !isDeclaration(type). */
export const EVICTABLE_SQL = "type NOT LIKE 'system.chain.%' AND type NOT IN ('system.spool.overflow', 'system.spool.write_failed')";
/** SQL twin of isCompactable(type); textually the WHERE of the events_decl index (schema.ts). */
export const COMPACTABLE_SQL = "type IN ('system.chain.checkpoint', 'system.spool.overflow')";

/** A batch of declarations only may take the spool this far above its quota (a share of it) before it evicts. */
export const DECLARATION_HEADROOM = 1 / 16;
/** Declarations may hold this share of the quota before they are consolidated (consolidationDue). */
export const DECLARATION_SHARE = 1 / 4;

/**
 * Whether unsent declarations holding `declBytes` (with the batch's) should be consolidated
 * now: past their share of the quota, and only if the stored ones (`storedDecl`) are more
 * than twice what the last consolidation left to declare (`lastUnion`, declarationBytes).
 * The second condition makes every consolidation at least halve what it replaces, so it
 * can never churn: a set that cannot be declared in less (fragmented by the rows still
 * stored) is kept over the share instead of being re-declared over and over.
 */
export function consolidationDue(declBytes: number, storedDecl: number, quota: number, lastUnion: number): boolean {
  return declBytes > quota * DECLARATION_SHARE && storedDecl > 2 * lastUnion;
}

/**
 * Bytes the overflow records declaring `ranges` will take, on the high side: each range's
 * JSON plus a comma, and a whole record (envelope, signature, row overhead, ~700 bytes
 * measured) for every 128 ranges (the pipeline packs up to 256 into one).
 */
export function declarationBytes(ranges: readonly DroppedRange[]): number {
  let n = 0;
  for (const r of ranges) n += 27 + r.epoch.length + String(r.from).length + String(r.to).length;
  return n + Math.ceil(ranges.length / 128) * 1024;
}

/** When evictForQuota consolidates the declarations: before anything else, only if 1–2 fall short, or never. */
export type Consolidate = 'first' | 'if-needed' | 'never';

export interface EvictStatements {
  /** `SELECT rowid, bytes … WHERE sent_at IS NOT NULL ORDER BY sent_at, rowid LIMIT ?` */
  oldestSent: Database.Statement<[number], { rowid: number; bytes: number }>;
  /** `SELECT rowid, epoch, seq, bytes … WHERE sent_at IS NULL AND EVICTABLE_SQL ORDER BY evidence, severity, rowid LIMIT ?` */
  nextUnsent: Database.Statement<[number], { rowid: number; epoch: string; seq: number; bytes: number }>;
  /** Unsent compactable rows with their payload, oldest (rowid) first (index events_decl). */
  nextCompactable: Database.Statement<[number], { rowid: number; epoch: string; seq: number; bytes: number; type: string; payload: string }>;
  /** `DELETE FROM events WHERE rowid = ?`: the payload goes with it (trigger, schema.ts). */
  deleteRow: Database.Statement<[number]>;
}

/** An unsent event that left the spool without being delivered. */
export interface DroppedRow {
  /** Storage order (rowid, or the rowid the event would have had); sorts ranges. */
  rowid: number;
  epoch: string;
  seq: number;
}

export interface EvictOutcome {
  freed: number;
  evictedSent: number;
  /** Unsent rows that left (phases 2 and 3). */
  dropped: DroppedRow[];
  /** Ranges declared by overflow records that left in phase 3: to be declared again. */
  redeclared: DroppedRange[];
  /** Bytes of compactable rows (checkpoints, overflow records) that left. */
  declFreed: number;
  /** A consolidation ran: the caller merges `dropped`, `redeclared` and everything owed into one set. */
  consolidated: boolean;
}

/** Rows fetched per SELECT: eviction usually frees about one batch, a few hundred rows. */
const CHUNK = 128;

const empty = (): EvictOutcome => ({ freed: 0, evictedSent: 0, dropped: [], redeclared: [], declFreed: 0, consolidated: false });

/**
 * Free at least `need` logical bytes (or everything evictable). With `consolidate`
 * 'first' the declarations are consolidated before anything else (their share of the
 * quota is exceeded, consolidationDue); with 'if-needed' only when phases 1–2 fall short;
 * with 'never' they stay. Call inside a transaction.
 */
export function evictForQuota(s: EvictStatements, need: number, consolidate: Consolidate = 'if-needed'): EvictOutcome {
  const out = empty();
  if (consolidate === 'first') absorb(out, consolidateDeclarations(s));
  // Phase 1: sent rows.
  while (out.freed < need) {
    const rows = s.oldestSent.all(CHUNK);
    for (const r of rows) {
      if (out.freed >= need) break;
      s.deleteRow.run(r.rowid);
      out.freed += r.bytes;
      out.evictedSent++;
    }
    if (rows.length < CHUNK) break;
  }
  // Phase 2: unsent rows that are not declarations, in eviction order.
  while (out.freed < need) {
    const rows = s.nextUnsent.all(CHUNK);
    for (const r of rows) {
      if (out.freed >= need) break;
      s.deleteRow.run(r.rowid);
      out.freed += r.bytes;
      out.dropped.push({ rowid: r.rowid, epoch: r.epoch, seq: r.seq });
    }
    if (rows.length < CHUNK) break;
  }
  // Phase 3: nothing but declarations left.
  if (out.freed < need && consolidate === 'if-needed') absorb(out, consolidateDeclarations(s));
  return out;
}

/**
 * Remove every unsent checkpoint and overflow record; each one's seq and the ranges it
 * declared come back as drops to declare again (merged by the caller with everything
 * still owed: dropRanges). All of them, not the oldest few: the runs merge only when the
 * pieces that different records declared are declared again together. Call inside a
 * transaction.
 */
export function consolidateDeclarations(s: EvictStatements): EvictOutcome {
  const out = empty();
  for (;;) {
    const rows = s.nextCompactable.all(CHUNK);
    for (const r of rows) {
      s.deleteRow.run(r.rowid);
      out.freed += r.bytes;
      out.declFreed += r.bytes;
      out.dropped.push({ rowid: r.rowid, epoch: r.epoch, seq: r.seq });
      if (r.type === 'system.spool.overflow') out.redeclared.push(...declaredBy(r.payload));
    }
    if (rows.length < CHUNK) break;
  }
  out.consolidated = out.dropped.length > 0;
  return out;
}

function absorb(into: EvictOutcome, more: EvictOutcome): void {
  into.freed += more.freed;
  into.evictedSent += more.evictedSent;
  into.dropped.push(...more.dropped);
  into.redeclared.push(...more.redeclared);
  into.declFreed += more.declFreed;
  into.consolidated ||= more.consolidated;
}

/** `data.dropped` of a stored overflow record's payload (exact ranges; [] if unreadable). */
export function declaredBy(payload: string): DroppedRange[] {
  let d: unknown;
  try {
    d = (JSON.parse(payload) as { body?: { data?: { dropped?: unknown } } }).body?.data?.dropped;
  } catch {
    return [];
  }
  return readRanges(d);
}

/** Well-formed `{epoch, from, to}` items of a `data.dropped` value; others are skipped. */
export function readRanges(d: unknown): DroppedRange[] {
  if (!Array.isArray(d)) return [];
  const out: DroppedRange[] = [];
  for (const r of d as Array<Record<string, unknown> | null>) {
    if (!r || typeof r.epoch !== 'string') continue;
    const { from, to } = r;
    if (typeof from === 'number' && typeof to === 'number' && Number.isSafeInteger(from) && Number.isSafeInteger(to) && from >= 1 && to >= from) {
      out.push({ epoch: r.epoch, from, to });
    }
  }
  return out;
}

/**
 * Exact dropped seq ranges: rows sorted by storage order, consecutive seqs of one epoch
 * merged into one run. Seqs are never reused within an epoch, so a run names exactly the
 * events lost and nothing else.
 */
export function mergeRanges(rows: DroppedRow[]): DroppedRange[] {
  if (rows.length === 0) return [];
  const sorted = rows.slice().sort((a, b) => a.rowid - b.rowid);
  const out: DroppedRange[] = [];
  let cur: DroppedRange = { epoch: sorted[0].epoch, from: sorted[0].seq, to: sorted[0].seq };
  for (let i = 1; i < sorted.length; i++) {
    const r = sorted[i];
    if (r.epoch === cur.epoch && r.seq === cur.to + 1) {
      cur.to = r.seq;
    } else {
      out.push(cur);
      cur = { epoch: r.epoch, from: r.seq, to: r.seq };
    }
  }
  out.push(cur);
  return out;
}

/**
 * Rows and re-declared ranges as one list: per epoch (in order of first appearance,
 * rows first) sorted by seq, overlapping or adjacent runs merged.
 */
export function dropRanges(rows: DroppedRow[], redeclared: readonly DroppedRange[]): DroppedRange[] {
  const all = [...mergeRanges(rows), ...redeclared];
  if (redeclared.length === 0) return all;
  const order = new Map<string, number>();
  for (const r of all) if (!order.has(r.epoch)) order.set(r.epoch, order.size);
  all.sort((a, b) => order.get(a.epoch)! - order.get(b.epoch)! || a.from - b.from);
  const out: DroppedRange[] = [];
  for (const r of all) {
    const last = out[out.length - 1];
    if (last && last.epoch === r.epoch && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else out.push({ ...r });
  }
  return out;
}

/** `ranges` minus `cut` (per epoch): what of `ranges` the ranges in `cut` do not cover. */
export function subtractRanges(ranges: readonly DroppedRange[], cut: readonly DroppedRange[]): DroppedRange[] {
  let rest = ranges.map((r) => ({ ...r }));
  for (const c of cut) {
    const next: DroppedRange[] = [];
    for (const r of rest) {
      if (r.epoch !== c.epoch || c.to < r.from || c.from > r.to) {
        next.push(r);
        continue;
      }
      if (r.from < c.from) next.push({ epoch: r.epoch, from: r.from, to: c.from - 1 });
      if (r.to > c.to) next.push({ epoch: r.epoch, from: c.to + 1, to: r.to });
    }
    rest = next;
  }
  return rest;
}

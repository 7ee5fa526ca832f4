// Quota eviction (docs/contracts.md §Spool): when an append would take the spool over its byte quota,
// rows leave inside the append's own transaction in this order:
//   1. sent rows, oldest sent first (already delivered: not a loss);
//   2. unsent rows: non-evidence before evidence (isEvidence), then lowest severity, then
//      oldest (rowid) — each one counted and reported as an exact dropped seq range so the
//      caller can seal a `system.spool.overflow` event naming it.
// The batch being appended is never touched here; sqlite-spool.ts drops the oldest of the
// batch only when nothing else is left.
import type Database from 'better-sqlite3';
import type { DroppedRange } from './types.js';

export interface EvictStatements {
  /** `SELECT rowid, bytes … WHERE sent_at IS NOT NULL ORDER BY sent_at, rowid LIMIT ?` */
  oldestSent: Database.Statement<[number], { rowid: number; bytes: number }>;
  /** `SELECT rowid, epoch, seq, bytes … WHERE sent_at IS NULL ORDER BY evidence, severity, rowid LIMIT ?` */
  nextUnsent: Database.Statement<[number], { rowid: number; epoch: string; seq: number; bytes: number }>;
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
  dropped: DroppedRow[];
}

/** Rows fetched per SELECT: eviction usually frees about one batch, a few hundred rows. */
const CHUNK = 128;

/** Free at least `need` logical bytes (or everything there is). Call inside a transaction. */
export function evictForQuota(s: EvictStatements, need: number): EvictOutcome {
  const out: EvictOutcome = { freed: 0, evictedSent: 0, dropped: [] };
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
  // Phase 2: unsent rows, in eviction order.
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

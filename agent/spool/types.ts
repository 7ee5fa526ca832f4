// The spool contract (docs/contracts.md §Spool). One implementation today (SQLite); the contract suite
// in test/unit/spool-contract.test.ts is written against this interface.
import type { ChainHead, SealedEvent } from '../chain/chain.js';
import type { Family, Severity } from '../events/types.js';

/** One stored event as the forwarder reads it. */
export interface SpoolRow {
  /** Insertion order across epochs; the forwarder's cursor. */
  rowid: number;
  epoch: string;
  seq: number;
  family: Family;
  type: string;
  severity: Severity;
  /** Exact bytes to publish (`{"body":…,"sig":…}`). */
  payload: string;
  /** Wall ms when the event was committed (accepted). */
  acceptedAt: number;
}

/** A contiguous run of seqs of one epoch that the quota forced out unsent. */
export interface DroppedRange {
  epoch: string;
  from: number;
  to: number;
}

export interface SpoolStats {
  /** Rows stored (sent + unsent). */
  depth: number;
  unsent: number;
  /** Age in ms of the oldest unsent row, null when nothing is unsent. */
  oldestUnsentAgeMs: number | null;
  head: ChainHead | null;
  /** Logical bytes counted against the quota (payload + per-row overhead). */
  bytes: number;
  quotaBytes: number;
  /** File size on disk (db + wal). */
  fileBytes: number;
  /** Unsent events dropped by the quota since the spool was created. */
  droppedEvents: number;
  /** Of those, seqs no committed overflow record declares yet (pending_drops; owed, declared at the next start if the daemon died). */
  pendingDrops?: number;
  sentTotal: number;
  /**
   * The quota eviction applies now, when the free space of the spool's filesystem holds it
   * below quotaBytes (agent/spool/space.ts); absent otherwise, and from read-only readers.
   */
  effectiveQuotaBytes?: number;
}

export interface AppendResult {
  /** Unsent events evicted by this append to stay under quota (exact seq ranges). */
  dropped: DroppedRange[];
  /** Sent rows evicted early to make room (not a loss: already delivered). */
  evictedSent: number;
}

export interface Spool {
  /**
   * Commit events and the chain head in one transaction (synchronous=FULL: durable when
   * this returns). Evicts for quota inside the same transaction. Throws on I/O failure;
   * then nothing of the batch is committed and the caller keeps the batch to retry.
   */
  append(events: SealedEvent[]): AppendResult;
  /** Chain head as last committed, or null for a fresh spool. */
  head(): ChainHead | null;
  /** Unsent rows with rowid > afterRowid, in rowid order. */
  readUnsent(afterRowid: number, limit: number): SpoolRow[];
  /** Mark rows sent (after a successful PUBACK). Idempotent; unknown rowids ignored. */
  markSent(rowids: readonly number[]): void;
  /** Highest rowid stored (0 when empty). */
  maxRowid(): number;
  /** Rows with seq ≥ fromSeq of an epoch (sent or not), for replay commands. */
  readRange(epoch: string, fromSeq: number, limit: number): SpoolRow[];
  /** Rows of one type (sent or not), oldest first; a scan, for rare commands (spool.replay). Optional. */
  readByType?(type: string, limit: number): SpoolRow[];
  /** Delete sent rows older than the retention window; returns rows deleted. */
  prune(now?: number): number;
  stats(now?: number): SpoolStats;
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  close(): void;
}

export interface SpoolOpenInfo {
  /** Set when the file failed its integrity check and was moved aside (never deleted). */
  movedAside?: string;
  /** Why a new epoch must begin (fresh, corrupt), or undefined to continue the head. */
  resetReason?: 'fresh' | 'corrupt';
  /** Unsent events found without their payload row and removed (SqliteSpool.removeOrphans). */
  lostPayloads?: DroppedRange[];
  /** Drops no committed overflow record declares yet (the process died in between): announce them again. */
  pendingDrops?: PendingDrops[];
}

/** Dropped ranges of one reason that still await their `system.spool.overflow`. */
export interface PendingDrops {
  reason: 'quota' | 'payload-missing';
  ranges: DroppedRange[];
}

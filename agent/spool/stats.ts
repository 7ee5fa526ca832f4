// Spool statistics queried from a connection (writer or read-only). The writer passes
// what it already holds in memory (head, byte total, counters) so its health tick does
// not run a SUM over the table; a read-only reader passes nothing and reads meta.
import { statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { ChainHead } from '../chain/chain.js';
import { META } from './schema.js';
import type { SpoolStats } from './types.js';

export interface KnownStats {
  head: ChainHead | null;
  bytes: number;
  quotaBytes: number;
  droppedEvents: number;
  sentTotal: number;
  /** Set while the filesystem holds the quota below quotaBytes (agent/spool/space.ts). */
  effectiveQuotaBytes?: number;
}

export function queryStats(db: Database.Database, path: string, now: number, known?: KnownStats): SpoolStats {
  const depth = (db.prepare('SELECT count(*) FROM events').pluck().get() as number) ?? 0;
  const unsent = (db.prepare('SELECT count(*) FROM events WHERE sent_at IS NULL').pluck().get() as number) ?? 0;
  const oldest = db.prepare('SELECT accepted_at FROM events WHERE sent_at IS NULL ORDER BY rowid LIMIT 1').pluck().get() as number | undefined;
  const k = known ?? readKnown(db);
  const pendingDrops = owedDrops(db);
  return {
    depth,
    unsent,
    oldestUnsentAgeMs: oldest === undefined ? null : Math.max(0, now - oldest),
    head: k.head,
    bytes: k.bytes,
    quotaBytes: k.quotaBytes,
    fileBytes: fileSize(path) + fileSize(`${path}-wal`),
    droppedEvents: k.droppedEvents,
    sentTotal: k.sentTotal,
    ...(pendingDrops !== null ? { pendingDrops } : {}),
    ...(k.effectiveQuotaBytes !== undefined ? { effectiveQuotaBytes: k.effectiveQuotaBytes } : {}),
  };
}

/** Seqs dropped and not yet declared by a committed overflow record (table pending_drops; null before it exists). */
function owedDrops(db: Database.Database): number | null {
  try {
    return (db.prepare('SELECT coalesce(sum(to_seq - from_seq + 1), 0) FROM pending_drops').pluck().get() as number) ?? 0;
  } catch {
    return null;
  }
}

export function readMeta(db: Database.Database, key: string): string | undefined {
  return db.prepare('SELECT v FROM meta WHERE k = ?').pluck().get(key) as string | undefined;
}

export function parseHead(text: string | undefined): ChainHead | null {
  if (!text) return null;
  const h = JSON.parse(text) as ChainHead;
  return typeof h.epoch === 'string' && h.epoch !== '' && Number.isSafeInteger(h.seq) ? { epoch: h.epoch, seq: h.seq, hash: h.hash } : null;
}

function readKnown(db: Database.Database): KnownStats {
  return {
    head: parseHead(readMeta(db, META.head)),
    bytes: (db.prepare('SELECT coalesce(sum(bytes), 0) FROM events').pluck().get() as number) ?? 0,
    quotaBytes: Number(readMeta(db, META.quotaBytes) ?? 0),
    droppedEvents: Number(readMeta(db, META.droppedEvents) ?? 0),
    sentTotal: Number(readMeta(db, META.sentTotal) ?? 0),
  };
}

export function fileSize(p: string): number {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
}

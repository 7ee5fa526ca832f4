// The spool's on-disk layout (DESIGN §5), shared by the writer connection
// (sqlite-spool.ts) and read-only readers (readonly.ts). Bump SCHEMA_VERSION and add a
// migration in open.ts whenever a statement below changes meaning.
import { SEVERITIES, type Family, type Severity } from '../events/types.js';
import type { SpoolRow } from './types.js';

export const SCHEMA_VERSION = 1;

/**
 * Fixed per-row cost added to the payload's UTF-8 length when counting a row against the
 * quota. It stands for the non-payload columns (epoch ≈ 12 B, type ≈ 25 B, family, six
 * integers), the four index entries of an unsent row (unsent, evict, epoch+seq, and the
 * sent index once marked) and b-tree cell headers: ≈ 128 B measured on 4 KiB pages with
 * ~450 B payloads. The quota is logical: the file can exceed it by page slack and WAL.
 */
export const ROW_OVERHEAD_BYTES = 128;

/** Logical bytes of one row as counted against the quota. */
export function rowBytes(payload: string): number {
  return Buffer.byteLength(payload, 'utf8') + ROW_OVERHEAD_BYTES;
}

/**
 * `rowid` is explicit (assigned from a high-water mark kept in meta) so a rowid is never
 * reused even when every row was pruned: the forwarder's cursor is "rowid > last sent".
 * Partial indexes cover exactly what the hot paths read:
 *  - events_unsent: readUnsent / oldest unsent, in rowid order;
 *  - events_evict:  quota eviction of unsent rows (non-evidence first, lowest severity,
 *                   oldest) — DESIGN §5;
 *  - events_sent:   prune and early eviction of sent rows, oldest sent first;
 *  - events_seq:    readRange (replay) and a guard against storing one seq twice.
 */
export const DDL = `
CREATE TABLE IF NOT EXISTS events (
  rowid       INTEGER PRIMARY KEY,
  epoch       TEXT    NOT NULL,
  seq         INTEGER NOT NULL,
  type        TEXT    NOT NULL,
  family      TEXT    NOT NULL,
  severity    INTEGER NOT NULL,
  evidence    INTEGER NOT NULL,
  accepted_at INTEGER NOT NULL,
  bytes       INTEGER NOT NULL,
  payload     TEXT    NOT NULL,
  sent_at     INTEGER
);
CREATE INDEX IF NOT EXISTS events_unsent ON events(rowid) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS events_evict ON events(evidence, severity, rowid) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS events_sent ON events(sent_at, rowid) WHERE sent_at IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS events_seq ON events(epoch, seq);
CREATE TABLE IF NOT EXISTS meta (
  k TEXT PRIMARY KEY,
  v TEXT NOT NULL
) WITHOUT ROWID;
`;

/** Meta keys owned by the spool; setMeta() refuses them. */
export const META = {
  schemaVersion: 'schema_version',
  /** JSON ChainHead, written in the same transaction as the rows it describes. */
  head: 'head',
  /** Highest rowid ever assigned (rowids are never reused). */
  rowidHw: 'rowid_hw',
  droppedEvents: 'dropped_events',
  sentTotal: 'sent_total',
  /** Quota of the writer that last opened the file, for read-only `spool stats`. */
  quotaBytes: 'quota_bytes',
  createdAt: 'created_at',
} as const;

export const RESERVED_META_KEYS: ReadonlySet<string> = new Set(Object.values(META));

/** Column list matching RawRow; every SELECT of rows uses it. */
export const ROW_COLUMNS = 'rowid, epoch, seq, family, type, severity, payload, accepted_at, sent_at';

export interface RawRow {
  rowid: number;
  epoch: string;
  seq: number;
  family: string;
  type: string;
  severity: number;
  payload: string;
  accepted_at: number;
  sent_at: number | null;
}

export function toSpoolRow(r: RawRow): SpoolRow {
  return {
    rowid: r.rowid,
    epoch: r.epoch,
    seq: r.seq,
    family: r.family as Family,
    type: r.type,
    severity: (SEVERITIES[r.severity] ?? 'info') as Severity,
    payload: r.payload,
    acceptedAt: r.accepted_at,
  };
}

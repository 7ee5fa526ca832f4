// The spool's on-disk layout (docs/contracts.md §Spool), shared by the writer connection
// (sqlite-spool.ts) and read-only readers (readonly.ts). Bump SCHEMA_VERSION and add a
// migration in open.ts whenever a statement below changes meaning.
// History: v1 kept the payload inline in `events`; v2 (this) moved it to `payloads`.
import { SEVERITIES, type Family, type Severity } from '../events/types.js';
import type { SpoolRow } from './types.js';

export const SCHEMA_VERSION = 2;

/**
 * Fixed per-row cost added to the payload's UTF-8 length when counting a row against the
 * quota. It stands for the `events` row (epoch ≈ 12 B, type ≈ 25 B, family, seven
 * integers), its index entries (unsent + evict while unsent, sent once marked, epoch+seq),
 * the `payloads` cell (its rowid, cell header and pointer: ≈ 7 B more than v1's inline
 * column) and the b-tree cell headers of both tables. Measured with dbstat on 4 KiB
 * pages, half the rows sent: v2 ≈ 123 B (~540 B payloads) to ≈ 128 B (~1.5 KB); v1 was
 * ≈ 116–121 B. The figure is unchanged from v1, so a migrated file's `bytes` column and
 * the quota keep their meaning. Page slack is not counted (with ~1.5 KB payloads a
 * `payloads` leaf holds two cells and leaves ≈ 1 KB unused, as the inline v1 rows did),
 * nor free pages or the WAL: the quota is logical, the file can exceed it by those.
 */
export const ROW_OVERHEAD_BYTES = 128;

/** Logical bytes of one row as counted against the quota. */
export function rowBytes(payload: string): number {
  return Buffer.byteLength(payload, 'utf8') + ROW_OVERHEAD_BYTES;
}

/**
 * Layout v2: metadata in `events`, the signed payload in `payloads` under the same rowid.
 * markSent is the drain's hot write (one UPDATE per ack run); with the ~1.4 KB payload
 * inline it rewrote whole rows, so every payload went through the WAL a second time
 * (≈ 25 % of drain CPU and double flash wear). Split, an UPDATE of `sent_at` rewrites
 * only ~80-byte `events` cells; `payloads` is written once at append and deleted once.
 *
 * `rowid` is explicit (assigned from a high-water mark kept in meta) so a rowid is never
 * reused even when every row was pruned: the forwarder's cursor is "rowid > last sent".
 * Partial indexes cover exactly what the hot paths read:
 *  - events_unsent: readUnsent / oldest unsent, in rowid order;
 *  - events_evict:  quota eviction of unsent rows (non-evidence first, lowest severity,
 *                   oldest) — docs/contracts.md §Spool;
 *  - events_sent:   prune and early eviction of sent rows, oldest sent first;
 *  - events_seq:    readRange (replay) and a guard against storing one seq twice;
 *  - events_decl:   unsent checkpoints and overflow records, oldest first, with their
 *                   bytes: the declarations' share of the quota and their
 *                   consolidation (evict.ts). Its WHERE must stay textually equal to COMPACTABLE_SQL.
 *
 * `pending_drops` holds dropped seq ranges that no committed `system.spool.overflow`
 * declares yet: the append (or start-up check) that drops rows writes them in its own
 * transaction, the append that commits the declaring overflow record removes them, and
 * whatever is left at start is announced again, so a kill -9 between a drop and its
 * declaration never leaves an undeclared gap.
 *
 * events_decl and pending_drops were added inside v2: both are created by `IF NOT EXISTS`
 * at every open (open.ts runs DDL), change the meaning of nothing that was there, and an
 * older v2 build opening the file simply ignores them (no version bump, no refusal).
 *
 * Invariant: a `payloads` row exists exactly for each `events` row. append() inserts both
 * in one transaction; every delete goes through `events` and the trigger removes the
 * payload. A trigger rather than a second DELETE in each path because the paths are
 * several (prune, eviction of sent rows, eviction of unsent rows, and whatever comes
 * next), and a forgotten one would leak payload bytes the logical quota no longer counts
 * — unbounded growth with no error. A foreign key with ON DELETE CASCADE would hold only
 * on connections with `PRAGMA foreign_keys` on (better-sqlite3's build turns it on, stock
 * SQLite and the sqlite3 shell do not); the trigger is part of the file and holds for
 * every connection.
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
  sent_at     INTEGER
);
CREATE INDEX IF NOT EXISTS events_unsent ON events(rowid) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS events_evict ON events(evidence, severity, rowid) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS events_sent ON events(sent_at, rowid) WHERE sent_at IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS events_seq ON events(epoch, seq);
CREATE TABLE IF NOT EXISTS payloads (
  rowid       INTEGER PRIMARY KEY,
  payload     TEXT    NOT NULL
);
CREATE TRIGGER IF NOT EXISTS events_delete_payload AFTER DELETE ON events BEGIN
  DELETE FROM payloads WHERE rowid = OLD.rowid;
END;
CREATE TABLE IF NOT EXISTS meta (
  k TEXT PRIMARY KEY,
  v TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_decl ON events(rowid, bytes) WHERE sent_at IS NULL AND type IN ('system.chain.checkpoint', 'system.spool.overflow');
CREATE TABLE IF NOT EXISTS pending_drops (
  reason      TEXT    NOT NULL,
  epoch       TEXT    NOT NULL,
  from_seq    INTEGER NOT NULL,
  to_seq      INTEGER NOT NULL
);
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

/**
 * The row read as RawRow, payload joined by rowid; every read of rows uses it and appends
 * its WHERE/ORDER BY on the alias `e` (so the partial indexes of `events` still drive the
 * plan: `payloads` is only probed by rowid per row returned). An INNER JOIN: the invariant
 * above guarantees the payload, and a row without one cannot be published anyway.
 */
export const ROW_SELECT =
  'SELECT e.rowid AS rowid, e.epoch AS epoch, e.seq AS seq, e.family AS family, e.type AS type, e.severity AS severity, ' +
  'p.payload AS payload, e.accepted_at AS accepted_at, e.sent_at AS sent_at FROM events e JOIN payloads p ON p.rowid = e.rowid';

/**
 * The same rows from a v1 file (payload inline). Only read-only readers use it: a CLI run
 * between a package upgrade and the daemon's restart (which migrates) meets a v1 file.
 */
export const ROW_SELECT_V1 =
  'SELECT e.rowid AS rowid, e.epoch AS epoch, e.seq AS seq, e.family AS family, e.type AS type, e.severity AS severity, ' +
  'e.payload AS payload, e.accepted_at AS accepted_at, e.sent_at AS sent_at FROM events e';

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

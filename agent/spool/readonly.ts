// Read-only access for other processes (`gatewarden spool stats`, `events tail|list`)
// while the daemon writes. WAL gives each statement a consistent snapshot without
// blocking the writer; this connection never writes, never checkpoints, and never runs
// the integrity check or move-aside (only the daemon may decide a file is corrupt).
import Database from 'better-sqlite3';
import { META, ROW_SELECT, ROW_SELECT_V1, SCHEMA_VERSION, toSpoolRow, type RawRow } from './schema.js';
import { queryStats, readMeta } from './stats.js';
import type { SpoolRow, SpoolStats } from './types.js';

/** A stored row as the CLI shows it: the forwarder's view plus delivery time. */
export interface SpoolRecord extends SpoolRow {
  /** Wall ms of the PUBACK that marked it sent, null while unsent. */
  sentAt: number | null;
}

export interface ReadOnlySpool {
  readonly path: string;
  stats(now?: number): SpoolStats;
  /** The newest `limit` rows (optionally only unsent), returned oldest first. */
  readRecent(limit: number, opts?: { unsentOnly?: boolean }): SpoolRecord[];
  /** Rows with rowid > afterRowid in rowid order (for `events tail -f`). */
  readAfter(afterRowid: number, limit: number): SpoolRecord[];
  /** Highest rowid stored (0 when empty): where `events tail -f` starts. */
  maxRowid(): number;
  close(): void;
}

/**
 * Throws when the file does not exist (a reader never creates a spool) or was written by
 * a newer gatewarden. A v1 file (payload inline: the daemon has not restarted since the
 * upgrade, so has not migrated it) is read as it is. The layout is chosen once, at open:
 * a statement of a long-running reader fails after the daemon migrated the file, and
 * `events tail` (agent/cli/events.ts) then reopens it and goes on.
 */
export function openSpoolReadOnly(path: string): ReadOnlySpool {
  const db = new Database(path, { readonly: true, fileMustExist: true, timeout: 5000 });
  let version: number;
  try {
    db.prepare('SELECT 1 FROM events LIMIT 1').get();
    version = Number(readMeta(db, META.schemaVersion) ?? SCHEMA_VERSION);
  } catch (err) {
    db.close();
    throw new Error(`${path}: not a gatewarden spool (${(err as Error).message})`);
  }
  if (version > SCHEMA_VERSION) {
    db.close();
    throw new Error(`${path}: spool schema version ${version} is newer than this gatewarden supports (${SCHEMA_VERSION})`);
  }
  const select = version < 2 ? ROW_SELECT_V1 : ROW_SELECT;
  const recent = db.prepare<[number], RawRow>(`${select} ORDER BY e.rowid DESC LIMIT ?`);
  const recentUnsent = db.prepare<[number], RawRow>(`${select} WHERE e.sent_at IS NULL ORDER BY e.rowid DESC LIMIT ?`);
  const after = db.prepare<[number, number], RawRow>(`${select} WHERE e.rowid > ? ORDER BY e.rowid LIMIT ?`);
  const max = db.prepare<[], number | null>('SELECT max(rowid) FROM events').pluck();
  return {
    path,
    stats: (now = Date.now()) => queryStats(db, path, now),
    readRecent: (limit, opts = {}) => (opts.unsentOnly ? recentUnsent : recent).all(limit).reverse().map(toRecord),
    readAfter: (afterRowid, limit) => after.all(afterRowid, limit).map(toRecord),
    maxRowid: () => max.get() ?? 0,
    close: () => db.close(),
  };
}

function toRecord(r: RawRow): SpoolRecord {
  return { ...toSpoolRow(r), sentAt: r.sent_at };
}

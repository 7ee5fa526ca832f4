// Opening the spool file (docs/contracts.md §Spool: "startup runs an integrity check; a corrupt file is
// moved aside (never deleted) and a new epoch begins") and brings an older layout to
// SCHEMA_VERSION (v1 → v2: payloads split out of `events`). Everything here runs once
// per process start, before the chain is built from the recovered head.
import { chmodSync, existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { DDL, META, SCHEMA_VERSION } from './schema.js';
import type { SpoolOpenInfo } from './types.js';

/** Raised (and handled here) when the file fails `PRAGMA quick_check`. */
export class CorruptSpoolError extends Error {
  override readonly name = 'CorruptSpoolError';
}

/** Raised when the file was written by a newer gatewarden: refuse rather than guess. */
export class SpoolVersionError extends Error {
  override readonly name = 'SpoolVersionError';
}

export interface OpenDatabaseOptions {
  now: () => number;
  log?: Logger;
}

export interface OpenedDatabase {
  db: Database.Database;
  info: SpoolOpenInfo;
}

/**
 * Open (creating when missing) the writer connection: WAL so read-only readers (CLI)
 * run beside the daemon, synchronous=FULL so a returned COMMIT survives power loss
 * (accepted = committed, docs/contracts.md §Spool). A file that is not a database or fails quick_check
 * is renamed to `<path>.corrupt-<ISO time>` with its -wal/-shm and a fresh file created.
 * Other errors (permissions, a newer schema, busy, a failed migration) are thrown: they
 * are not corruption and moving the file aside would lose a healthy spool.
 */
export function openSpoolDatabase(path: string, o: OpenDatabaseOptions): OpenedDatabase {
  mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  let db: Database.Database | undefined;
  try {
    db = connect(path);
    configure(db, path);
    checkIntegrity(db);
    migrate(db, path, o);
    return { db, info: {} };
  } catch (err) {
    if (!isCorruption(err)) {
      closeQuietly(db);
      throw err;
    }
    // Rename while the connection is still open: closing first would let SQLite delete
    // the -wal/-shm it finds beside a file it cannot read, destroying what we keep.
    const movedAside = moveAside(path, o.now);
    closeQuietly(db);
    o.log?.error({ err, path, movedAside }, 'spool failed its integrity check: moved aside, starting a new spool');
    const fresh = connect(path);
    try {
      configure(fresh, path);
      migrate(fresh, path, o);
    } catch (err2) {
      closeQuietly(fresh);
      throw err2;
    }
    return { db: fresh, info: { movedAside, resetReason: 'corrupt' } };
  }
}

function connect(path: string): Database.Database {
  const created = !existsSync(path);
  // busy timeout: a CLI reader never blocks WAL writers, but a checkpoint racing another
  // connection can return SQLITE_BUSY briefly; 5 s is far above any legitimate wait.
  const db = new Database(path, { timeout: 5000 });
  if (created) chmodSync(path, 0o640);
  return db;
}

function configure(db: Database.Database, path: string): void {
  // The first statement reads the header: a non-database file fails here (NOTADB).
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (String(mode).toLowerCase() !== 'wal') throw new Error(`spool ${path}: journal_mode WAL refused (got ${String(mode)})`);
  db.pragma('synchronous = FULL');
  db.pragma('cache_size = -16384');
  db.pragma('temp_store = MEMORY');
  // Bounds the -wal file left after a checkpoint (a burst can grow it far past 1000 pages).
  db.pragma('journal_size_limit = 67108864');
}

function checkIntegrity(db: Database.Database): void {
  const rows = db.pragma('quick_check') as { quick_check: string }[];
  if (rows.length !== 1 || rows[0].quick_check !== 'ok') {
    const detail = rows.slice(0, 5).map((r) => r.quick_check).join('; ');
    throw new CorruptSpoolError(`quick_check failed: ${detail}`);
  }
}

/**
 * Bring the file to SCHEMA_VERSION in one IMMEDIATE transaction: version check, layout
 * and meta defaults, and — for a v1 file — the payload split. Reading the version inside
 * the write lock means a second process racing this one finds the work done, and a crash
 * or an error at any point (SQLITE_FULL: the v1 → v2 copy needs free disk for a WAL
 * about the size of the file) leaves the v1 file exactly as it was, to be migrated at
 * the next start.
 */
function migrate(db: Database.Database, path: string, o: OpenDatabaseOptions): void {
  const t0 = performance.now();
  const migrated = db.transaction((): number | null => {
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
    if (hasMeta) {
      const row = db.prepare('SELECT v FROM meta WHERE k = ?').get(META.schemaVersion) as { v: string } | undefined;
      const v = row ? Number(row.v) : SCHEMA_VERSION;
      if (v > SCHEMA_VERSION) {
        throw new SpoolVersionError(`spool schema version ${v} is newer than this gatewarden supports (${SCHEMA_VERSION}); upgrade gatewarden or move the spool aside`);
      }
    }
    // The layout, not the version number, decides: a payload column in `events` is v1.
    const v1 = db.prepare("SELECT 1 FROM pragma_table_info('events') WHERE name = 'payload'").get() !== undefined;
    const rows = v1 ? splitPayloadsV1(db) : null;
    db.exec(DDL);
    const put = db.prepare('INSERT OR IGNORE INTO meta(k, v) VALUES (?, ?)');
    put.run(META.schemaVersion, String(SCHEMA_VERSION));
    put.run(META.createdAt, new Date(o.now()).toISOString());
    put.run(META.droppedEvents, '0');
    put.run(META.sentTotal, '0');
    put.run(META.rowidHw, '0');
    db.prepare('UPDATE meta SET v = ? WHERE k = ?').run(String(SCHEMA_VERSION), META.schemaVersion);
    return rows;
  }).immediate();
  if (migrated !== null) {
    o.log?.info({ path, from: 1, to: SCHEMA_VERSION, rows: migrated, ms: Math.round(performance.now() - t0) }, 'spool migrated: payloads split out of events');
  }
}

/** Rows per step of the v1 → v2 copy: ~3 MB of payloads at the ~1.4 KB typical. */
const MIGRATE_CHUNK = 2000;

/**
 * v1 → v2, inside migrate's transaction. Rebuilds rather than `ALTER TABLE … DROP
 * COLUMN payload`: DROP COLUMN rewrites every v1 page after the payloads were copied,
 * so the WAL held ≈ 2× the file and the file itself doubled (the old pages left as free
 * pages), measured 393 MiB of WAL and a 201 → 397 MiB file for 100k rows. Here the v1
 * table is renamed aside without its indexes, and chunk by chunk its rows are copied
 * (metadata into `events`, payloads into `payloads`) and deleted, so the next chunk
 * reuses the freed pages: WAL ≈ 1× the file, the file grows by about one chunk
 * (measured 208 MiB of WAL, 201 → 207 MiB, and half the time). Rowids, sent marks and
 * `bytes` are copied as they are (ROW_OVERHEAD_BYTES is the same in both layouts, so the
 * quota total does not move); meta (head, rowid high-water, counters, the forwarder's
 * keys) is not touched. Returns the number of rows migrated.
 */
function splitPayloadsV1(db: Database.Database): number {
  for (const ix of ['events_unsent', 'events_evict', 'events_sent', 'events_seq']) db.exec(`DROP INDEX IF EXISTS ${ix}`);
  db.exec('ALTER TABLE events RENAME TO events_v1');
  db.exec(DDL);
  const upTo = db.prepare<[number], number | null>('SELECT max(rowid) FROM (SELECT rowid FROM events_v1 ORDER BY rowid LIMIT ?)').pluck();
  const copyEvents = db.prepare<[number]>(
    'INSERT INTO events(rowid, epoch, seq, type, family, severity, evidence, accepted_at, bytes, sent_at) ' +
      'SELECT rowid, epoch, seq, type, family, severity, evidence, accepted_at, bytes, sent_at FROM events_v1 WHERE rowid <= ? ORDER BY rowid',
  );
  const copyPayloads = db.prepare<[number]>('INSERT INTO payloads(rowid, payload) SELECT rowid, payload FROM events_v1 WHERE rowid <= ? ORDER BY rowid');
  const drop = db.prepare<[number]>('DELETE FROM events_v1 WHERE rowid <= ?');
  let rows = 0;
  for (let hi = upTo.get(MIGRATE_CHUNK); hi !== null && hi !== undefined; hi = upTo.get(MIGRATE_CHUNK)) {
    rows += copyEvents.run(hi).changes;
    copyPayloads.run(hi);
    drop.run(hi);
  }
  db.exec('DROP TABLE events_v1');
  return rows;
}

function isCorruption(err: unknown): boolean {
  if (err instanceof CorruptSpoolError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB'));
}

/** Rename the file and its WAL companions; never delete (evidence for a post-mortem). */
function moveAside(path: string, now: () => number): string {
  const stamp = new Date(now()).toISOString();
  let target = `${path}.corrupt-${stamp}`;
  for (let n = 1; existsSync(target); n++) target = `${path}.corrupt-${stamp}.${n}`;
  renameSync(path, target);
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(path + suffix)) renameSync(path + suffix, target + suffix);
  }
  return target;
}

function closeQuietly(db: Database.Database | undefined): void {
  try {
    db?.close();
  } catch {
    // Closing a connection to a damaged file can fail; the file is handled by the caller.
  }
}

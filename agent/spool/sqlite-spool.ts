// The SQLite outbox (docs/contracts.md §Spool): the one writer connection of the daemon. Every public
// method is synchronous (better-sqlite3); a method that writes does so in exactly one
// transaction, and in-memory mirrors (head, byte total, counters, rowid high-water) are
// updated only after that transaction committed, so a throwing append leaves both the
// file and this object as they were and the caller can retry the same batch.
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { ChainHead, SealedEvent } from '../chain/chain.js';
import { isEvidence, severityRank } from '../events/types.js';
import {
  COMPACTABLE_SQL, DECLARATION_HEADROOM, DECLARATION_SHARE, EVICTABLE_SQL, consolidationDue, declarationBytes, dropRanges, evictForQuota, isCompactable, isDeclaration,
  mergeRanges, readRanges, type Consolidate, type DroppedRow, type EvictStatements,
} from './evict.js';
import { openSpoolDatabase } from './open.js';
import { PendingDropsTable } from './pending-drops.js';
import { EffectiveQuota, type SpaceOptions } from './space.js';
import { LogThrottle } from '../log-throttle.js';
import { META, RESERVED_META_KEYS, ROW_SELECT, rowBytes, toSpoolRow, type RawRow } from './schema.js';
import { fileSize, parseHead, queryStats, readMeta } from './stats.js';
import type { AppendResult, DroppedRange, PendingDrops, Spool, SpoolOpenInfo, SpoolRow, SpoolStats } from './types.js';

// The read-only side lives in readonly.ts; re-exported so callers need one import path.
export { openSpoolReadOnly, type ReadOnlySpool, type SpoolRecord } from './readonly.js';
export { ROW_OVERHEAD_BYTES, rowBytes } from './schema.js';

export interface SqliteSpoolOptions {
  path: string;
  /** Logical byte quota (payload + ROW_OVERHEAD_BYTES per row), config `spool.quotaBytes`. */
  quotaBytes: number;
  /** Sent rows older than this are removed by prune(), config `spool.retentionHours`. */
  retentionHours: number;
  log?: Logger;
  /** Wall clock for accepted_at / sent_at / ages (ms). */
  now?: () => number;
  /** Keep the quota within the spool's filesystem (agent/spool/space.ts); absent = spool.quotaBytes only. */
  space?: SpaceOptions;
}

/** Rows per prune transaction: keeps each write short so appends are not held up long. */
const PRUNE_CHUNK = 5000;

interface AppendOutcome {
  bytes: number;
  hw: number;
  head: ChainHead;
  evictedSent: number;
  /** Unsent rows that left (the batch's own skipped events included). */
  droppedRows: number;
  /** What must be declared: the rows above plus ranges of evicted overflow records. */
  dropped: DroppedRange[];
  /** Upper bound of the bytes of unsent checkpoints and overflow records. */
  declBound: number;
  /** Nothing evictable was left and declarations hold the spool over its quota. */
  overQuota: boolean;
  /** A consolidation ran: declarationBytes of the set it left owed (else null). */
  union: number | null;
}

export function openSqliteSpool(opts: SqliteSpoolOptions): { spool: SqliteSpool; info: SpoolOpenInfo } {
  if (!(opts.quotaBytes > 0)) throw new Error(`spool quotaBytes must be > 0 (got ${opts.quotaBytes})`);
  const now = opts.now ?? Date.now;
  const { db, info } = openSpoolDatabase(opts.path, { now, log: opts.log });
  let spool: SqliteSpool;
  try {
    spool = new SqliteSpool(db, { ...opts, now });
  } catch (err) {
    db.close();
    throw err;
  }
  if (!info.resetReason && spool.head() === null) info.resetReason = 'fresh';
  try {
    // Read before removeOrphans adds its own (returned as lostPayloads).
    const pending = spool.pendingDrops();
    if (pending.length > 0) info.pendingDrops = pending;
    const lost = spool.removeOrphans();
    if (lost.length > 0) info.lostPayloads = lost;
  } catch (err) {
    spool.close();
    throw err;
  }
  return { spool, info };
}

export class SqliteSpool implements Spool {
  readonly path: string;
  private readonly quota: number;
  private readonly retentionMs: number;
  private readonly now: () => number;
  private readonly log: Logger | undefined;
  /** Eviction under sustained pressure happens at every commit: log once, then counted (docs/architecture.md). */
  private readonly quiet = new LogThrottle();

  private h: ChainHead | null;
  private bytes: number;
  private hw: number;
  private droppedEvents: number;
  private sentTotal: number;
  /** Upper bound of unsent checkpoint + overflow bytes (re-measured when it exceeds their share). */
  private declBound: number;
  /** declarationBytes of what the last consolidation left owed (0 after open): consolidationDue. */
  private lastUnion = 0;
  private overQuotaLogged = false;
  private closed = false;
  /** The quota the filesystem allows (null: the configured quota only). */
  private readonly space: EffectiveQuota | null;
  private readonly pageSize: number;
  /** Bytes the WAL reaches before an automatic checkpoint lets it restart (wal_autocheckpoint pages + frame headers). */
  private readonly walCap: number;

  private readonly s: {
    insert: Database.Statement<[number, string, number, string, string, number, number, number, number]>;
    insertPayload: Database.Statement<[number, string]>;
    putMeta: Database.Statement<[string, string]>;
    getMeta: Database.Statement<[string], string>;
    readUnsent: Database.Statement<[number, number], RawRow>;
    readRange: Database.Statement<[string, number, number], RawRow>;
    markOne: Database.Statement<[number, number]>;
    markRange: Database.Statement<[number, number, number]>;
    prune: Database.Statement<[number, number], number>;
    maxRowid: Database.Statement<[], number | null>;
    syncNormal: Database.Statement<[]>;
    syncFull: Database.Statement<[]>;
    declBytes: Database.Statement<[], number>;
    freelist: Database.Statement<[], number>;
  };
  private readonly evict: EvictStatements;
  /** Owed declarations (pending_drops), written and settled inside the spool's transactions. */
  private readonly owed: PendingDropsTable;
  private readonly appendTx: (events: readonly SealedEvent[], sizes: Int32Array, batchBytes: number, at: number, quota: number) => AppendOutcome;
  private readonly markTx: (rowids: readonly number[], at: number) => number;
  private readonly pruneTx: (cutoff: number) => { rows: number; bytes: number };

  /** Use openSqliteSpool(); the connection must come from openSpoolDatabase(). */
  constructor(
    private readonly db: Database.Database,
    o: SqliteSpoolOptions & { now: () => number },
  ) {
    this.path = o.path;
    this.quota = o.quotaBytes;
    this.retentionMs = Math.max(0, o.retentionHours) * 3_600_000;
    this.now = o.now;
    this.log = o.log;

    this.s = {
      insert: db.prepare('INSERT INTO events(rowid, epoch, seq, type, family, severity, evidence, accepted_at, bytes) VALUES (?,?,?,?,?,?,?,?,?)'),
      // Plain INSERT: a payload already stored under a fresh rowid breaks the layout's
      // invariant (schema.ts), and failing the batch beats publishing the wrong bytes.
      insertPayload: db.prepare('INSERT INTO payloads(rowid, payload) VALUES (?, ?)'),
      putMeta: db.prepare('INSERT INTO meta(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v'),
      getMeta: db.prepare<[string], string>('SELECT v FROM meta WHERE k = ?').pluck(),
      readUnsent: db.prepare(`${ROW_SELECT} WHERE e.sent_at IS NULL AND e.rowid > ? ORDER BY e.rowid LIMIT ?`),
      readRange: db.prepare(`${ROW_SELECT} WHERE e.epoch = ? AND e.seq >= ? ORDER BY e.seq LIMIT ?`),
      // Touch `events` only (schema.ts: the reason payloads live apart).
      markOne: db.prepare('UPDATE events SET sent_at = ? WHERE rowid = ? AND sent_at IS NULL'),
      markRange: db.prepare('UPDATE events SET sent_at = ? WHERE rowid BETWEEN ? AND ? AND sent_at IS NULL'),
      // Deletes here and in evict go through `events` only: the trigger
      // events_delete_payload (schema.ts) removes the payload in the same statement.
      prune: db
        .prepare<[number, number], number>(
          'DELETE FROM events WHERE rowid IN (SELECT rowid FROM events WHERE sent_at IS NOT NULL AND sent_at < ? ORDER BY sent_at, rowid LIMIT ?) RETURNING bytes',
        )
        .pluck(),
      maxRowid: db.prepare<[], number | null>('SELECT max(rowid) FROM events').pluck(),
      syncNormal: db.prepare<[]>('PRAGMA synchronous = NORMAL'),
      syncFull: db.prepare<[]>('PRAGMA synchronous = FULL'),
      // INDEXED BY: the partial index events_decl (schema.ts) visits declarations only;
      // if its WHERE and COMPACTABLE_SQL ever diverge, preparing fails at open, loudly.
      declBytes: db.prepare<[], number>(`SELECT coalesce(sum(bytes), 0) FROM events INDEXED BY events_decl WHERE sent_at IS NULL AND ${COMPACTABLE_SQL}`).pluck(),
      freelist: db.prepare<[], number>('PRAGMA freelist_count').pluck(),
    };
    this.pageSize = Number(db.pragma('page_size', { simple: true }));
    this.walCap = Number(db.pragma('wal_autocheckpoint', { simple: true })) * (this.pageSize + 24) + 32;
    this.space = o.space ? new EffectiveQuota(this.quota, o.space) : null;
    this.owed = new PendingDropsTable(db);
    this.evict = {
      oldestSent: db.prepare('SELECT rowid, bytes FROM events WHERE sent_at IS NOT NULL ORDER BY sent_at, rowid LIMIT ?'),
      nextUnsent: db.prepare(`SELECT rowid, epoch, seq, bytes FROM events WHERE sent_at IS NULL AND ${EVICTABLE_SQL} ORDER BY evidence, severity, rowid LIMIT ?`),
      nextCompactable: db.prepare(
        `SELECT e.rowid AS rowid, e.epoch AS epoch, e.seq AS seq, e.bytes AS bytes, e.type AS type, p.payload AS payload FROM events e INDEXED BY events_decl JOIN payloads p ON p.rowid = e.rowid WHERE e.sent_at IS NULL AND e.${COMPACTABLE_SQL} ORDER BY e.rowid LIMIT ?`,
      ),
      deleteRow: db.prepare('DELETE FROM events WHERE rowid = ?'),
    };

    // Recover the committed state. The byte total is summed once here and then kept in
    // memory: the hot path never runs SUM.
    this.h = parseHead(readMeta(db, META.head));
    this.bytes = (db.prepare('SELECT coalesce(sum(bytes), 0) FROM events').pluck().get() as number) ?? 0;
    this.hw = Math.max(Number(readMeta(db, META.rowidHw) ?? 0), this.s.maxRowid.get() ?? 0);
    this.droppedEvents = Number(readMeta(db, META.droppedEvents) ?? 0);
    this.sentTotal = Number(readMeta(db, META.sentTotal) ?? 0);
    this.declBound = this.s.declBytes.get() ?? 0;
    if (readMeta(db, META.quotaBytes) !== String(this.quota)) this.s.putMeta.run(META.quotaBytes, String(this.quota));

    this.appendTx = db.transaction(this.appendInTx.bind(this)).immediate;
    this.markTx = db.transaction(this.markInTx.bind(this)).immediate;
    this.pruneTx = db.transaction(this.pruneInTx.bind(this)).immediate;
  }

  /**
   * Events whose payload row is gone (schema v2's invariant broken from outside: a hand
   * edit, a restore of one table, a bug). quick_check cannot see it, and the forwarder's
   * join would skip such rows silently: an accepted event lost without a trace. Called
   * once at open: the metadata rows are removed, unsent ones counted as dropped and
   * returned as exact seq ranges for a signed `system.spool.overflow` (reason
   * `payload-missing`); sent ones were delivered already and just leave.
   */
  removeOrphans(): DroppedRange[] {
    this.assertOpen();
    const orphans = this.db
      .prepare('SELECT rowid, epoch, seq, bytes, sent_at IS NOT NULL AS sent FROM events e WHERE NOT EXISTS (SELECT 1 FROM payloads p WHERE p.rowid = e.rowid) ORDER BY rowid')
      .all() as Array<DroppedRow & { bytes: number; sent: number }>;
    if (orphans.length === 0) return [];
    const lost = orphans.filter((o) => !o.sent);
    const ranges = mergeRanges(lost);
    const del = this.db.prepare('DELETE FROM events WHERE rowid = ?');
    this.db.transaction(() => {
      for (const o of orphans) del.run(o.rowid);
      if (lost.length > 0) this.s.putMeta.run(META.droppedEvents, String(this.droppedEvents + lost.length));
      // Durable until the overflow record declaring them commits (survives a kill -9).
      this.owed.add('payload-missing', ranges);
    }).immediate();
    this.bytes -= orphans.reduce((n, o) => n + o.bytes, 0);
    this.declBound = this.s.declBytes.get() ?? 0;
    this.droppedEvents += lost.length;
    this.log?.error({ path: this.path, lost: ranges, unsent: lost.length, sent: orphans.length - lost.length }, 'spool: events without their payload row removed; the unsent ones are lost and will be declared');
    return ranges;
  }

  append(events: SealedEvent[]): AppendResult {
    this.assertOpen();
    if (events.length === 0) return { dropped: [], evictedSent: 0 };
    const sizes = new Int32Array(events.length);
    let batchBytes = 0;
    for (let i = 0; i < events.length; i++) {
      sizes[i] = rowBytes(events[i].payload);
      batchBytes += sizes[i];
    }
    const at = this.now();
    const quota = this.space === null ? this.quota : this.effectiveQuota(at);
    let out: AppendOutcome;
    try {
      out = this.appendTx(events, sizes, batchBytes, at, quota);
    } catch (err) {
      // A write failed (often: the filesystem is full): the retry re-reads the free space.
      this.space?.invalidate();
      throw err;
    }
    // Committed: only now does memory follow the file.
    this.bytes = out.bytes;
    this.hw = out.hw;
    this.h = out.head;
    this.declBound = out.declBound;
    if (out.union !== null) this.lastUnion = out.union;
    this.droppedEvents += out.droppedRows;
    const dropped = out.dropped;
    if (dropped.length > 0) {
      const fields = { dropped: dropped.slice(0, 20), rangeCount: dropped.length, droppedEvents: out.droppedRows, evictedSent: out.evictedSent, quotaBytes: this.quota, effectiveQuotaBytes: quota };
      if (this.log) this.quiet.log(this.log, 'warn', 'evict unsent', fields, 'spool over quota: unsent events dropped', ['rangeCount', 'droppedEvents', 'evictedSent']);
    } else if (out.evictedSent > 0) {
      // Sent rows leaving early is routine once the spool is full: not a loss.
      this.log?.debug({ evictedSent: out.evictedSent, quotaBytes: this.quota, effectiveQuotaBytes: quota }, 'spool over quota: sent rows evicted early');
    }
    if (out.overQuota && !this.overQuotaLogged) {
      this.log?.error({ bytes: out.bytes, quotaBytes: this.quota, effectiveQuotaBytes: quota }, quota < this.quota
        ? 'spool over its effective quota (the free space of its filesystem) with nothing evictable left: epoch announcements and declarations are kept over it; free space on the filesystem'
        : 'spool over quota with nothing evictable left: epoch announcements and declarations are kept over the quota; raise spool.quotaBytes');
    }
    this.overQuotaLogged = out.overQuota;
    return { dropped, evictedSent: out.evictedSent };
  }

  /** The quota now (agent/spool/space.ts), re-read at most once per interval; logs when the filesystem starts or stops setting it. */
  private effectiveQuota(now: number): number {
    const space = this.space!;
    if (!space.due(now)) return space.current.effective;
    const was = space.current.limited;
    // Free pages are room for the file; the WAL's growth up to its checkpoint size is not.
    const inFiles = (): number => (this.s.freelist.get() ?? 0) * this.pageSize - Math.max(0, this.walCap - fileSize(`${this.path}-wal`));
    const r = space.read(now, this.bytes, inFiles);
    if (r.limited && !was && this.log) {
      this.quiet.log(this.log, 'warn', 'quota limited', { effectiveQuotaBytes: r.effective, quotaBytes: this.quota, freeBytes: r.freeBytes, marginBytes: space.margin, path: this.path }, 'spool quota limited by the free space of its filesystem: evicting early (free space there or lower spool.quotaBytes)');
    } else if (!r.limited && was) {
      this.quiet.resolved('quota limited');
      this.log?.info({ quotaBytes: this.quota, freeBytes: r.freeBytes }, 'spool quota back to spool.quotaBytes: the filesystem has room again');
    }
    return r.effective;
  }

  /**
   * Drops that no committed overflow record declares yet, by reason: what a kill -9
   * left between an eviction and its declaration. Announced again at start.
   */
  pendingDrops(): PendingDrops[] {
    this.assertOpen();
    return this.owed.all();
  }

  private appendInTx(events: readonly SealedEvent[], sizes: Int32Array, batchBytes: number, at: number, quota: number): AppendOutcome {
    let bytes = this.bytes;
    let declBound = this.declBound;
    let batchDecl = 0;
    let declOnly = true;
    for (let i = 0; i < events.length; i++) {
      const b = events[i].body;
      if (!isDeclaration(b.type)) declOnly = false;
      if (!isCompactable(b.type)) continue;
      batchDecl += sizes[i];
      if (b.type === 'system.spool.overflow') this.owed.settle(readRanges(b.data.dropped));
    }
    let evictedSent = 0;
    let dropped: DroppedRow[] = [];
    let redeclared: DroppedRange[] = [];
    let consolidated = false;
    // A batch of declarations only may use the headroom above the quota instead of
    // evicting: otherwise declaring a drop would itself drop (and owe) another event, and
    // the announcements at shutdown would never catch up. The next ordinary append evicts
    // back down to the quota.
    const limit = declOnly ? quota * (1 + DECLARATION_HEADROOM) : quota;
    const over = bytes + batchBytes - limit;
    if (over > 0) {
      // Declarations past their share are consolidated first (all of them, re-declared as
      // one merged set), so under sustained pressure they cannot crowd out the events
      // themselves; only when that at least halves them (consolidationDue), so it never churns.
      let mode: Consolidate = declBound > 2 * this.lastUnion ? 'if-needed' : 'never';
      if (declBound + batchDecl > quota * DECLARATION_SHARE) {
        declBound = this.s.declBytes.get() ?? 0;
        mode = consolidationDue(declBound + batchDecl, declBound, quota, this.lastUnion) ? 'first' : declBound > 2 * this.lastUnion ? 'if-needed' : 'never';
      }
      const ev = evictForQuota(this.evict, over, mode);
      bytes -= ev.freed;
      declBound -= ev.declFreed;
      evictedSent = ev.evictedSent;
      dropped = ev.dropped;
      redeclared = ev.redeclared;
      consolidated = ev.consolidated;
    }
    // Nothing else is left and the batch alone is over quota: its oldest events go
    // (still reported), except declarations and chain events, which are stored even over
    // the quota (logged). Unused rowids stay unused so storage order stays comparable.
    let skip: Uint8Array | null = null;
    let kept = batchBytes;
    for (let i = 0; i < events.length && bytes + kept > limit; i++) {
      const b = events[i].body;
      if (isDeclaration(b.type)) continue;
      (skip ??= new Uint8Array(events.length))[i] = 1;
      dropped.push({ rowid: this.hw + 1 + i, epoch: b.epoch, seq: b.seq });
      kept -= sizes[i];
    }
    const { insert, insertPayload } = this.s;
    for (let i = 0; i < events.length; i++) {
      if (skip !== null && skip[i] === 1) continue;
      const e = events[i];
      const b = e.body;
      const rowid = this.hw + 1 + i;
      insert.run(rowid, b.epoch, b.seq, b.type, e.family, severityRank(b.severity), isEvidence(b.type) ? 1 : 0, at, sizes[i]);
      insertPayload.run(rowid, e.payload);
    }
    const last = events[events.length - 1];
    const head: ChainHead = { epoch: last.body.epoch, seq: last.body.seq, hash: last.hash };
    const hw = this.hw + events.length;
    this.s.putMeta.run(META.head, JSON.stringify(head));
    this.s.putMeta.run(META.rowidHw, String(hw));
    if (consolidated) {
      // One cumulative set: what the removed records declared, their own seqs, the rows
      // dropped now and every quota drop still owed, merged into the fewest runs; it
      // replaces the owed rows and is declared anew (the pipeline merges it with the
      // pieces it holds, so nothing is declared twice by its own hand).
      redeclared.push(...this.owed.takeQuota());
    }
    const ranges = dropRanges(dropped, redeclared);
    if (dropped.length > 0) this.s.putMeta.run(META.droppedEvents, String(this.droppedEvents + dropped.length));
    // The declaration is owed from this commit on: durable with the eviction itself.
    this.owed.add('quota', ranges);
    return {
      bytes: bytes + kept, hw, head, evictedSent, droppedRows: dropped.length, dropped: ranges, declBound: declBound + batchDecl,
      overQuota: bytes + kept > limit, union: consolidated ? declarationBytes(ranges) : null,
    };
  }

  head(): ChainHead | null {
    return this.h ? { ...this.h } : null;
  }

  readUnsent(afterRowid: number, limit: number): SpoolRow[] {
    this.assertOpen();
    return this.s.readUnsent.all(afterRowid, limit).map(toSpoolRow);
  }

  markSent(rowids: readonly number[]): void {
    this.assertOpen();
    if (rowids.length === 0) return;
    // A sent mark needs no fsync of its own: if power fails before the next FULL commit
    // syncs the WAL (which carries this commit's frames too), the rows are sent again — a
    // duplicate, which QoS 1 allows — never lost. Accepted events (append) stay FULL.
    // On an SD card this halves the fsyncs at live rates, where each PUBACK batch would
    // otherwise cost one as large as the event batch's.
    this.s.syncNormal.run();
    try {
      this.sentTotal += this.markTx(rowids, this.now());
    } finally {
      this.s.syncFull.run();
    }
  }

  /** Contiguous rowid runs become one range UPDATE: acks arrive mostly in order. */
  private markInTx(rowids: readonly number[], at: number): number {
    const ids = Float64Array.from(rowids).sort();
    let changed = 0;
    let i = 0;
    while (i < ids.length) {
      const lo = ids[i];
      let hi = lo;
      i++;
      while (i < ids.length && (ids[i] === hi + 1 || ids[i] === hi)) hi = ids[i++];
      changed += (lo === hi ? this.s.markOne.run(at, lo) : this.s.markRange.run(at, lo, hi)).changes;
    }
    if (changed > 0) this.s.putMeta.run(META.sentTotal, String(this.sentTotal + changed));
    return changed;
  }

  maxRowid(): number {
    this.assertOpen();
    return this.s.maxRowid.get() ?? 0;
  }

  readRange(epoch: string, fromSeq: number, limit: number): SpoolRow[] {
    this.assertOpen();
    return this.s.readRange.all(epoch, fromSeq, limit).map(toSpoolRow);
  }

  /**
   * Rows of one type (sent or not), oldest first, e.g. the overflow records a `spool.replay`
   * answer cites (agent/commands/replay.ts). A scan of `events`: for rare commands only.
   */
  readByType(type: string, limit: number): SpoolRow[] {
    this.assertOpen();
    return (this.db.prepare(`${ROW_SELECT} WHERE e.type = ? ORDER BY e.rowid LIMIT ?`).all(type, limit) as RawRow[]).map(toSpoolRow);
  }

  prune(now: number = this.now()): number {
    this.assertOpen();
    const cutoff = now - this.retentionMs;
    let total = 0;
    for (;;) {
      const r = this.pruneTx(cutoff);
      this.bytes -= r.bytes;
      total += r.rows;
      if (r.rows < PRUNE_CHUNK) break;
    }
    return total;
  }

  private pruneInTx(cutoff: number): { rows: number; bytes: number } {
    const freed = this.s.prune.all(cutoff, PRUNE_CHUNK);
    let bytes = 0;
    for (const b of freed) bytes += b;
    return { rows: freed.length, bytes };
  }

  stats(now: number = this.now()): SpoolStats {
    this.assertOpen();
    return queryStats(this.db, this.path, now, {
      head: this.head(),
      bytes: this.bytes,
      quotaBytes: this.quota,
      droppedEvents: this.droppedEvents,
      sentTotal: this.sentTotal,
      ...(this.space?.current.limited ? { effectiveQuotaBytes: this.space.current.effective } : {}),
    });
  }

  getMeta(key: string): string | undefined {
    this.assertOpen();
    return this.s.getMeta.get(key);
  }

  /** Free-form keys for other parts (e.g. the forwarder's bdSeq); the spool's own are refused. */
  setMeta(key: string, value: string): void {
    this.assertOpen();
    if (RESERVED_META_KEYS.has(key)) throw new Error(`spool meta key "${key}" is owned by the spool`);
    this.s.putMeta.run(key, value);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`spool ${this.path} is closed`);
  }
}

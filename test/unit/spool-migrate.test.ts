// The spool's on-disk layout v2 (agent/spool/schema.ts: payloads split out of `events`)
// and the v1 → v2 migration at open (agent/spool/open.ts), on real SQLite files:
//  - a v1 file built with the exact v1 DDL opens as v2 with every row, payload, sent
//    mark and meta value intact, and the forwarder-facing reads unchanged;
//  - a newer file is refused, a failing migration leaves the v1 file as it was;
//  - every delete path leaves no orphan payload;
//  - markSent writes no page of `payloads` (checked on the WAL's frames).
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { pino, type Logger } from 'pino';
import type { Chain, ChainHead, SealedEvent } from '../../agent/chain/chain.js';
import { isEvidence, severityRank, type Severity } from '../../agent/events/types.js';
import { SpoolVersionError } from '../../agent/spool/open.js';
import { toSpoolRow, type RawRow } from '../../agent/spool/schema.js';
import { openSpoolReadOnly, openSqliteSpool, rowBytes, type SqliteSpool } from '../../agent/spool/sqlite-spool.js';
import type { SpoolRow } from '../../agent/spool/types.js';
import { sealMany, tempDir, testChain, testKeys } from '../helpers/chain.js';
import { V1_DDL } from '../helpers/spool-v1.js';

const KEYS_DIR = tempDir('gw-spool-mig-keys-');
const KEYS = testKeys(KEYS_DIR);
after(() => rmSync(KEYS_DIR, { recursive: true, force: true }));
const newChain = (head: ChainHead | null = null): Chain => testChain({ keys: KEYS, head });

/** v1's row columns and per-row quota overhead. */
const V1_ROW_COLUMNS = 'rowid, epoch, seq, family, type, severity, payload, accepted_at, sent_at';
const V1_OVERHEAD = 128;
const QUOTA = 50_000_000;

/** Every stored fact of every row, in rowid order, from either layout. */
const DUMP_V1 = 'SELECT rowid, epoch, seq, type, family, severity, evidence, accepted_at, bytes, sent_at, payload FROM events ORDER BY rowid';
const DUMP_V2 =
  'SELECT e.rowid AS rowid, epoch, seq, type, family, severity, evidence, accepted_at, bytes, sent_at, payload FROM events e JOIN payloads p ON p.rowid = e.rowid ORDER BY e.rowid';
const ORPHANS = 'SELECT count(*) FROM payloads WHERE rowid NOT IN (SELECT rowid FROM events)';
const MISSING = 'SELECT count(*) FROM events WHERE rowid NOT IN (SELECT rowid FROM payloads)';

function scratch(t: TestContext): string {
  const dir = tempDir('gw-spool-mig-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A connection of the test's own beside the spool's; closed after the test. */
function raw(t: TestContext, path: string, readonly = false): Database.Database {
  const db = new Database(path, { readonly, fileMustExist: true, timeout: 5000 });
  t.after(() => db.close());
  return db;
}

function seal(chain: Chain, type: string, severity: Severity, data: Record<string, string | number> = {}): SealedEvent {
  return chain.seal({ driver: 'test', device: 'dev-1', type, severity, data });
}

interface V1Fixture {
  rows: number;
  head: ChainHead;
  hw: number;
  epochs: [string, string];
  sentTotal: number;
}

/**
 * A v1 spool as the v1 writer left it: two epochs (the first with its oldest rows pruned),
 * sent and unsent rows, evidence and not, a non-ASCII payload, a rowid high-water above
 * max(rowid), counters and a forwarder key in meta.
 */
function buildV1(path: string): V1Fixture {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(V1_DDL);
  const chainA = newChain();
  const a = sealMany(chainA, 12);
  const chainB = newChain();
  const b = [chainB.newEpoch('key-rotated', chainA.head)];
  const plan: [string, Severity][] = [
    ['access.card.read', 'info'],
    ['sensor.value.reading', 'debug'],
    ['video.motion.start', 'notice'],
    ['sensor.threshold.alarm', 'alarm'],
  ];
  for (let i = 0; i < 16; i++) {
    const [ty, sev] = plan[i % plan.length];
    b.push(seal(chainB, ty, sev, { i, label: i === 3 ? 'Tür Ost — café ✓ 🚪' : `n${i}` }));
  }
  const stored = [...a.slice(4), ...b]; // epoch A seq 1–4 pruned long ago
  const ins = db.prepare(
    'INSERT INTO events(rowid, epoch, seq, type, family, severity, evidence, accepted_at, bytes, payload, sent_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)',
  );
  const firstRowid = 101;
  let sent = 0;
  db.transaction(() => {
    stored.forEach((e, i) => {
      const bd = e.body;
      // Epoch A all sent; epoch B: seq 1–6 sent (out of order), the rest unsent but seq 9.
      const sentAt = bd.epoch === a[0].body.epoch ? 7_000 + i : bd.seq <= 6 ? 9_000 - bd.seq : bd.seq === 9 ? 9_500 : null;
      if (sentAt !== null) sent++;
      const bytes = Buffer.byteLength(e.payload, 'utf8') + V1_OVERHEAD;
      ins.run(firstRowid + i, bd.epoch, bd.seq, bd.type, e.family, severityRank(bd.severity), isEvidence(bd.type) ? 1 : 0, 5_000 + i, bytes, e.payload, sentAt);
    });
    const hw = firstRowid + stored.length - 1 + 3; // the last batch had 3 events trimmed by the quota
    const meta: [string, string][] = [
      ['schema_version', '1'],
      ['created_at', '2025-01-02T03:04:05.006Z'],
      ['dropped_events', '3'],
      ['sent_total', String(sent + 4)],
      ['rowid_hw', String(hw)],
      ['quota_bytes', String(QUOTA)],
      ['head', JSON.stringify(chainB.head)],
      ['forward.bdSeq', '17'],
    ];
    for (const [k, v] of meta) db.prepare('INSERT INTO meta(k, v) VALUES (?, ?)').run(k, v);
  })();
  db.close();
  return { rows: stored.length, head: chainB.head, hw: firstRowid + stored.length - 1 + 3, epochs: [a[0].body.epoch, b[0].body.epoch], sentTotal: sent + 4 };
}

/** The forwarder-facing reads exactly as v1's SqliteSpool ran them. */
function v1Reads(db: Database.Database, epochs: readonly string[]) {
  const unsent = db.prepare<[number, number], RawRow>(`SELECT ${V1_ROW_COLUMNS} FROM events WHERE sent_at IS NULL AND rowid > ? ORDER BY rowid LIMIT ?`);
  const range = db.prepare<[string, number, number], RawRow>(`SELECT ${V1_ROW_COLUMNS} FROM events WHERE epoch = ? AND seq >= ? ORDER BY seq LIMIT ?`);
  return {
    unsent: unsent.all(0, 1000).map(toSpoolRow),
    range: epochs.map((ep) => range.all(ep, 1, 1000).map(toSpoolRow)),
    range3: range.all(epochs[1], 3, 5).map(toSpoolRow),
  };
}

function capture(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

const count = (db: Database.Database, sql: string): number => db.prepare(sql).pluck().get() as number;
const columns = (db: Database.Database, table: string): string[] => (db.prepare(`SELECT name FROM pragma_table_info('${table}')`).pluck().all() as string[]);

describe('spool schema v1 → v2 migration', () => {
  test('a v1 file opens as v2: every row, payload, sent mark, meta and the head intact; reads identical', (t) => {
    const dir = scratch(t);
    const path = join(dir, 'spool.db');
    const fx = buildV1(path);

    const v1db = raw(t, path);
    const dumpBefore = v1db.prepare(DUMP_V1).all();
    const metaBefore = v1db.prepare('SELECT k, v FROM meta ORDER BY k').all() as { k: string; v: string }[];
    const before = v1Reads(v1db, fx.epochs);
    assert.equal(before.unsent.length, 10, 'fixture: epoch B seq 7, 8, 10–17 unsent');
    v1db.close();
    // A read-only reader (CLI) meeting the v1 file before the daemon migrated it.
    const ro1 = openSpoolReadOnly(path);
    const recordsBefore = ro1.readRecent(1000);
    const statsBefore = ro1.stats(1e13);
    ro1.close();
    assert.equal(recordsBefore.length, fx.rows);

    const { log, lines } = capture();
    const opened = openSqliteSpool({ path, quotaBytes: QUOTA, retentionHours: 24 * 365, log, now: () => 20_000 });
    const spool: SqliteSpool = opened.spool;
    t.after(() => spool.close());
    assert.deepEqual(opened.info, {}, 'the head continues: no reset');
    const mig = lines.filter((l) => l.msg === 'spool migrated: payloads split out of events');
    assert.equal(mig.length, 1);
    assert.equal(mig[0].level, 30, 'logged at info');
    assert.equal(mig[0].rows, fx.rows);
    assert.equal(mig[0].from, 1);
    assert.equal(mig[0].to, 2);
    assert.ok(typeof mig[0].ms === 'number' && mig[0].ms >= 0);

    // The forwarder-facing reads, paged too.
    assert.deepEqual(spool.readUnsent(0, 1000), before.unsent);
    const p1 = spool.readUnsent(0, 4);
    const p2 = spool.readUnsent(p1[3].rowid, 1000);
    assert.deepEqual([...p1, ...p2], before.unsent);
    assert.deepEqual(fx.epochs.map((ep) => spool.readRange(ep, 1, 1000)), before.range);
    assert.deepEqual(spool.readRange(fx.epochs[1], 3, 5), before.range3);
    assert.deepEqual(spool.head(), fx.head);
    assert.equal(spool.maxRowid(), fx.hw - 3);
    const s = spool.stats(1e13);
    // A v1 file has no pending_drops table (its reader reports none); the migrated one owes nothing.
    assert.equal(statsBefore.pendingDrops, undefined);
    assert.deepEqual({ ...s, fileBytes: 0 }, { ...statsBefore, fileBytes: 0, pendingDrops: 0 }, 'depth, unsent, oldest age, head, bytes, counters');
    assert.equal(s.sentTotal, fx.sentTotal);
    assert.equal(spool.getMeta('forward.bdSeq'), '17');

    // Every stored fact, byte for byte; meta unchanged but the version.
    const db = raw(t, path, true);
    assert.deepEqual(columns(db, 'events').includes('payload'), false);
    assert.deepEqual(columns(db, 'payloads'), ['rowid', 'payload']);
    assert.deepEqual(db.prepare(DUMP_V2).all(), dumpBefore);
    assert.equal(count(db, 'SELECT count(*) FROM payloads'), fx.rows);
    assert.deepEqual(
      db.prepare('SELECT k, v FROM meta ORDER BY k').all(),
      metaBefore.map((m) => (m.k === 'schema_version' ? { k: m.k, v: '2' } : m)),
    );
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    const ro2 = openSpoolReadOnly(path);
    assert.deepEqual(ro2.readRecent(1000), recordsBefore);
    ro2.close();

    // The chain and the rowid high-water continue; a mark after the migration sticks.
    const chain = newChain(spool.head());
    const next = [seal(chain, 'access.card.read', 'info', { n: 1 })];
    assert.equal(next[0].body.prev, fx.head.hash);
    spool.append(next);
    const tail = spool.readUnsent(0, 1000).at(-1) as SpoolRow;
    assert.deepEqual({ rowid: tail.rowid, seq: tail.seq, payload: tail.payload }, { rowid: fx.hw + 1, seq: fx.head.seq + 1, payload: next[0].payload });
    spool.markSent([tail.rowid, before.unsent[0].rowid]);
    spool.close();
    const again = openSqliteSpool({ path, quotaBytes: QUOTA, retentionHours: 24 * 365, log, now: () => 30_000 }).spool;
    t.after(() => again.close());
    assert.equal(lines.filter((l) => l.msg === mig[0].msg).length, 1, 'a v2 file is not migrated again');
    assert.deepEqual(again.readUnsent(0, 1000), before.unsent.slice(1));
    assert.equal(again.stats().sentTotal, fx.sentTotal + 2);
    assert.deepEqual(again.head(), chain.head);
  });

  test('a file newer than v2 is refused and left untouched (not moved aside)', (t) => {
    const dir = scratch(t);
    const path = join(dir, 'spool.db');
    const first = openSqliteSpool({ path, quotaBytes: QUOTA, retentionHours: 1 }).spool;
    first.append(sealMany(newChain(), 3));
    first.close();
    const w = new Database(path);
    w.prepare("UPDATE meta SET v = '3' WHERE k = 'schema_version'").run();
    w.close();
    assert.throws(() => openSqliteSpool({ path, quotaBytes: QUOTA, retentionHours: 1 }), (err: unknown) => {
      assert.ok(err instanceof SpoolVersionError);
      assert.match(err.message, /version 3 is newer .* \(2\)/);
      return true;
    });
    assert.throws(() => openSpoolReadOnly(path), /schema version 3 is newer/);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('corrupt')), []);
    const db = raw(t, path, true);
    assert.equal(db.prepare("SELECT v FROM meta WHERE k = 'schema_version'").pluck().get(), '3');
    assert.equal(count(db, 'SELECT count(*) FROM events'), 3);
  });

  test('a v1 file of several copy steps with sparse rowids migrates row for row', (t) => {
    const dir = scratch(t);
    const path = join(dir, 'spool.db');
    const { dump, schema } = buildSyntheticV1(path, 5_000, (i) => i * 3);
    assert.ok(schema.some((r) => r.name === 'events_seq'));
    const { spool } = openSqliteSpool({ path, quotaBytes: QUOTA, retentionHours: 1 });
    t.after(() => spool.close());
    const db = raw(t, path, true);
    assert.deepEqual(db.prepare(DUMP_V2).all(), dump);
    assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'events_v1'").pluck().get(), 0);
    assert.deepEqual(
      db.prepare("SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger') AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all(),
      ['events_decl', 'events_delete_payload', 'events_evict', 'events_sent', 'events_seq', 'events_unsent'],
    );
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    assert.equal(spool.maxRowid(), 15_000);
    assert.equal(spool.stats().unsent, 5_000 - Math.floor(5_000 / 3));
  });

  test('a migration that fails half-way rolls back: the v1 file stays as it was', (t) => {
    const dir = scratch(t);
    const path = join(dir, 'spool.db');
    // A damaged v1 file: its unique seq index is gone and the last of 4,500 rows repeats a
    // seq. The copy into v2's `events` fails on it only after earlier steps were moved.
    const { dump, schema } = buildSyntheticV1(path, 4_500, (i) => i, { dropSeqIndex: true, duplicateLastSeq: true });
    assert.throws(() => openSqliteSpool({ path, quotaBytes: QUOTA, retentionHours: 1 }), /UNIQUE constraint failed: events\.epoch, events\.seq/);
    assert.ok(existsSync(path));
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('corrupt')), [], 'not corruption: never moved aside');
    const db = raw(t, path, true);
    assert.deepEqual(db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all(), schema, 'no payloads table, no trigger, v1 indexes back');
    assert.deepEqual(db.prepare(DUMP_V1).all(), dump);
    assert.equal(db.prepare("SELECT v FROM meta WHERE k = 'schema_version'").pluck().get(), '1');
  });
});

/** n v1 rows with made-up payloads (the layout is under test, not the events); every third sent. */
function buildSyntheticV1(path: string, n: number, rowidOf: (i: number) => number, o: { dropSeqIndex?: boolean; duplicateLastSeq?: boolean } = {}) {
  const w = new Database(path);
  try {
    w.pragma('journal_mode = WAL');
    w.exec(V1_DDL);
    if (o.dropSeqIndex) w.exec('DROP INDEX events_seq');
    const ins = w.prepare('INSERT INTO events(rowid, epoch, seq, type, family, severity, evidence, accepted_at, bytes, payload, sent_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)');
    w.transaction(() => {
      for (let i = 1; i <= n; i++) {
        const payload = `{"body":{"seq":${i},"note":"${'é'.repeat(i % 50)}"},"sig":"${'s'.repeat(86)}"}`;
        const seq = o.duplicateLastSeq && i === n ? 7 : i;
        ins.run(rowidOf(i), 'EPOCH', seq, 'sensor.value.reading', 'sensor', i % 6, 0, 1_000 + i, Buffer.byteLength(payload) + V1_OVERHEAD, payload, i % 3 === 0 ? 2_000 + i : null);
      }
      w.prepare("INSERT INTO meta(k, v) VALUES ('schema_version', '1'), ('rowid_hw', ?)").run(String(rowidOf(n)));
    })();
    return {
      dump: w.prepare(DUMP_V1).all(),
      schema: w.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all() as { type: string; name: string; sql: string }[],
    };
  } finally {
    w.close();
  }
}

describe('spool schema v2: payloads live and die with their events row', () => {
  test('prune, eviction of sent rows, eviction of unsent rows and batch trimming leave no orphan payload', (t) => {
    const dir = scratch(t);
    const path = join(dir, 'spool.db');
    let now = 1_000;
    const chain = newChain();
    const evs = sealMany(chain, 40);
    // Room for 30 rows: appending 40 in batches forces both eviction phases.
    const quota = evs.slice(0, 30).reduce((n, e) => n + rowBytes(e.payload), 0);
    const { spool } = openSqliteSpool({ path, quotaBytes: quota, retentionHours: 1, now: () => now });
    t.after(() => spool.close());
    const db = raw(t, path, true);
    const check = (what: string) => {
      assert.equal(count(db, ORPHANS), 0, `${what}: orphan payloads`);
      assert.equal(count(db, MISSING), 0, `${what}: events without payload`);
      assert.equal(count(db, 'SELECT count(*) FROM payloads'), spool.stats().depth, what);
    };

    spool.append(evs.slice(0, 20));
    check('append');
    spool.markSent(spool.readUnsent(0, 4).map((r) => r.rowid));
    const sentEvicted = spool.append(evs.slice(20, 32));
    assert.ok(sentEvicted.evictedSent > 0 && sentEvicted.dropped.length === 0, 'phase 1: sent rows evicted');
    check('eviction of sent rows');
    const unsentEvicted = spool.append(evs.slice(32, 40));
    assert.ok(unsentEvicted.dropped.length > 0, 'phase 2: unsent rows evicted');
    check('eviction of unsent rows');

    // A batch larger than the quota: the stored rows go, then the batch's oldest.
    const big = sealMany(chain, 45);
    const trimmed = spool.append(big);
    const first = big[0].body.seq;
    assert.ok(trimmed.dropped.some((r) => r.from <= first && r.to >= first), 'batch trimmed');
    check('batch trimming');

    spool.markSent(spool.readUnsent(0, 1000).map((r) => r.rowid));
    now += 2 * 3_600_000;
    assert.ok(spool.prune() > 0);
    assert.equal(spool.stats().depth, 0);
    check('prune');

    // The trigger is in the file: a delete from any connection takes the payload along.
    spool.append(sealMany(chain, 5));
    const w = raw(t, path);
    w.prepare('DELETE FROM events WHERE rowid IN (SELECT rowid FROM events ORDER BY rowid LIMIT 2)').run();
    check('delete by another connection');
    assert.equal(count(db, 'SELECT count(*) FROM payloads'), 3);
  });

  test('markSent writes pages of `events` only, never of `payloads` (WAL frames)', (t) => {
    const dir = scratch(t);
    const path = join(dir, 'spool.db');
    const { spool } = openSqliteSpool({ path, quotaBytes: QUOTA, retentionHours: 1, now: () => 1_000 });
    t.after(() => spool.close());
    const chain = newChain();
    spool.append(sealMany(chain, 300));
    const db = raw(t, path);
    const payloadPages = () => new Set(db.prepare("SELECT pageno FROM dbstat WHERE name = 'payloads'").pluck().all() as number[]);
    const eventsPages = () => new Set(db.prepare("SELECT pageno FROM dbstat WHERE name LIKE 'events%'").pluck().all() as number[]);

    // Positive control: the append's frames include payload pages, so the check can see them.
    const appended = walPages(`${path}-wal`);
    assert.ok(intersect(appended, payloadPages()) > 10, 'append writes payload pages');

    const cp = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    assert.equal(cp[0].busy, 0);
    assert.equal(walPages(`${path}-wal`).size, 0);
    const rows = spool.readUnsent(0, 1000);
    // A range (acks in order), singles (out of order) and a repeat.
    spool.markSent(rows.slice(0, 250).map((r) => r.rowid));
    spool.markSent([rows[299].rowid, rows[270].rowid, rows[260].rowid, rows[10].rowid]);
    assert.equal(spool.stats().unsent, 47);
    const marked = walPages(`${path}-wal`);
    assert.ok(intersect(marked, eventsPages()) > 0, 'the marks are in the WAL');
    assert.equal(intersect(marked, payloadPages()), 0, 'no payloads page rewritten by markSent');
  });
});

/** Page numbers of the valid frames in a WAL file (https://sqlite.org/fileformat.html#the_write_ahead_log). */
function walPages(walPath: string): Set<number> {
  const pages = new Set<number>();
  if (!existsSync(walPath)) return pages;
  const wal = readFileSync(walPath);
  if (wal.length < 32) return pages;
  const pageSize = wal.readUInt32BE(8);
  const salt = wal.subarray(16, 24);
  for (let off = 32; off + 24 + pageSize <= wal.length; off += 24 + pageSize) {
    // A frame belongs to the current WAL only when its salts match the header's.
    if (!wal.subarray(off + 8, off + 16).equals(salt)) break;
    pages.add(wal.readUInt32BE(off));
  }
  return pages;
}

function intersect(a: ReadonlySet<number>, b: ReadonlySet<number>): number {
  let n = 0;
  for (const x of a) if (b.has(x)) n++;
  return n;
}

// The spool contract (docs/contracts.md §Spool, agent/spool/types.ts) as one suite, run against every
// implementation: SQLite (real files, real fsync) and the in-memory fake the forwarder tests
// use (test/helpers/memory-spool.ts), then the SQLite-only parts: integrity check /
// move-aside and read-only readers beside the writer, which are about files.
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { Chain, ChainHead, SealedEvent } from '../../agent/chain/chain.js';
import type { Severity } from '../../agent/events/types.js';
import { openSqliteSpool, openSpoolReadOnly, rowBytes } from '../../agent/spool/sqlite-spool.js';
import type { AppendResult, DroppedRange, Spool } from '../../agent/spool/types.js';
import { SpoolWriter, type CommittedBatch } from '../../agent/spool/writer.js';
import { sealMany, tempDir, testChain, testKeys } from '../helpers/chain.js';
import { SPOOL_IMPLEMENTATIONS, type OpenOptions, type OpenSpool } from '../helpers/spool-impls.js';

// One throwaway key for the whole file (testChain() alone would leave a key dir per call).
const KEYS_DIR = tempDir('gw-spool-keys-');
const KEYS = testKeys(KEYS_DIR);
after(() => rmSync(KEYS_DIR, { recursive: true, force: true }));
const newChain = (head: ChainHead | null = null): Chain => testChain({ keys: KEYS, head });

function seal(chain: Chain, type: string, severity: Severity, data: Record<string, number> = {}): SealedEvent {
  if (chain.needsEpoch) throw new Error('test chain needs an epoch first');
  return chain.seal({ driver: 'test', device: 'dev-1', type, severity, data });
}

const bytesOf = (evs: readonly SealedEvent[]): number => evs.reduce((n, e) => n + rowBytes(e.payload), 0);

/** A temp dir removed after the test; spools opened through `track` are closed first. */
function scratch(t: TestContext): { dir: string; track: (s: Spool) => Spool } {
  const dir = tempDir('gw-spool-');
  const open: Spool[] = [];
  t.after(() => {
    for (const s of open) s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, track: (s) => (open.push(s), s) };
}

export function spoolContract(name: string, openSpool: OpenSpool): void {
  describe(`spool contract: ${name}`, () => {
    const setup = (t: TestContext, o?: OpenOptions) => {
      const sc = scratch(t);
      const reopen = (o2?: OpenOptions) => sc.track(openSpool(sc.dir, o2 ?? o));
      return { ...sc, spool: reopen(), reopen };
    };

    test('ordered reads: readUnsent pages in rowid order with exact payloads', (t) => {
      const { spool } = setup(t, { now: () => 1_000 });
      const chain = newChain();
      const evs = sealMany(chain, 30);
      spool.append(evs.slice(0, 10));
      spool.append(evs.slice(10, 11));
      spool.append(evs.slice(11));
      const all = spool.readUnsent(0, 1000);
      assert.deepEqual(all.map((r) => r.seq), evs.map((e) => e.body.seq));
      assert.deepEqual(all.map((r) => r.payload), evs.map((e) => e.payload));
      assert.ok(all.every((r, i) => i === 0 || r.rowid > all[i - 1].rowid));
      assert.deepEqual(
        { epoch: all[0].epoch, family: all[0].family, type: all[0].type, severity: all[0].severity, acceptedAt: all[0].acceptedAt },
        { epoch: evs[0].body.epoch, family: 'system', type: 'system.chain.epoch', severity: 'notice', acceptedAt: 1_000 },
      );
      const page1 = spool.readUnsent(0, 7);
      const page2 = spool.readUnsent(page1[6].rowid, 7);
      assert.deepEqual([...page1, ...page2].map((r) => r.seq), evs.slice(0, 14).map((e) => e.body.seq));
      assert.equal(spool.maxRowid(), all[29].rowid);
      assert.deepEqual(spool.readRange(evs[0].body.epoch, 25, 3).map((r) => r.seq), [25, 26, 27]);
    });

    test('accepted = committed: a failed append commits nothing, the same batch can be retried', (t) => {
      const { spool, reopen } = setup(t);
      const chain = newChain();
      const evs = sealMany(chain, 6);
      spool.append(evs.slice(0, 3));
      const before = { head: spool.head(), bytes: spool.stats().bytes, rows: spool.readUnsent(0, 100).length };
      // A batch that fails mid-way (seq 2 already stored: unique violation) is all-or-nothing.
      assert.throws(() => spool.append([evs[3], evs[1]]));
      assert.deepEqual({ head: spool.head(), bytes: spool.stats().bytes, rows: spool.readUnsent(0, 100).length }, before);
      spool.append(evs.slice(3));
      spool.close();
      const again = reopen();
      assert.deepEqual(again.readUnsent(0, 100).map((r) => r.seq), [1, 2, 3, 4, 5, 6]);
    });

    test('markSent affects only the given rows; idempotent; unknown rowids ignored', (t) => {
      const { spool, reopen } = setup(t);
      const evs = sealMany(newChain(), 12);
      spool.append(evs);
      const rows = spool.readUnsent(0, 100);
      const pick = [rows[6], rows[1], rows[2], rows[3], rows[9]].map((r) => r.rowid);
      spool.markSent([...pick, 999_999]);
      spool.markSent([rows[2].rowid]);
      spool.markSent([]);
      const left = spool.readUnsent(0, 100).map((r) => r.seq);
      assert.deepEqual(left, [1, 5, 6, 8, 9, 11, 12]);
      assert.equal(spool.stats().sentTotal, 5);
      assert.equal(spool.stats().unsent, 7);
      assert.equal(spool.stats().depth, 12);
      assert.deepEqual(spool.readUnsent(rows[3].rowid, 2).map((r) => r.seq), [5, 6]);
      spool.close();
      const again = reopen();
      assert.deepEqual(again.readUnsent(0, 100).map((r) => r.seq), left);
      assert.equal(again.stats().sentTotal, 5);
    });

    test('head is committed with the rows and recovered on reopen; rowids never reused', (t) => {
      const { spool, reopen } = setup(t, { now: () => 5_000, retentionHours: 0 });
      assert.equal(spool.head(), null);
      const chain = newChain();
      const evs = sealMany(chain, 9);
      spool.append(evs);
      const last = evs[8];
      assert.deepEqual(spool.head(), { epoch: last.body.epoch, seq: 9, hash: last.hash });
      spool.markSent(spool.readUnsent(0, 100).map((r) => r.rowid));
      assert.equal(spool.prune(6_000), 9);
      const hw = 9;
      spool.close();
      const s2 = reopen();
      assert.deepEqual(s2.head(), chain.head);
      assert.equal(s2.maxRowid(), 0);
      const next = sealMany(newChain(s2.head()), 2);
      assert.equal(next[0].body.prev, last.hash);
      s2.append(next);
      const rows = s2.readUnsent(0, 10);
      assert.deepEqual(rows.map((r) => r.seq), [10, 11]);
      assert.ok(rows[0].rowid > hw, `rowid ${rows[0].rowid} must not reuse 1..${hw}`);
    });

    test('retention prune deletes only sent rows older than the window', (t) => {
      let now = 1_000_000;
      const hour = 3_600_000;
      const { spool } = setup(t, { retentionHours: 2, now: () => now });
      const evs = sealMany(newChain(), 10);
      spool.append(evs);
      const rows = spool.readUnsent(0, 100);
      spool.markSent(rows.slice(0, 4).map((r) => r.rowid));
      now += hour;
      spool.markSent(rows.slice(4, 6).map((r) => r.rowid));
      const full = spool.stats().bytes;
      assert.equal(spool.prune(1_000_000 + 2 * hour), 0);
      assert.equal(spool.prune(1_000_000 + 2 * hour + 1), 4);
      assert.equal(spool.stats().bytes, full - bytesOf(evs.slice(0, 4)));
      assert.equal(spool.prune(1_000_000 + 10 * hour), 2);
      assert.equal(spool.stats().depth, 4);
      assert.deepEqual(spool.readUnsent(0, 100).map((r) => r.seq), [7, 8, 9, 10]);
    });

    test('quota: sent rows go first (oldest sent first), not counted as drops', (t) => {
      let now = 0;
      const { spool, reopen } = setup(t, { now: () => now });
      const chain = newChain();
      const evs = sealMany(chain, 8);
      spool.append(evs);
      const rows = spool.readUnsent(0, 100);
      now = 2_000;
      spool.markSent([rows[2].rowid, rows[3].rowid]);
      now = 3_000;
      spool.markSent([rows[0].rowid, rows[1].rowid]);
      spool.close();
      const batch = [seal(chain, 'sensor.value.reading', 'debug')];
      // Over by one byte more than seq 3: seqs 3 and 4 (sent earliest) must go, nothing else.
      const quota = bytesOf(evs) + bytesOf(batch) - rowBytes(evs[2].payload) - 1;
      const s2 = reopen({ quotaBytes: quota, now: () => now });
      const res = s2.append(batch);
      assert.deepEqual(res, { dropped: [], evictedSent: 2 } satisfies AppendResult);
      assert.deepEqual(s2.readRange(evs[0].body.epoch, 1, 100).map((r) => r.seq), [1, 2, 5, 6, 7, 8, 9]);
      assert.equal(s2.stats().droppedEvents, 0);
      assert.ok(s2.stats().bytes <= quota);
    });

    test('quota: non-evidence and low severity go first, exact dropped ranges, bytes = SUM after reopen', (t) => {
      const { spool, reopen } = setup(t);
      const chain = newChain();
      const [epochEv] = sealMany(chain, 1); // seq 1: system.chain.epoch (evidence, notice)
      const plan: [string, Severity][] = [
        ['sensor.value.reading', 'debug'], // 2
        ['sensor.value.reading', 'info'], // 3
        ['access.card.read', 'info'], // 4 evidence
        ['sensor.value.reading', 'debug'], // 5
        ['sensor.value.reading', 'debug'], // 6
        ['access.card.read', 'info'], // 7 evidence
        ['sensor.threshold.alarm', 'warning'], // 8
        ['sensor.value.reading', 'info'], // 9
      ];
      const evs = [epochEv, ...plan.map(([ty, sev], i) => seal(chain, ty, sev, { i }))];
      spool.append(evs);
      spool.close();
      const b = (seq: number) => rowBytes(evs[seq - 1].payload);

      // Step 1: need = debug 2, 5, 6 + exactly info 3 → ranges 2–3 and 5–6.
      const batch1 = [seal(chain, 'sensor.value.reading', 'alarm')]; // seq 10
      const q1 = bytesOf(evs) + bytesOf(batch1) - (b(2) + b(5) + b(6) + b(3));
      const s1 = reopen({ quotaBytes: q1 });
      const r1 = s1.append(batch1);
      const ep = epochEv.body.epoch;
      assert.deepEqual(r1, { evictedSent: 0, dropped: [{ epoch: ep, from: 2, to: 3 }, { epoch: ep, from: 5, to: 6 }] });
      assert.deepEqual(s1.readUnsent(0, 100).map((r) => r.seq), [1, 4, 7, 8, 9, 10]);
      const bytes1 = s1.stats().bytes;
      assert.equal(bytes1, q1);
      s1.close();

      // Step 2: non-evidence left: info 9, warning 8, alarm 10; then evidence info 4 (oldest).
      const batch2 = [seal(chain, 'video.motion.start', 'info'), seal(chain, 'video.motion.end', 'info')]; // 11, 12
      const q2 = bytesOf(evs) + bytesOf(batch1) + bytesOf(batch2) - (b(2) + b(5) + b(6) + b(3)) - (b(9) + b(8) + rowBytes(batch1[0].payload) + 1);
      const s2 = reopen({ quotaBytes: q2 });
      assert.equal(s2.stats().bytes, bytes1, 'byte total after reopen equals the total kept in memory');
      const r2 = s2.append(batch2);
      assert.deepEqual(r2.dropped, [{ epoch: ep, from: 4, to: 4 }, { epoch: ep, from: 8, to: 10 }]);
      const left = s2.readUnsent(0, 100);
      assert.deepEqual(left.map((r) => r.seq), [1, 7, 11, 12]);
      const sum = left.reduce((n, r) => n + rowBytes(r.payload), 0);
      assert.equal(s2.stats().bytes, sum);
      assert.ok(sum <= q2);
      assert.equal(s2.stats().droppedEvents, 8);
      assert.deepEqual(s2.head(), chain.head);
    });

    test('quota: the batch itself is trimmed (oldest first, reported) only when nothing else is left; its epoch event stays', (t) => {
      const chain = newChain();
      const evs = sealMany(chain, 6);
      assert.equal(evs[0].body.type, 'system.chain.epoch');
      const quota = bytesOf([evs[0], ...evs.slice(4)]) + 10;
      const { spool } = setup(t, { quotaBytes: quota });
      const res = spool.append(evs);
      assert.deepEqual(res.dropped, [{ epoch: evs[0].body.epoch, from: 2, to: 4 }]);
      assert.deepEqual(spool.readUnsent(0, 100).map((r) => r.seq), [1, 5, 6]);
      assert.deepEqual(spool.head(), chain.head);
      // Next append: the stored rows go before any of the new batch; seq 1 never does.
      const more = [seal(chain, 'sensor.value.reading', 'info')];
      assert.deepEqual(spool.append(more).dropped, [{ epoch: evs[0].body.epoch, from: 5, to: 5 }]);
      assert.deepEqual(spool.readUnsent(0, 100).map((r) => r.seq), [1, 6, 7]);
      assert.equal(spool.stats().droppedEvents, 4);
    });

    test('meta: free keys round-trip across reopen; spool-owned keys are refused', (t) => {
      const { spool, reopen } = setup(t);
      assert.equal(spool.getMeta('forward.bdSeq'), undefined);
      spool.setMeta('forward.bdSeq', '41');
      spool.setMeta('forward.bdSeq', '42');
      assert.throws(() => spool.setMeta('head', '{}'), /owned by the spool/);
      spool.close();
      assert.equal(reopen().getMeta('forward.bdSeq'), '42');
    });

    test('writer: group commit by size and by delay, order kept, accepted when committed', async (t) => {
      const { spool } = setup(t);
      const batches: CommittedBatch[] = [];
      const w = new SpoolWriter({ spool, maxEvents: 10, maxDelayMs: 60_000, onCommitted: (b) => batches.push(b) });
      const evs = sealMany(newChain(), 25);
      const tickets = evs.map((e) => w.enqueue(e));
      assert.deepEqual(tickets, evs.map((_, i) => i + 1));
      // Two full batches committed inside enqueue; five wait for the (long) delay.
      assert.deepEqual(batches.map((b) => b.events.length), [10, 10]);
      assert.equal(spool.readUnsent(0, 100).length, 20);
      assert.equal(w.backlog, 5);
      const waited = w.whenCommitted(23);
      await w.flush();
      await waited;
      assert.deepEqual(batches.map((b) => [b.events.length, b.ticket]), [[10, 10], [10, 20], [5, 25]]);
      assert.deepEqual(spool.readUnsent(0, 100).map((r) => r.seq), evs.map((e) => e.body.seq));

      // Delay path (setImmediate when 0, setTimeout otherwise): nothing committed synchronously.
      for (const delay of [0, 5]) {
        const w2 = new SpoolWriter({ spool, maxEvents: 1000, maxDelayMs: delay });
        const chain = newChain(spool.head());
        const more = sealMany(chain, 3);
        const last = more.map((e) => w2.enqueue(e)).at(-1)!;
        assert.equal(w2.committedCount, 0);
        await w2.whenCommitted(last);
        assert.equal(w2.backlog, 0);
        await w2.close();
        assert.throws(() => w2.enqueue(more[0]), /closed/);
      }
      assert.equal(spool.readUnsent(0, 100).length, 31);
    });

    test('writer: a failing append keeps the batch, retries with backoff, order and uniqueness kept', async (t) => {
      const { spool } = setup(t);
      // A real Spool that refuses the 2nd–4th appends the way a full disk does.
      let calls = 0;
      const flaky: Pick<Spool, 'append'> = {
        append(events) {
          calls++;
          if (calls >= 2 && calls <= 4) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
          return spool.append(events);
        },
      };
      const errors: number[] = [];
      const w = new SpoolWriter({ spool: flaky, maxEvents: 7, maxDelayMs: 1, retryMinMs: 1, retryMaxMs: 4, onError: (_e, attempt) => errors.push(attempt) });
      const chain = newChain();
      const evs = sealMany(chain, 40);
      // Enqueue over several event-loop turns so later events arrive while retrying.
      for (let i = 0; i < evs.length; i += 5) {
        for (const e of evs.slice(i, i + 5)) w.enqueue(e);
        await new Promise((r) => setImmediate(r));
      }
      await w.flush();
      assert.deepEqual(errors, [1, 2, 3]);
      assert.equal(w.backlog, 0);
      assert.equal(w.committedCount, 40);
      assert.deepEqual(spool.readUnsent(0, 100).map((r) => r.seq), evs.map((e) => e.body.seq));
      assert.deepEqual(spool.head(), chain.head);
    });

    test('writer: abandon() after a persistent failure rejects waiters, never resolves them', async (t) => {
      const { spool } = setup(t);
      const broken: Pick<Spool, 'append'> = {
        append() {
          throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
        },
      };
      const w = new SpoolWriter({ spool: broken, maxEvents: 2, maxDelayMs: 0, retryMinMs: 1, retryMaxMs: 2 });
      const evs = sealMany(newChain(), 3);
      const waits = evs.map((e) => w.enqueueAndWait(e));
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(w.backlog, 3);
      assert.equal(w.abandon('shutdown deadline'), 3);
      for (const p of waits) await assert.rejects(p, /3 event\(s\) not accepted/);
      await assert.rejects(w.whenCommitted(1), /abandoned/);
      assert.equal(spool.readUnsent(0, 10).length, 0);
    });

    test('writer: onDropped may enqueue the overflow event; it commits right after, in order', async (t) => {
      const chain = newChain();
      const first = sealMany(chain, 4);
      const second = [1, 2, 3, 4].map((i) => seal(chain, 'sensor.value.reading', 'debug', { i }));
      // One byte short for the second batch: seq 2 (oldest non-evidence) must go.
      const { spool } = setup(t, { quotaBytes: bytesOf(first) + bytesOf(second) - 1 });
      const ranges: DroppedRange[] = [];
      let announced = false;
      const w = new SpoolWriter({
        spool,
        maxEvents: 4,
        maxDelayMs: 60_000,
        onDropped: (r) => {
          ranges.push(...r);
          // The overflow event can itself evict rows; announcing once keeps this bounded
          // (coalescing overflow events is the pipeline's job).
          if (announced) return;
          announced = true;
          w.enqueue(chain.seal({ driver: 'agent', device: 'gw-t', type: 'system.spool.overflow', severity: 'warning', data: { dropped: r.length } }));
        },
      });
      for (const e of [...first, ...second]) w.enqueue(e);
      await w.flush();
      assert.deepEqual(ranges[0], { epoch: first[0].body.epoch, from: 2, to: 2 });
      const rows = spool.readUnsent(0, 100);
      assert.equal(rows.at(-1)!.type, 'system.spool.overflow');
      assert.equal(rows.at(-1)!.seq, 9);
      assert.deepEqual(spool.head(), chain.head);
    });
  });
}

for (const [name, open] of SPOOL_IMPLEMENTATIONS) spoolContract(name, open);

describe('sqlite spool: open, integrity, read-only readers', () => {
  test('fresh file → resetReason fresh, parent dir 0750; reopened file continues', (t) => {
    const { dir } = scratch(t);
    const path = join(dir, 'state', 'sub', 'spool.db');
    const a = openSqliteSpool({ path, quotaBytes: 1e9, retentionHours: 1 });
    assert.deepEqual(a.info, { resetReason: 'fresh' });
    assert.equal(statSync(join(dir, 'state', 'sub')).mode & 0o777, 0o750);
    a.spool.close();
    const b = openSqliteSpool({ path, quotaBytes: 1e9, retentionHours: 1 });
    assert.deepEqual(b.info, { resetReason: 'fresh' }, 'no head yet: still fresh');
    b.spool.append(sealMany(newChain(), 2));
    b.spool.close();
    const c = openSqliteSpool({ path, quotaBytes: 1e9, retentionHours: 1 });
    assert.deepEqual(c.info, {});
    assert.equal(c.spool.head()?.seq, 2);
    c.spool.close();
  });

  test('a file that is not a database is moved aside with its -wal (never deleted)', (t) => {
    const { dir } = scratch(t);
    const path = join(dir, 'spool.db');
    const garbage = Buffer.from('this is not an SQLite file at all '.repeat(200));
    writeFileSync(path, garbage);
    writeFileSync(`${path}-wal`, 'stale wal');
    const { spool, info } = openSqliteSpool({ path, quotaBytes: 1e9, retentionHours: 1, now: () => Date.parse('2025-03-04T05:06:07.089Z') });
    t.after(() => spool.close());
    assert.equal(info.resetReason, 'corrupt');
    assert.equal(info.movedAside, `${path}.corrupt-2025-03-04T05:06:07.089Z`);
    assert.deepEqual(readFileSync(info.movedAside!), garbage);
    assert.equal(readFileSync(`${info.movedAside}-wal`, 'utf8'), 'stale wal');
    assert.equal(spool.head(), null);
    spool.append(sealMany(newChain(), 3));
    assert.equal(spool.stats().depth, 3);
  });

  test('damaged b-tree pages fail quick_check → moved aside, fresh spool', (t) => {
    const { dir } = scratch(t);
    const path = join(dir, 'spool.db');
    const a = openSqliteSpool({ path, quotaBytes: 1e9, retentionHours: 1 });
    a.spool.append(sealMany(newChain(), 600));
    a.spool.close();
    const size = statSync(path).size;
    assert.ok(size > 20 * 4096);
    const fd = openSync(path, 'r+');
    for (const page of [3, 5, 8, 13]) writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, (page - 1) * 4096);
    closeSync(fd);
    const b = openSqliteSpool({ path, quotaBytes: 1e9, retentionHours: 1 });
    t.after(() => b.spool.close());
    assert.equal(b.info.resetReason, 'corrupt');
    assert.ok(b.info.movedAside && existsSync(b.info.movedAside));
    assert.equal(statSync(b.info.movedAside).size, size);
    assert.equal(b.spool.head(), null);
  });

  test('read-only reader runs beside the writer and sees every committed row', (t) => {
    const { dir } = scratch(t);
    const path = join(dir, 'spool.db');
    assert.throws(() => openSpoolReadOnly(path));
    const { spool } = openSqliteSpool({ path, quotaBytes: 1e9, retentionHours: 1 });
    const ro = openSpoolReadOnly(path);
    t.after(() => {
      ro.close();
      spool.close();
    });
    const chain = newChain();
    const evs = sealMany(chain, 20);
    spool.append(evs.slice(0, 15));
    spool.markSent(spool.readUnsent(0, 5).map((r) => r.rowid));
    const w = spool.stats(1e13);
    const r = ro.stats(1e13);
    assert.deepEqual({ ...r, fileBytes: 0 }, { ...w, fileBytes: 0 });
    assert.ok(r.fileBytes > 0);
    assert.deepEqual(ro.readRecent(3).map((x) => x.seq), [13, 14, 15]);
    assert.deepEqual(ro.readRecent(100, { unsentOnly: true }).map((x) => x.seq), evs.slice(5, 15).map((e) => e.body.seq));
    assert.ok(ro.readRecent(100)[0].sentAt !== null);
    const cursor = ro.maxRowid();
    spool.append(evs.slice(15)); // the writer is not blocked by the open reader
    assert.deepEqual(ro.readAfter(cursor, 100).map((x) => x.seq), [16, 17, 18, 19, 20]);
    assert.deepEqual(ro.stats().head, chain.head);
  });
});

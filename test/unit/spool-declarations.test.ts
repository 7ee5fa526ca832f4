// Quota eviction never loses its own evidence (docs/architecture.md "Evidence classes and
// the quota"): epoch announcements and write-failure records are never evicted unsent;
// checkpoints and overflow records leave only after everything else, or when they hold
// more than their share, and then come back as drops that the next overflow record
// re-declares; and every drop stays owed in `pending_drops` from the transaction that
// evicted it until the one that commits its declaration. Real chain, real SQLite files.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Chain, SealedEvent } from '../../agent/chain/chain.js';
import type { Severity } from '../../agent/events/types.js';
import { DECLARATION_TYPES } from '../../agent/events/declarations.js';
import { EVICTABLE_SQL, dropRanges, isDeclaration, subtractRanges } from '../../agent/spool/evict.js';
import { openSqliteSpool, rowBytes } from '../../agent/spool/sqlite-spool.js';
import { mergeDropped, OVERFLOW_RANGES_PER_EVENT } from '../../agent/pipeline.js';
import type { DroppedRange } from '../../agent/spool/types.js';
import { tempDir, testChain, testKeys } from '../helpers/chain.js';

const root = tempDir('gw-decl-');
after(() => rmSync(root, { recursive: true, force: true }));
const KEYS = testKeys(join(root, 'keys'));
let n = 0;
const newPath = (): string => join(root, `spool-${++n}.db`);

function ev(chain: Chain, type: string, severity: Severity, data: Record<string, unknown> = {}): SealedEvent {
  return chain.seal({ driver: 'test', device: 'dev-1', type, severity, data: data as never });
}
const door = (chain: Chain, i: number): SealedEvent => ev(chain, 'access.door.forced', 'alarm', { i, pad: 'x'.repeat(300) });
const overflow = (chain: Chain, dropped: DroppedRange[]): SealedEvent =>
  ev(chain, 'system.spool.overflow', 'alarm', { reason: 'quota', count: dropped.reduce((k, r) => k + r.to - r.from + 1, 0), part: 1, parts: 1, dropped: dropped.map((r) => ({ ...r })) });
const bytesOf = (evs: readonly SealedEvent[]): number => evs.reduce((k, e) => k + rowBytes(e.payload), 0);
const seqsOf = (rs: readonly DroppedRange[]): number[] => rs.flatMap((r) => Array.from({ length: r.to - r.from + 1 }, (_, i) => r.from + i));

function storedTypes(path: string): Array<{ seq: number; type: string }> {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT seq, type FROM events ORDER BY rowid').all() as Array<{ seq: number; type: string }>;
  } finally {
    db.close();
  }
}

test('under pressure, unsent declarations and chain events outlive every other event, even alarms', () => {
  const path = newPath();
  const chain = testChain({ keys: KEYS });
  const epoch = chain.newEpoch('fresh', null);
  const first = [epoch, ...Array.from({ length: 9 }, (_, i) => door(chain, i))];
  const cp = chain.checkpoint('count');
  const wf = ev(chain, 'system.spool.write_failed', 'alarm', { attempts: 3 });
  const decl = overflow(chain, [{ epoch: epoch.body.epoch, from: 2, to: 3 }]);
  const batch1 = [...first, cp, wf, decl];
  // Room for the declarations and 4 door events: the next batches push out doors only.
  const quota = bytesOf([epoch, cp, wf, decl]) + 4 * rowBytes(first[1].payload) + 50;
  const { spool } = openSqliteSpool({ path, quotaBytes: quota, retentionHours: 24 });
  try {
    const dropped: DroppedRange[] = [...spool.append(batch1).dropped];
    for (let b = 0; b < 5; b++) dropped.push(...spool.append(Array.from({ length: 3 }, (_, i) => door(chain, 100 + b * 3 + i))).dropped);
    const kept = storedTypes(path);
    for (const s of [epoch, cp, wf, decl]) assert.ok(kept.some((k) => k.seq === s.body.seq), `${s.body.type} (seq ${s.body.seq}) was evicted`);
    assert.equal(kept[0].seq, 1, 'seq 1, the epoch announcement, is still the first row');
    const droppedSeqs = new Set(seqsOf(dropped));
    for (const k of kept) assert.ok(!droppedSeqs.has(k.seq), `seq ${k.seq} reported dropped but stored`);
    assert.ok(droppedSeqs.size >= 15, `the quota bit: ${droppedSeqs.size} dropped`);
    for (const s of droppedSeqs) assert.equal(kept.some((k) => k.seq === s), false);
    assert.ok(spool.stats().bytes <= quota);
  } finally {
    spool.close();
  }
});

test('nothing but declarations left: the overflow records leave and their ranges and seqs come back merged to be re-declared; seq 1 never', () => {
  const path = newPath();
  const chain = testChain({ keys: KEYS });
  const epoch = chain.newEpoch('fresh', null);
  const e = epoch.body.epoch;
  const doors = Array.from({ length: 6 }, (_, i) => door(chain, i)); // seqs 2..7
  const o1 = overflow(chain, [{ epoch: e, from: 2, to: 4 }]); // seq 8
  const o2 = overflow(chain, [{ epoch: e, from: 5, to: 7 }]); // seq 9
  // A quota that holds exactly epoch + o1 + o2: the doors of the first batch must all go.
  const quota = bytesOf([epoch, o1, o2]) + 5;
  const { spool } = openSqliteSpool({ path, quotaBytes: quota, retentionHours: 24 });
  try {
    const r1 = spool.append([epoch, ...doors, o1, o2]);
    assert.deepEqual(r1.dropped, [{ epoch: e, from: 2, to: 7 }]);
    assert.deepEqual(storedTypes(path).map((k) => k.seq), [1, 8, 9]);
    // One more door: only declarations are stored (far past their share), so they leave,
    // oldest first, and what they declared (2–4, 5–7) plus their own seqs (8, 9) is
    // reported again as one cumulative range, with no further loss. Seq 1 stays.
    const d = ev(chain, 'access.door.forced', 'alarm', {}); // seq 10
    const r2 = spool.append([d]);
    assert.deepEqual(r2.dropped, [{ epoch: e, from: 2, to: 9 }]);
    assert.deepEqual(storedTypes(path).map((k) => k.seq), [1, 10]);
    // Everything owed is in pending_drops: 2–7 from the first append (o1 and o2 were
    // sealed before that eviction, so committing them clears nothing of it), then 2–9.
    const owed = dropRanges([], spool.pendingDrops().flatMap((p) => p.ranges));
    assert.deepEqual(owed, [{ epoch: e, from: 2, to: 9 }]);
  } finally {
    spool.close();
  }
});

test('declarations past a quarter of the quota are consolidated and owed again; they never hold much more than their share', () => {
  const path = newPath();
  const chain = testChain({ keys: KEYS });
  const epoch = chain.newEpoch('fresh', null);
  const e = epoch.body.epoch;
  const sample = door(chain, 0);
  const quota = 40 * rowBytes(sample.payload);
  const { spool } = openSqliteSpool({ path, quotaBytes: quota, retentionHours: 24 });
  try {
    spool.append([epoch, sample]);
    // Alternate one door and one overflow record naming a made-up earlier range until the
    // spool is over quota many times over.
    const decls: SealedEvent[] = [];
    for (let i = 0; i < 200; i++) {
      const o = overflow(chain, [{ epoch: e, from: 100_000 + i, to: 100_000 + i }]);
      decls.push(o);
      spool.append([door(chain, i + 1), o]);
      assert.ok(spool.stats().bytes <= quota, `append ${i}: ${spool.stats().bytes} > ${quota}`);
    }
    const kept = storedTypes(path);
    const keptDecl = kept.filter((k) => k.type === 'system.spool.overflow');
    const declBytes = decls.filter((o) => keptDecl.some((k) => k.seq === o.body.seq)).reduce((k, o) => k + rowBytes(o.payload), 0);
    assert.ok(declBytes <= quota / 4 + rowBytes(decls[0].payload), `declarations hold ${declBytes} of ${quota}`);
    assert.ok(kept.filter((k) => k.type === 'access.door.forced').length >= 20, 'doors keep most of the spool');
    assert.equal(kept[0].seq, 1);
    // Compacted records are owed again with their made-up ranges.
    const owed = new Set(seqsOf(spool.pendingDrops().flatMap((p) => p.ranges)));
    const gone = decls.filter((o) => !keptDecl.some((k) => k.seq === o.body.seq));
    assert.ok(gone.length > 100, `${gone.length} records compacted`);
    for (const o of gone) {
      assert.ok(owed.has(o.body.seq), `compacted record seq ${o.body.seq} not owed`);
      assert.ok(owed.has((o.body.data.dropped as unknown as DroppedRange[])[0].from), `range of seq ${o.body.seq} not owed`);
    }
  } finally {
    spool.close();
  }
});

test('only unevictable rows left and the batch is over quota: stored over quota and logged, no throw, no loop', () => {
  const path = newPath();
  const chain = testChain({ keys: KEYS });
  const epoch = chain.newEpoch('fresh', null);
  const wf = ev(chain, 'system.spool.write_failed', 'alarm', { pad: 'y'.repeat(2000) });
  const errors: string[] = [];
  const log = { error: (_o: unknown, msg: string) => errors.push(msg), warn: () => {}, debug: () => {}, info: () => {} };
  const { spool } = openSqliteSpool({ path, quotaBytes: rowBytes(epoch.payload) + 10, retentionHours: 24, log: log as never });
  try {
    spool.append([epoch, wf]);
    const d = door(chain, 1);
    assert.deepEqual(spool.append([d]).dropped, [{ epoch: epoch.body.epoch, from: d.body.seq, to: d.body.seq }]);
    assert.deepEqual(storedTypes(path).map((k) => k.type), ['system.chain.epoch', 'system.spool.write_failed']);
    assert.ok(spool.stats().bytes > spool.stats().quotaBytes, 'over quota, visibly');
    assert.equal(errors.filter((m) => /nothing evictable left/.test(m)).length, 1, 'logged once per episode');
  } finally {
    spool.close();
  }
});

test('pending drops: durable with the eviction, cleared by the commit of the overflow record declaring them, replayed at open', () => {
  const path = newPath();
  const chain = testChain({ keys: KEYS });
  const epoch = chain.newEpoch('fresh', null);
  const e = epoch.body.epoch;
  const doors = Array.from({ length: 10 }, (_, i) => ev(chain, 'sensor.value.reading', 'info', { i, pad: 'z'.repeat(200) }));
  const quota = bytesOf([epoch, ...doors.slice(0, 4)]) + 10;
  let { spool } = openSqliteSpool({ path, quotaBytes: quota, retentionHours: 24 });
  const r = spool.append([epoch, ...doors]);
  assert.deepEqual(r.dropped, [{ epoch: e, from: 2, to: 7 }]);
  // The process "dies" here: nothing declared the drop. At the next open it is owed.
  spool.close();
  let opened = openSqliteSpool({ path, quotaBytes: quota * 4, retentionHours: 24 });
  spool = opened.spool;
  assert.deepEqual(opened.info.pendingDrops, [{ reason: 'quota', ranges: [{ epoch: e, from: 2, to: 7 }] }]);
  // A record declaring part of it clears that part only; a second one the rest.
  spool.append([overflow(chain, [{ epoch: e, from: 2, to: 4 }])]);
  assert.deepEqual(spool.pendingDrops(), [{ reason: 'quota', ranges: [{ epoch: e, from: 5, to: 7 }] }]);
  spool.append([overflow(chain, [{ epoch: e, from: 5, to: 7 }])]);
  assert.deepEqual(spool.pendingDrops(), []);
  spool.close();
  opened = openSqliteSpool({ path, quotaBytes: quota * 4, retentionHours: 24 });
  assert.equal(opened.info.pendingDrops, undefined);
  opened.spool.close();
});

test('a failed append leaves nothing owed: the eviction and its pending record are one transaction', () => {
  const path = newPath();
  const chain = testChain({ keys: KEYS });
  const epoch = chain.newEpoch('fresh', null);
  const evs = [epoch, ...Array.from({ length: 6 }, (_, i) => ev(chain, 'sensor.value.reading', 'info', { i, pad: 'z'.repeat(200) }))];
  const { spool } = openSqliteSpool({ path, quotaBytes: bytesOf(evs.slice(0, 3)) + 10, retentionHours: 24 });
  try {
    spool.append(evs.slice(0, 3));
    // Same seq twice: the unique index fails the insert after eviction ran in that transaction.
    assert.throws(() => spool.append([evs[3], evs[3]]), /UNIQUE/);
    assert.deepEqual(spool.pendingDrops(), []);
    assert.deepEqual(storedTypes(path).map((k) => k.seq), [1, 2, 3]);
  } finally {
    spool.close();
  }
});

test('payloads found missing at open are owed too (reason payload-missing) until declared', () => {
  const path = newPath();
  const chain = testChain({ keys: KEYS });
  const epoch = chain.newEpoch('fresh', null);
  const evs = [epoch, ev(chain, 'sensor.value.reading', 'info'), ev(chain, 'sensor.value.reading', 'info')];
  const { spool } = openSqliteSpool({ path, quotaBytes: 1e6, retentionHours: 24 });
  spool.append(evs);
  spool.close();
  const db = new Database(path);
  db.prepare('DELETE FROM payloads WHERE rowid = 2').run();
  db.close();
  const first = openSqliteSpool({ path, quotaBytes: 1e6, retentionHours: 24 });
  assert.deepEqual(first.info.lostPayloads, [{ epoch: epoch.body.epoch, from: 2, to: 2 }]);
  first.spool.close(); // died before announcing
  const second = openSqliteSpool({ path, quotaBytes: 1e6, retentionHours: 24 });
  assert.deepEqual(second.info.pendingDrops, [{ reason: 'payload-missing', ranges: [{ epoch: epoch.body.epoch, from: 2, to: 2 }] }]);
  second.spool.close();
});

test('range helpers: subtraction and merge with re-declared ranges keep exact bounds', () => {
  const r = (from: number, to: number, epoch = 'E'): DroppedRange => ({ epoch, from, to });
  assert.deepEqual(subtractRanges([r(1, 10)], [r(3, 4), r(8, 12)]), [r(1, 2), r(5, 7)]);
  assert.deepEqual(subtractRanges([r(1, 10)], [r(1, 10, 'F')]), [r(1, 10)]);
  assert.deepEqual(subtractRanges([r(5, 5)], [r(5, 5)]), []);
  assert.deepEqual(dropRanges([{ rowid: 9, epoch: 'E', seq: 8 }, { rowid: 3, epoch: 'E', seq: 5 }], [r(2, 4), r(9, 9)]), [r(2, 5), r(8, 9)]);
});

test('every declaration type is kept by the SQL of phase 2 as by isDeclaration()', () => {
  for (const t of DECLARATION_TYPES) {
    assert.ok(isDeclaration(t), t);
    assert.ok(t.startsWith('system.chain.') ? EVICTABLE_SQL.includes("'system.chain.%'") : EVICTABLE_SQL.includes(`'${t}'`), `${t} missing from EVICTABLE_SQL`);
  }
});

test('a batch of declarations only uses the headroom above the quota instead of dropping more; the next event evicts back under it', () => {
  const path = newPath();
  const chain = testChain({ keys: KEYS });
  const epoch = chain.newEpoch('fresh', null);
  const e = epoch.body.epoch;
  const doors = Array.from({ length: 40 }, (_, i) => door(chain, i));
  const quota = bytesOf([epoch, ...doors]);
  const { spool } = openSqliteSpool({ path, quotaBytes: quota, retentionHours: 24 });
  try {
    assert.deepEqual(spool.append([epoch, ...doors]).dropped, []);
    const o = overflow(chain, [{ epoch: e, from: 100, to: 100 }]);
    assert.deepEqual(spool.append([o]).dropped, [], 'declaring must not drop another event');
    assert.ok(spool.stats().bytes > quota && spool.stats().bytes <= quota * (1 + 1 / 16));
    const next = door(chain, 99);
    const r = spool.append([next]);
    assert.ok(r.dropped.length > 0);
    assert.ok(spool.stats().bytes <= quota, 'an ordinary append takes the spool back under its quota');
  } finally {
    spool.close();
  }
});

test('fragmented drops (every other seq, thousands): appends converge, the flush leaves nothing owed, every missing seq declared by exactly one surviving record', () => {
  // Door alarms kept as evidence, readings dropped: the dropped seqs alternate, so each
  // announcement is hundreds of one-seq ranges. The pipeline's part is played here as in
  // agent/pipeline.ts: drops coalesced, then announced in records of at most
  // OVERFLOW_RANGES_PER_EVENT ranges, appended with the next batch; at the end announced
  // until nothing is owed (agent/event-path.ts flush).
  const path = newPath();
  const chain = testChain({ keys: KEYS });
  const epoch = chain.newEpoch('fresh', null);
  const e = epoch.body.epoch;
  const quota = 64_000;
  const { spool } = openSqliteSpool({ path, quotaBytes: quota, retentionHours: 24 });
  let owedHere: DroppedRange[] = [];
  let records = 0;
  const announce = (): SealedEvent[] => {
    const ranges = mergeDropped(owedHere);
    owedHere = [];
    const out: SealedEvent[] = [];
    for (let i = 0; i < ranges.length; i += OVERFLOW_RANGES_PER_EVENT) out.push(overflow(chain, ranges.slice(i, i + OVERFLOW_RANGES_PER_EVENT)));
    records += out.length;
    return out;
  };
  const append = (batch: SealedEvent[]): void => {
    owedHere.push(...spool.append(batch).dropped);
  };
  try {
    append([epoch]);
    let maxDecl = 0;
    let sinceCheckpoint = 0;
    // 800 batches of 4 door/reading pairs, announced every 25 batches (the pipeline's 1 s).
    const PAIRS = 4;
    const EVERY = 25;
    const BATCHES = 800;
    for (let b = 0; b < BATCHES; b++) {
      const batch: SealedEvent[] = [];
      for (let i = 0; i < PAIRS; i++) {
        batch.push(ev(chain, 'access.door.forced', 'alarm', { b, i, pad: 'd'.repeat(200) }));
        batch.push(ev(chain, 'sensor.value.reading', 'info', { b, i, pad: 'r'.repeat(100) }));
        // A checkpoint every 100 events, as chain.checkpoint.everyEvents does: declarations too.
        if (++sinceCheckpoint >= 50) {
          batch.push(chain.checkpoint('count'));
          sinceCheckpoint = 0;
        }
      }
      append(b % EVERY === EVERY - 1 ? [...announce(), ...batch] : batch);
      assert.ok(spool.stats().bytes <= quota, `batch ${b}: ${spool.stats().bytes} > ${quota}`);
      const decl = storedTypes(path).filter((k) => k.type === 'system.spool.overflow').length;
      maxDecl = Math.max(maxDecl, decl);
    }
    const beforeFlush = storedTypes(path);
    assert.ok(beforeFlush.filter((k) => k.type === 'access.door.forced').length >= 30, 'declarations do not crowd out the events');
    // Shutdown: announce until nothing is owed; it must converge in a few rounds.
    let rounds = 0;
    while (owedHere.length > 0) {
      assert.ok(++rounds <= 8, `still owed after ${rounds - 1} rounds: ${mergeDropped(owedHere).length} ranges`);
      append(announce());
    }
    assert.deepEqual(spool.pendingDrops(), [], 'after the flush nothing is owed');

    const db = new Database(path, { readonly: true });
    const rows = db.prepare('SELECT e.seq AS seq, e.type AS type, p.payload AS payload FROM events e JOIN payloads p ON p.rowid = e.rowid ORDER BY e.rowid').all() as Array<{ seq: number; type: string; payload: string }>;
    db.close();
    assert.equal(rows[0].seq, 1, 'seq 1 survives');
    const storedSeqs = new Set(rows.map((r) => r.seq));
    const times = new Map<number, number>();
    let ranges = 0;
    for (const r of rows) {
      if (r.type !== 'system.spool.overflow') continue;
      for (const d of JSON.parse(r.payload).body.data.dropped as DroppedRange[]) {
        assert.equal(d.epoch, e);
        ranges++;
        for (let s = d.from; s <= d.to; s++) times.set(s, (times.get(s) ?? 0) + 1);
      }
    }
    const head = spool.head()!.seq;
    const missing: number[] = [];
    for (let s = 1; s <= head; s++) if (!storedSeqs.has(s)) missing.push(s);
    assert.ok(missing.length > 3000, `thousands dropped: ${missing.length}`);
    assert.deepEqual(missing.filter((s) => times.get(s) !== 1).slice(0, 10), [], 'every missing seq declared exactly once by a stored record');
    assert.deepEqual([...times.keys()].filter((s) => storedSeqs.has(s)).slice(0, 10), [], 'nothing stored is declared dropped');
    console.log(`fragmented: head ${head}, dropped ${missing.length}, declared in ${ranges} ranges by ${rows.filter((r) => r.type === 'system.spool.overflow').length} stored records (${records} sealed), stored ${rows.length}, max stored overflow records ${maxDecl}, flush rounds ${rounds}`);
  } finally {
    spool.close();
  }
});

// An event row whose payload row is gone (the v2 invariant broken from outside the spool)
// must not be skipped silently by the forwarder's join: at open, the spool removes it and
// reports the unsent ones as exact dropped ranges (SqliteSpool.removeOrphans).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteSpool } from '../../agent/spool/sqlite-spool.js';
import { sealMany, tempDir, testChain, testKeys } from '../helpers/chain.js';

test('orphaned events: unsent ones are removed and returned as exact ranges, sent ones just leave', (t) => {
  const dir = tempDir('gw-spool-orphans-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'spool.db');
  const chain = testChain({ keys: testKeys(dir), head: null });
  const evs = sealMany(chain, 20);
  const epoch = evs[0].body.epoch;

  const first = openSqliteSpool({ path, quotaBytes: 1 << 30, retentionHours: 24 });
  assert.equal(first.info.lostPayloads, undefined);
  first.spool.append(evs);
  const rows = first.spool.readUnsent(0, 100);
  first.spool.markSent(rows.slice(0, 5).map((r) => r.rowid)); // seqs of rows 1–5 delivered
  const before = first.spool.stats();
  first.spool.close();

  const bySeq = new Map(rows.map((r) => [r.seq, r.rowid]));
  const db = new Database(path);
  const drop = db.prepare('DELETE FROM payloads WHERE rowid = ?');
  const seqs = [rows[2].seq, rows[7].seq, rows[8].seq, rows[9].seq, rows[15].seq]; // one sent, four unsent
  for (const s of seqs) drop.run(bySeq.get(s));
  db.close();

  const second = openSqliteSpool({ path, quotaBytes: 1 << 30, retentionHours: 24 });
  assert.deepEqual(second.info.lostPayloads, [
    { epoch, from: rows[7].seq, to: rows[9].seq },
    { epoch, from: rows[15].seq, to: rows[15].seq },
  ]);
  const after = second.spool.stats();
  assert.equal(after.depth, before.depth - 5);
  assert.equal(after.unsent, before.unsent - 4);
  assert.equal(after.droppedEvents, before.droppedEvents + 4);
  const lostBytes = seqs.reduce((n, s) => n + (rows.find((r) => r.seq === s)?.payload.length ?? 0), 0);
  assert.ok(after.bytes < before.bytes && before.bytes - after.bytes > lostBytes, 'the byte total follows the removed rows');
  const unsentSeqs = second.spool.readUnsent(0, 100).map((r) => r.seq);
  for (const s of seqs) assert.ok(!unsentSeqs.includes(s), `seq ${s} no longer listed`);

  // Nothing left to find on the next open.
  second.spool.close();
  const third = openSqliteSpool({ path, quotaBytes: 1 << 30, retentionHours: 24 });
  assert.equal(third.info.lostPayloads, undefined);
  assert.equal(third.spool.stats().droppedEvents, before.droppedEvents + 4, 'the count persisted');
  third.spool.close();
});

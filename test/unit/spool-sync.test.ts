// Sent marks commit without an fsync of their own (synchronous=NORMAL for that
// transaction only); appends — accepted events — must stay synchronous=FULL (docs/contracts.md §Spool).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { openSqliteSpool } from '../../agent/spool/sqlite-spool.js';
import { sealMany, tempDir, testChain, testKeys } from '../helpers/chain.js';

const FULL = 2;

test('markSent leaves the connection at synchronous=FULL for the next append', (t) => {
  const dir = tempDir('gw-spool-sync-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { spool } = openSqliteSpool({ path: join(dir, 'spool.db'), quotaBytes: 1e9, retentionHours: 24 });
  t.after(() => spool.close());
  const db = (spool as unknown as { db: Database.Database }).db;
  const sync = () => db.pragma('synchronous', { simple: true });
  assert.equal(sync(), FULL, 'opened FULL');
  const chain = testChain({ keys: testKeys(dir), head: null });
  spool.append(sealMany(chain, 5));
  spool.markSent(spool.readUnsent(0, 10).map((r) => r.rowid));
  assert.equal(sync(), FULL, 'back to FULL after a mark');
  assert.equal(spool.stats().unsent, 0);
  // A failing mark transaction restores FULL too.
  db.exec('CREATE TRIGGER fail_mark BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, \'boom\'); END');
  spool.append(sealMany(chain, 2));
  assert.throws(() => spool.markSent(spool.readUnsent(0, 10).map((r) => r.rowid)), /boom/);
  assert.equal(sync(), FULL, 'back to FULL after a failed mark');
});

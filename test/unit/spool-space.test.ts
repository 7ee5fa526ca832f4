// The effective quota respects the filesystem (agent/spool/space.ts): a spool whose
// configured quota is larger than its filesystem evicts early — declared like any quota
// eviction — instead of filling the disk until writes fail. The filesystem is simulated
// by an injected statfs whose free space is a fixed capacity minus the real spool files'
// sizes (db, WAL, shm), so the SQLite file's real growth, WAL and freelist reuse count.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Chain, SealedEvent } from '../../agent/chain/chain.js';
import { openSqliteSpool } from '../../agent/spool/sqlite-spool.js';
import { EffectiveQuota, MIN_MARGIN_BYTES } from '../../agent/spool/space.js';
import type { DroppedRange } from '../../agent/spool/types.js';
import { tempDir, testChain, testKeys } from '../helpers/chain.js';

const root = tempDir('gw-space-');
after(() => rmSync(root, { recursive: true, force: true }));
const KEYS = testKeys(join(root, 'keys'));
const MiB = 1024 * 1024;

function size(p: string): number {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
}

function reading(chain: Chain, i: number): SealedEvent {
  return chain.seal({ driver: 'test', device: 'dev-1', type: 'sensor.reading', severity: 'info', data: { i, pad: 'x'.repeat(400) } });
}

/** Fill a spool on a simulated filesystem of `capacity` bytes; returns what happened. */
function fill(name: string, capacity: number, batches: number, quotaBytes = 1024 * MiB) {
  const path = join(root, `${name}.db`);
  let clock = 1_000_000;
  let statfsCalls = 0;
  let minFree = Infinity;
  const used = (): number => size(path) + size(`${path}-wal`) + size(`${path}-shm`);
  const statfs = (dir: string) => {
    assert.equal(dir, root, 'statfs asks about the spool directory');
    statfsCalls++;
    return { bavail: Math.max(0, Math.floor((capacity - used()) / 4096)), bsize: 4096 };
  };
  const { spool } = openSqliteSpool({ path, quotaBytes, retentionHours: 24, now: () => clock, space: { dir: root, reserveBytes: 0, statfs } });
  const chain = testChain({ keys: KEYS });
  const dropped: DroppedRange[] = [];
  let appended = 0;
  spool.append([chain.newEpoch('fresh', null)]);
  for (let b = 0; b < batches; b++) {
    const batch = Array.from({ length: 100 }, () => reading(chain, ++appended));
    dropped.push(...spool.append(batch).dropped);
    minFree = Math.min(minFree, capacity - used());
    clock += 100; // ten appends a second
  }
  const stats = spool.stats();
  spool.close();
  return { stats, dropped, appended, statfsCalls, minFree };
}

test('a quota larger than the filesystem: eviction starts before the disk fills, declared, statfs read once a second', () => {
  const capacity = 12 * MiB;
  const batches = 400; // 40,000 readings of ~1 KiB signed: ~3x the filesystem
  const r = fill('small-fs', capacity, batches);
  const droppedCount = r.dropped.reduce((n, x) => n + x.to - x.from + 1, 0);
  console.log(
    `simulated ${capacity / MiB} MiB filesystem, quota 1 GiB: ${r.appended} appended, ${r.stats.depth} kept, ${droppedCount} dropped (declared ranges ${r.dropped.length}), ` +
      `effective quota ${r.stats.effectiveQuotaBytes} B, least free ${(r.minFree / 1024).toFixed(0)} KiB, ${r.statfsCalls} statfs reads for ${batches} appends`,
  );
  assert.ok(r.minFree > 0, `the simulated filesystem never filled (least free ${r.minFree} B)`);
  assert.ok(droppedCount > 0, 'events were evicted for the filesystem');
  assert.equal(r.stats.depth + droppedCount, r.appended + 1, 'every event is kept or declared dropped');
  assert.ok(r.stats.effectiveQuotaBytes !== undefined && r.stats.effectiveQuotaBytes < r.stats.quotaBytes, 'stats show the effective quota while it is below the configured one');
  assert.ok(r.stats.bytes <= r.stats.effectiveQuotaBytes! + 100 * 1100, 'the spool keeps to the effective quota');
  assert.ok(r.statfsCalls <= batches / 10 + 2, `statfs is read at a cadence, not per append (${r.statfsCalls})`);
});

test('a filesystem with room: the configured quota rules, nothing evicted, no effective quota shown', () => {
  const r = fill('big-fs', 512 * MiB, 30, 256 * MiB);
  assert.equal(r.dropped.length, 0);
  assert.equal(r.stats.effectiveQuotaBytes, undefined);
  assert.equal(r.stats.depth, r.appended + 1);
});

test('EffectiveQuota: min(quota, spool bytes + free + free pages − margin), re-read when due or invalidated', () => {
  let free = 10 * MiB;
  let calls = 0;
  const q = new EffectiveQuota(8 * MiB, { dir: '/x', reserveBytes: 2 * MiB, statfs: () => (calls++, { bavail: free / 1024, bsize: 1024 }), intervalMs: 1000 });
  assert.equal(q.margin, 2 * MiB);
  assert.deepEqual(q.read(0, 1 * MiB, () => 0), { effective: 8 * MiB, freeBytes: 10 * MiB, limited: false });
  free = 3 * MiB;
  assert.equal(q.read(500, 1 * MiB, () => 0).effective, 8 * MiB, 'not due: the last reading');
  assert.equal(calls, 1);
  assert.deepEqual(q.read(1000, 1 * MiB, () => MiB / 2), { effective: 2.5 * MiB, freeBytes: 3 * MiB, limited: true });
  assert.equal(q.read(2000, 1 * MiB, () => -MiB).effective, 1 * MiB, 'WAL growth still to come counts against the room');
  free = 0;
  q.invalidate();
  assert.equal(q.read(1001, 1 * MiB, () => 0).effective, 0, 'a full filesystem: nothing beyond the margin, never negative');
  assert.equal(calls, 4);
  assert.equal(new EffectiveQuota(MiB, { dir: '/x', reserveBytes: 0 }).margin, MIN_MARGIN_BYTES);
  const broken = new EffectiveQuota(MiB, { dir: '/x', reserveBytes: 0, statfs: () => { throw new Error('EIO'); } });
  assert.equal(broken.read(0, 0, () => 0).effective, MiB, 'an unreadable filesystem leaves the configured quota');
});

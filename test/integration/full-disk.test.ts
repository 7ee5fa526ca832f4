// Full disk with the broker down, against the real daemon process: the state dir sits on a
// real tmpfs mounted in a private mount namespace that this test creates (unshare -m) and
// removes (its holder process ends, so the mount goes with the namespace; nothing is ever
// mounted in the host's namespace). A filler file keeps the filesystem full for a while
// at a high event rate. Sampled meanwhile: the in-memory backlog stays within
// spool.maxBacklogEvents + the agent reserve, RSS growth stays bounded, and the head the
// daemon shows (health, = status) is never ahead of what the spool file committed. Then
// space returns, the daemon declares the refusals (system.spool.write_failed), is killed
// with SIGKILL at a random moment, restarts, and a real mosquitto comes up: everything
// received plus the spool export verifies, every seq from 1 is there with one body, and
// every head shown during the failure has the same hash in the final chain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { gatewayPubkey } from '../helpers/daemon.js';
import { bodiesBySeq, drainAndStop, skipReason, spoolReader, startFullDiskRig, topUp, waitForAsync, waitSentReceived } from '../helpers/full-disk.js';
import { verifyEvents } from '../../agent/verify/index.js';
import type { SpoolWriteHealth } from '../../agent/metrics.js';

const MAX_BACKLOG = 2000;
const AGENT_RESERVE = 256; // AGENT_RESERVE_EVENTS
/** RSS may grow this much over the pre-failure sample (see the bound's reasoning below). */
const RSS_BOUND = 64 * 1024 * 1024;
const FAIL_MS = Number(process.env.GW_FULL_DISK_MS ?? 20_000);

interface Health {
  rssBytes: number;
  head: { epoch: string; seq: number; hash: string };
  spool: { write: SpoolWriteHealth };
}

const why = skipReason();
test('full disk at a high event rate, broker down: bounded memory, committed heads only, declared refusals; kill -9, restart, broker up: the chain verifies from seq 1', { skip: why ?? false, timeout: 180_000 }, async (t) => {
  const rig = await startFullDiskRig(t, { name: 'full-disk', maxBacklogEvents: MAX_BACKLOG });
  const { broker, sub, mnt, ns, stateDir, prefix } = rig;
  const health = (): Promise<Health> => rig.health<Health>();
  await new Promise((r) => setTimeout(r, 1500));
  const reader = spoolReader(prefix, join(stateDir, 'spool.db'));
  t.after(() => reader.close());
  const base = await health();
  assert.equal(base.spool.write.state, 'ok');

  // Fill the filesystem and keep it full (a runaway log would do the same).
  const filler = ns.path(join(mnt, 'filler'));
  let filled = topUp(filler);
  const shown: Array<{ epoch: string; seq: number; hash: string }> = [];
  let maxRss = base.rssBytes;
  let maxUncommitted = 0;
  let samples = 0;
  let failingSamples = 0;
  const until = Date.now() + FAIL_MS;
  while (Date.now() < until) {
    filled += topUp(filler);
    const h = await health();
    const committed = await reader.head();
    samples++;
    shown.push(h.head);
    maxRss = Math.max(maxRss, h.rssBytes);
    maxUncommitted = Math.max(maxUncommitted, h.spool.write.uncommitted);
    if (h.spool.write.state === 'failing') failingSamples++;
    assert.ok(committed && h.head.seq <= committed.seq, `health head ${h.head.seq} is not ahead of the committed head ${committed?.seq}`);
    assert.ok(h.spool.write.uncommitted <= MAX_BACKLOG + AGENT_RESERVE, `uncommitted ${h.spool.write.uncommitted} within the bound`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const during = await health();
  const w = during.spool.write;
  assert.equal(w.state, 'failing', 'the disk is full: writes fail');
  assert.ok(w.refusedTotal > 1000, `observations refused (${w.refusedTotal})`);
  assert.equal(w.reserve?.releases, 1, 'the reserve was released once');
  assert.ok(['SQLITE_FULL', 'SQLITE_IOERR', 'ENOSPC'].includes(w.lastError?.code ?? ''), `error code ${w.lastError?.code}`);
  // Bound: MAX_BACKLOG + reserve sealed events (~2-3 KiB each with their canonical bytes,
  // payload and Buffer) are < 8 MiB; the rest is V8 heap slack and the refusal errors'
  // garbage between collections. Without the bound this rate (about 3,000 ev/s) would
  // hold ~60,000 events (> 150 MiB) after 20 s.
  const rssGrowth = maxRss - base.rssBytes;
  assert.ok(rssGrowth < RSS_BOUND, `RSS grew ${(rssGrowth / 2 ** 20).toFixed(1)} MiB (bound ${RSS_BOUND / 2 ** 20} MiB)`);

  // Space returns; wait for the declaration to be committed, then kill -9 at a random moment.
  rmSync(filler);
  await waitForAsync(async () => (await reader.rows()).some((r) => r.type === 'system.spool.write_failed' && JSON.parse(r.payload).body.data.refused.count > 0), 'write-failure declaration committed', 30_000);
  const killAfter = Math.floor(Math.random() * 2000);
  await new Promise((r) => setTimeout(r, killAfter));
  const lastShown = await health();
  shown.push(lastShown.head);
  rig.d.child.kill('SIGKILL');
  await rig.d.exited;

  rig.respawn();
  await new Promise((r) => setTimeout(r, 1500));
  await broker.restart();
  await drainAndStop(rig);
  const rows = await reader.rows();
  await waitSentReceived(sub, rows);

  // Everything received plus the export: one body per seq, every seq from 1, verified.
  const payloads = [...sub.messages.map((m) => m.payload), ...rows.map((r) => r.payload)];
  const bySeq = bodiesBySeq(payloads);
  const epochs = new Set([...bySeq.values()].map((b) => JSON.parse(b).epoch as string));
  assert.equal(epochs.size, 1, 'one epoch');
  const top = Math.max(...bySeq.keys());
  // The effective quota may evict early while the filesystem is full (agent/spool/space.ts):
  // such seqs are declared by signed overflow records, never silently missing.
  const declared = new Set<number>();
  for (const b of bySeq.values()) {
    const body = JSON.parse(b);
    if (body.type === 'system.spool.overflow') for (const r of body.data.dropped) for (let q = r.from; q <= r.to; q++) declared.add(q);
  }
  const missing = [];
  for (let s = 1; s <= top; s++) if (!bySeq.has(s) && !declared.has(s)) missing.push(s);
  assert.deepEqual(missing.slice(0, 10), [], `no undeclared gap from seq 1 (${missing.length} missing)`);
  const report = verifyEvents(payloads, { pubkeys: [gatewayPubkey(ns.path(stateDir))], fromStart: true });
  assert.equal(report.ok, true, JSON.stringify(report.chains.flatMap((c) => c.findings).slice(0, 5)));

  // Every head shown during the failure is in the final chain with the same hash.
  for (const h of shown) {
    if (h.seq === 0) continue;
    const next = bySeq.get(h.seq + 1);
    if (next) assert.equal(JSON.parse(next).prev, h.hash, `head seq ${h.seq} shown with hash ${h.hash} is the chain's`);
  }

  const declarations = [...bySeq.values()].map((b) => JSON.parse(b)).filter((b) => b.type === 'system.spool.write_failed');
  assert.ok(declarations.length >= 1, 'the write-failure record is there');
  const refusedDeclared = declarations.reduce((n, b) => n + b.data.refused.count, 0);
  assert.equal(refusedDeclared, lastShown.spool.write.refusedTotal, 'every refusal declared');
  for (const b of declarations) assert.equal(b.severity, 'alarm');
  console.log(
    `full disk ${FAIL_MS / 1000}s: ${samples} samples (${failingSamples} failing), filler ${(filled / 2 ** 20).toFixed(1)} MiB, ` +
      `max uncommitted ${maxUncommitted} (bound ${MAX_BACKLOG}+${AGENT_RESERVE}), RSS ${(base.rssBytes / 2 ** 20).toFixed(0)} -> max ${(maxRss / 2 ** 20).toFixed(0)} MiB, ` +
      `refused ${lastShown.spool.write.refusedTotal} (${declarations.length} write_failed records, error ${w.lastError?.code}, attempts ${declarations.map((b) => b.data.attempts).join('/')}), ` +
      `killed ${killAfter} ms after recovery; final chain ${top} seqs (${declared.size} declared dropped), ${sub.messages.length} messages received, ${rows.length} rows exported, verify ok`,
  );
});

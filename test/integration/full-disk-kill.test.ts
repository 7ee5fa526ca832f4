// Full disk, killed *while* writes fail, against the real daemon process: the state dir on
// a real tmpfs in a private mount namespace (test/helpers/full-disk.ts), the broker down,
// two synthetic sources at full speed. The filler keeps the filesystem full until the
// daemon refuses observations; the refusal ledger (spool.refusals, agent/refusal-keeper.ts)
// is saved at most once a second, so the test samples the refusals, waits past a save and
// kills the daemon with SIGKILL while its writes still fail. Space returns, the daemon
// restarts, mosquitto comes up: a signed system.spool.write_failed marked `recovered`
// declares the refusals the killed process counted, and everything received plus the
// spool export verifies from seq 1 with no seq carrying two bodies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { gatewayPubkey } from '../helpers/daemon.js';
import { bodiesBySeq, drainAndStop, skipReason, spoolReader, startFullDiskRig, topUp, waitForAsync, waitSentReceived } from '../helpers/full-disk.js';
import { verifyEvents } from '../../agent/verify/index.js';
import type { SpoolWriteHealth } from '../../agent/metrics.js';

interface Health {
  head: { epoch: string; seq: number; hash: string };
  spool: { unsent: number; write: SpoolWriteHealth };
}

const why = skipReason();
test('kill -9 while spool writes fail: after the restart a recovered system.spool.write_failed declares the refusals', { skip: why ?? false, timeout: 150_000 }, async (t) => {
  const rig = await startFullDiskRig(t, { name: 'full-disk-kill', maxBacklogEvents: 1000 });
  const { broker, sub, mnt, ns, stateDir, prefix } = rig;
  const health = (): Promise<Health> => rig.health<Health>();

  // Fill the filesystem and keep it full until observations are refused for a while.
  const filler = ns.path(join(mnt, 'filler'));
  topUp(filler);
  await waitForAsync(async () => {
    topUp(filler);
    const h = await health();
    return h.spool.write.state === 'failing' && h.spool.write.refusedTotal > 2000;
  }, 'writes failing and observations refused', 60_000);
  // The ledger is saved at most once a second: what health shows now is on disk 1.5 s later.
  const before = (await health()).spool.write;
  await new Promise((r) => setTimeout(r, 1500));
  topUp(filler);
  const atKill = (await health()).spool.write;
  assert.equal(atKill.state, 'failing', 'still failing when killed');
  assert.equal(atKill.refusedUndeclared, atKill.refusedTotal, 'nothing declared yet: the record could not commit');
  rig.d.child.kill('SIGKILL');
  await rig.d.exited;

  // Space returns; restart; the broker comes up.
  rmSync(filler);
  await rig.respawn().waitLog(/gatewarden running/);
  await broker.restart();
  await drainAndStop(rig);
  const reader = spoolReader(prefix, join(stateDir, 'spool.db'));
  t.after(() => reader.close());
  const rows = await reader.rows();
  await waitSentReceived(sub, rows);

  const payloads = [...sub.messages.map((m) => m.payload), ...rows.map((r) => r.payload)];
  const bySeq = bodiesBySeq(payloads);
  const report = verifyEvents(payloads, { pubkeys: [gatewayPubkey(ns.path(stateDir))], fromStart: true });
  assert.equal(report.ok, true, JSON.stringify(report.chains.flatMap((c) => c.findings).slice(0, 5)));

  const records = [...bySeq.values()].map((b) => JSON.parse(b)).filter((b) => b.type === 'system.spool.write_failed');
  const recovered = records.filter((b) => b.data.recovered?.afterCrash === true);
  assert.equal(recovered.length, 1, `one recovered write-failure record (${records.length} in all)`);
  const r = recovered[0].data;
  assert.ok(r.refused.count >= before.refusedTotal, `the recovered record declares at least what was counted 1.5 s before the kill (${r.refused.count} >= ${before.refusedTotal})`);
  assert.ok(r.refused.count <= atKill.refusedTotal, `and no more than was counted at the kill (${r.refused.count} <= ${atKill.refusedTotal})`);
  assert.ok(['SQLITE_FULL', 'SQLITE_IOERR', 'ENOSPC'].includes(r.error.code), `error ${r.error.code}`);
  assert.equal(recovered[0].severity, 'alarm');
  assert.match(rig.d.out(), /refusals a previous process counted/);
  console.log(
    `killed while failing: ${atKill.refusedTotal} refused at the kill (${before.refusedTotal} 1.5 s before), recovered record declares ${r.refused.count} ` +
      `(${r.refused.byDriverType.map((x: { driver: string; type: string; count: number }) => `${x.driver}/${x.type} ${x.count}`).join(', ')}), window ${r.since} .. ${r.until}; ` +
      `final chain ${bySeq.size} seqs, ${sub.messages.length} messages received, verify --from-start ok`,
  );
});

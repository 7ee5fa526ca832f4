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
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startMosquitto } from '../helpers/mosquitto.js';
import { probe, waitFor } from '../helpers/mqtt-probe.js';
import { tempDir } from '../helpers/chain.js';
import { gatewayPubkey, spawnDaemon, writeDaemonConfig, type DaemonProcess } from '../helpers/daemon.js';
import { controlRequest } from '../../agent/control/client.js';
import { hostHasMount, skipReason, spoolReader, tmpfsNamespace, topUp, waitForAsync } from '../helpers/full-disk.js';
import { verifyEvents } from '../../agent/verify/index.js';
import type { SpoolWriteHealth } from '../../agent/metrics.js';

interface Health {
  head: { epoch: string; seq: number; hash: string };
  spool: { unsent: number; write: SpoolWriteHealth };
}

const why = skipReason();
test('kill -9 while spool writes fail: after the restart a recovered system.spool.write_failed declares the refusals', { skip: why ?? false, timeout: 150_000 }, async (t) => {
  const broker = await startMosquitto({ persistence: true });
  t.after(() => broker.stop());
  const sub = await probe(broker.url, 'gatewarden/v1/site-t/gw-t/evt/#', { clean: false, clientId: `full-disk-kill-${process.pid}`, properties: { sessionExpiryInterval: 3600 } });
  t.after(() => sub.close());
  await broker.halt('SIGTERM');

  const dir = tempDir('gw-full-disk-kill-');
  const mnt = join(dir, 'fs');
  mkdirSync(mnt);
  const ns = await tmpfsNamespace(mnt, '32m');
  t.after(async () => {
    await ns.destroy();
    assert.equal(hostHasMount(mnt), false, 'nothing left mounted in the host namespace');
    rmSync(dir, { recursive: true, force: true });
  });
  const stateDir = join(mnt, 'state');
  const sock = join(dir, 'control.sock');
  const config = writeDaemonConfig(dir, {
    stateDir,
    log: { level: 'info', format: 'json' },
    control: { socket: sock },
    mqtt: { url: broker.url, reconnect: { minMs: 100, maxMs: 500 } },
    spool: { quotaBytes: '16MiB', maxBacklogEvents: 1000, reserveBytes: '256KiB' },
    drivers: { synthetic: [0, 1].map((i) => ({ id: `load-${i}`, intervalMs: 0 })) },
  });
  const prefix = ['nsenter', '-t', String(ns.pid), '-m', `--wd=${process.cwd()}`, '--'];
  let d: DaemonProcess = spawnDaemon(config, { prefix });
  t.after(async () => {
    if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    await d.exited;
  });
  await d.waitLog(/gatewarden running/).catch((e) => {
    throw new Error(`${(e as Error).message}\n${d.out().slice(-2000)}`);
  });
  const health = (): Promise<Health> => controlRequest<Health>(sock, 'health', 10_000);
  await waitForAsync(async () => (await health().catch(() => null)) !== null, 'control socket', 10_000);

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
  d.child.kill('SIGKILL');
  await d.exited;

  // Space returns; restart; the broker comes up.
  rmSync(filler);
  d = spawnDaemon(config, { prefix });
  await d.waitLog(/gatewarden running/);
  await broker.restart();
  await waitForAsync(async () => {
    const h = await health().catch(() => null);
    return h !== null && sub.messages.length > 0 && h.spool.unsent < 500;
  }, 'the forwarder caught up with the backlog', 90_000);
  d.child.kill('SIGTERM');
  assert.equal(await d.exited, 0, d.out().slice(-2000));
  const reader = spoolReader(prefix, join(stateDir, 'spool.db'));
  t.after(() => reader.close());
  const rows = await reader.rows();
  const sent = new Set(rows.filter((r) => r.sentAt !== null).map((r) => r.seq));
  await waitFor(() => {
    const got = new Set(sub.messages.map((m) => JSON.parse(m.payload).body.seq as number));
    return [...sent].every((s) => got.has(s));
  }, 'acknowledged events received', 30_000);

  const payloads = [...sub.messages.map((m) => m.payload), ...rows.map((r) => r.payload)];
  const bySeq = new Map<number, string>();
  for (const p of payloads) {
    const body = JSON.parse(p).body;
    const prior = bySeq.get(body.seq);
    assert.ok(prior === undefined || prior === JSON.stringify(body), `seq ${body.seq} carries two bodies`);
    bySeq.set(body.seq, JSON.stringify(body));
  }
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
  assert.match(d.out(), /refusals a previous process counted/);
  console.log(
    `killed while failing: ${atKill.refusedTotal} refused at the kill (${before.refusedTotal} 1.5 s before), recovered record declares ${r.refused.count} ` +
      `(${r.refused.byDriverType.map((x: { driver: string; type: string; count: number }) => `${x.driver}/${x.type} ${x.count}`).join(', ')}), window ${r.since} .. ${r.until}; ` +
      `final chain ${bySeq.size} seqs, ${sub.messages.length} messages received, verify --from-start ok`,
  );
});

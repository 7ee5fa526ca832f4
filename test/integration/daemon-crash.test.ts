// docs/contracts.md §Spool: an event accepted (committed) before `kill -9` is delivered after restart.
// 20 SIGKILL/restart cycles of the real daemon under load, against a real mosquitto; then
// the verifier must see one clean chain and every accepted event must have arrived.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startMosquitto } from '../helpers/mosquitto.js';
import { probe, waitFor } from '../helpers/mqtt-probe.js';
import { tempDir } from '../helpers/chain.js';
import { allSpoolRows, gatewayPubkey, spawnDaemon, writeDaemonConfig } from '../helpers/daemon.js';
import { verifyEvents } from '../../agent/verify/index.js';

const CYCLES = 20;

test(`${CYCLES} SIGKILL/restart cycles under load: every accepted event delivered, chain clean`, { timeout: 240_000 }, async (t) => {
  const broker = await startMosquitto();
  t.after(() => broker.stop());
  const sub = await probe(broker.url, 'gatewarden/v1/site-t/gw-t/evt/#');
  t.after(() => sub.close());
  const dir = tempDir();
  const config = writeDaemonConfig(dir, {
    mqtt: { url: broker.url, reconnect: { minMs: 100, maxMs: 1000 } },
    chain: { checkpoint: { everyEvents: 250, everySeconds: 5 } },
    drivers: { synthetic: [{ id: 'load-a', intervalMs: 1 }, { id: 'load-b', intervalMs: 1, type: 'access.card.read', severity: 'notice' }] },
  });
  const spoolPath = join(dir, 'state', 'spool.db');
  let acceptedBeforeKill = 0;
  for (let i = 0; i < CYCLES; i++) {
    const d = spawnDaemon(config);
    await d.waitLog(/gatewarden running/);
    // Let it work for a random while so kills land in every phase (mid-batch, mid-publish).
    await new Promise((r) => setTimeout(r, 150 + Math.floor(Math.random() * 400)));
    d.child.kill('SIGKILL');
    assert.equal(await d.exited, 'SIGKILL');
    const rows = allSpoolRows(spoolPath);
    assert.ok(rows.length >= acceptedBeforeKill, `cycle ${i}: spool shrank from ${acceptedBeforeKill} to ${rows.length}`);
    acceptedBeforeKill = rows.length;
  }
  // A last, clean run without load drains the backlog and stops gracefully.
  const quiet = writeDaemonConfig(dir, {
    mqtt: { url: broker.url, reconnect: { minMs: 100, maxMs: 1000 } },
    chain: { checkpoint: { everyEvents: 250, everySeconds: 5 } },
  });
  const last = spawnDaemon(quiet);
  await last.waitLog(/gatewarden running/);
  const rowsNow = (): number => allSpoolRows(spoolPath).filter((r) => r.sentAt === null).length;
  await waitFor(() => rowsNow() === 0, 'backlog drained', 60_000);
  last.child.kill('SIGTERM');
  assert.equal(await last.exited, 0, last.out().slice(-2000));

  const rows = allSpoolRows(spoolPath);
  // The spool keeps sent rows for the retention window: it is the list of accepted events.
  const epochs = new Set(rows.map((r) => r.epoch));
  assert.equal(epochs.size, 1, 'one key, one spool: one epoch across all crashes');
  rows.forEach((r, i) => assert.equal(r.seq, i + 1, `spool seqs contiguous (row ${i})`));
  assert.ok(rows.length > CYCLES * 50, `load was real: ${rows.length} events`);
  const unsent = rows.filter((r) => r.sentAt === null);
  assert.equal(unsent.length, 0);

  await waitFor(() => new Set(sub.messages.map((m) => m.payload)).size >= rows.length, `all ${rows.length} events received`, 60_000);
  const received = new Set(sub.messages.map((m) => m.payload));
  const missing = rows.filter((r) => !received.has(r.payload));
  assert.deepEqual(missing.map((r) => r.seq), [], 'accepted events never delivered');

  const report = verifyEvents(sub.messages.map((m) => m.payload), { pubkeys: [gatewayPubkey(join(dir, 'state'))] });
  assert.equal(report.ok, true, JSON.stringify(report.findings.concat(report.chains.flatMap((c) => c.findings)).slice(0, 10)));
  assert.equal(report.chains.length, 1);
  assert.equal(report.chains[0].lastSeq, rows.length);
  const starts = rows.filter((r) => r.type === 'system.agent.start').length;
  assert.equal(starts, CYCLES + 1);
});

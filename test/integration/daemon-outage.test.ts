// Broker stopped for a while under load, then started again: every event arrives, first
// deliveries in seq order, the chain verifies clean, and the backlog is marked hist=1.
// Real daemon process, real mosquitto (with persistence so the subscriber's session and
// its queued messages survive the broker restart).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startMosquitto } from '../helpers/mosquitto.js';
import { probe, waitFor } from '../helpers/mqtt-probe.js';
import { tempDir } from '../helpers/chain.js';
import { allSpoolRows, gatewayPubkey, startDaemon } from '../helpers/daemon.js';
import { verifyEvents } from '../../agent/verify/index.js';

test('broker outage under load: all events arrive in order, chain clean, backlog marked historical', { timeout: 120_000 }, async (t) => {
  const broker = await startMosquitto({ persistence: true });
  t.after(() => broker.stop());
  const sub = await probe(broker.url, 'gatewarden/v1/site-t/gw-t/evt/#', {
    clean: false,
    clientId: `outage-probe-${process.pid}`,
    properties: { sessionExpiryInterval: 3600 },
  });
  t.after(() => sub.close());
  const dir = tempDir();
  const { d } = await startDaemon(t, dir, { mqtt: { url: broker.url, reconnect: { minMs: 100, maxMs: 800 } }, drivers: { synthetic: [{ id: 'load', intervalMs: 2 }] } }, { stop: 'SIGKILL' });
  await waitFor(() => sub.messages.length > 100, 'live events before the outage');
  await broker.halt('SIGTERM');
  const lastLiveSeq = Math.max(...sub.messages.map((m) => JSON.parse(m.payload).body.seq as number));
  const spoolPath = join(dir, 'state', 'spool.db');
  const before = allSpoolRows(spoolPath).length;
  await new Promise((r) => setTimeout(r, 3000)); // events pile up in the spool meanwhile
  const during = allSpoolRows(spoolPath);
  assert.ok(during.length > before + 100, `events accepted during the outage (${during.length - before})`);
  assert.ok(during.filter((r) => r.sentAt === null).length > 100, 'a real backlog built up');
  await broker.restart();
  await new Promise((r) => setTimeout(r, 1500));
  d.child.kill('SIGTERM');
  assert.equal(await d.exited, 0, d.out().slice(-2000));

  const rows = allSpoolRows(spoolPath);
  assert.equal(rows.filter((r) => r.sentAt === null).length, 0, 'everything acknowledged before exit');
  await waitFor(() => new Set(sub.messages.map((m) => m.payload)).size >= rows.length, `all ${rows.length} events received`, 30_000);

  // First deliveries in seq order (re-deliveries after the reconnect are allowed).
  const firstSeen: number[] = [];
  const seen = new Set<number>();
  for (const m of sub.messages) {
    const seq = JSON.parse(m.payload).body.seq as number;
    if (!seen.has(seq)) {
      seen.add(seq);
      firstSeen.push(seq);
    }
  }
  for (let i = 1; i < firstSeen.length; i++) assert.ok(firstSeen[i] > firstSeen[i - 1], `first delivery of ${firstSeen[i]} after ${firstSeen[i - 1]}`);

  // The events spooled during the outage were published as history.
  // (Rows in flight at the halt may have reached the subscriber live already: only rows
  // newer than the last live delivery are pure backlog.)
  const outageSeqs = new Set(during.filter((r) => r.sentAt === null && r.seq > lastLiveSeq).map((r) => r.seq));
  assert.ok(outageSeqs.size > 100);
  const outageMsgs = sub.messages.filter((m) => outageSeqs.has(JSON.parse(m.payload).body.seq));
  assert.ok(outageMsgs.length >= outageSeqs.size);
  assert.ok(outageMsgs.every((m) => m.userProperties.hist === '1'), 'backlog marked hist=1');
  // The first few were spooled before the first CONNACK (start-up events): history too.
  assert.ok(sub.messages.slice(10, 100).every((m) => m.userProperties.hist === '0'), 'live events before the outage are not historical');

  const report = verifyEvents(sub.messages.map((m) => m.payload), { pubkeys: [gatewayPubkey(join(dir, 'state'))] });
  assert.equal(report.ok, true, JSON.stringify(report.chains.flatMap((c) => c.findings).slice(0, 5)));
  assert.equal(report.chains[0].lastSeq, rows.length);
});

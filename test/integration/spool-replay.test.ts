// The signed `spool.replay` command against the real daemon and a real mosquitto
// (docs/architecture.md "Replay"): one range that is partly pruned after delivery
// (missing), partly forced out unsent by the quota (declared, naming the overflow
// record's seq) and partly held (re-published hist=1); the answer comes on the MQTT 5
// response topic with the request's correlation data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { signCommand } from '../../agent/commands/sign.js';
import { rawPublicKey } from '../../agent/chain/keys.js';
import { openSqliteSpool } from '../../agent/spool/sqlite-spool.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { probe, waitFor } from '../helpers/mqtt-probe.js';
import { tempDir } from '../helpers/chain.js';
import { allSpoolRows, spawnDaemon, writeDaemonConfig } from '../helpers/daemon.js';

const BASE = 'gatewarden/v1/site-t/gw-t';

interface ReplayAnswer {
  id: string;
  ok: boolean;
  data: { replayed: number; missing: Array<{ from: number; to: number }>; declared: Array<{ from: number; to: number; seq: number }> };
}

test('spool.replay over a real broker: held events re-published hist=1, evicted ones declared, pruned ones missing', { timeout: 120_000 }, async (t) => {
  const broker = await startMosquitto();
  t.after(() => broker.stop());
  const platform = generateKeyPairSync('ed25519');
  const dir = tempDir();
  const state = join(dir, 'state');
  const spoolPath = join(state, 'spool.db');
  const base = {
    mqtt: { url: broker.url, reconnect: { minMs: 100, maxMs: 500 } },
    commands: { publicKey: rawPublicKey(platform.publicKey).toString('base64url') },
    spool: { quotaBytes: 40_000, reserveBytes: 0 },
  };
  const config = writeDaemonConfig(dir, { ...base, drivers: { synthetic: [{ id: 'tick', intervalMs: 5, count: 40, padBytes: 300 }] } });

  // 1. Delivered, then pruned (retention 0): these seqs become `missing`.
  let d = spawnDaemon(config);
  await d.waitLog(/connected to MQTT broker/);
  await new Promise((r) => setTimeout(r, 500)); // 40 readings at 5 ms
  await waitFor(() => allSpoolRows(spoolPath).every((r) => r.sentAt !== null), 'all delivered');
  d.child.kill('SIGTERM');
  assert.equal(await d.exited, 0);
  const { spool } = openSqliteSpool({ path: spoolPath, quotaBytes: 40_000, retentionHours: 0 });
  const pruned = spool.prune(Date.now() + 1000);
  spool.close();
  assert.ok(pruned > 0, `pruned ${pruned}`);

  // 2. Broker down, a burst over the quota: unsent readings evicted and declared.
  await broker.halt();
  const config2 = writeDaemonConfig(dir, { ...base, drivers: { synthetic: [{ id: 'tick', intervalMs: 1, count: 300, padBytes: 300 }] } });
  d = spawnDaemon(config2);
  t.after(async () => {
    d.child.kill('SIGTERM');
    await d.exited;
  });
  await d.waitLog(/gatewarden running/);
  await waitFor(() => allSpoolRows(spoolPath).some((r) => r.type === 'system.spool.overflow'), 'an overflow record');
  await new Promise((r) => setTimeout(r, 1500)); // the burst ends (300 × 1 ms) and its drops are declared
  await broker.restart();
  const sub = await probe(broker.url, `${BASE}/#`);
  t.after(() => sub.close());
  await waitFor(() => allSpoolRows(spoolPath).every((r) => r.sentAt !== null), 'the rest delivered');

  const rows = allSpoolRows(spoolPath);
  const epoch = rows[rows.length - 1].epoch;
  const held = rows.filter((r) => r.epoch === epoch).map((r) => r.seq);
  const top = Math.max(...held);
  const fromSeq = 1;
  const toSeq = top;
  const before = sub.messages.length;
  const cmd = signCommand(platform.privateKey, 'spool.replay', { epoch, fromSeq, toSeq });
  const replyTo = `${BASE}/replies`;
  sub.client.publish(`${BASE}/cmd/spool.replay`, JSON.stringify(cmd), { qos: 1, properties: { responseTopic: replyTo, correlationData: Buffer.from('replay-1') } });
  await waitFor(() => sub.on(replyTo).length > 0, 'replay answer');
  const ans = JSON.parse(sub.on(replyTo)[0].payload) as ReplayAnswer;
  assert.equal(ans.ok, true, JSON.stringify(ans));
  assert.equal(ans.id, cmd.body.id);
  assert.equal(ans.data.replayed, held.filter((s) => s >= fromSeq && s <= toSeq).length);
  // Every seq of the range is accounted for exactly once: held, declared or missing.
  const accounted = new Map<number, string>();
  for (const s of held) accounted.set(s, 'held');
  for (const r of ans.data.declared) for (let s = r.from; s <= r.to; s++) {
    assert.ok(!accounted.has(s), `seq ${s} twice`);
    accounted.set(s, 'declared');
  }
  for (const r of ans.data.missing) for (let s = r.from; s <= r.to; s++) {
    assert.ok(!accounted.has(s), `seq ${s} twice`);
    accounted.set(s, 'missing');
  }
  for (let s = fromSeq; s <= toSeq; s++) assert.ok(accounted.has(s), `seq ${s} accounted`);
  assert.ok(ans.data.declared.length > 0, 'evicted seqs declared');
  assert.ok(ans.data.missing.length > 0 && ans.data.missing[0].from === 1, 'pruned seqs missing (from seq 1)');
  // The declaring records are overflow events the gateway holds.
  const overflowSeqs = new Set(rows.filter((r) => r.type === 'system.spool.overflow').map((r) => r.seq));
  for (const r of ans.data.declared) assert.ok(overflowSeqs.has(r.seq), `declared by held overflow seq ${r.seq}`);

  await waitFor(() => sub.messages.slice(before).filter((m) => m.topic.startsWith(`${BASE}/evt/`) && m.userProperties.hist === '1').length >= ans.data.replayed, 'replayed events, historical');
  const missingN = ans.data.missing.reduce((n, r) => n + r.to - r.from + 1, 0);
  const declaredN = ans.data.declared.reduce((n, r) => n + r.to - r.from + 1, 0);
  console.log(`# replay ${epoch} 1–${toSeq}: replayed ${ans.data.replayed}, declared ${declaredN} (${ans.data.declared.length} run(s)), missing ${missingN}`);
});

// The reference consumer (`gatewarden platform`) against a real mosquitto and the real
// daemon: it stores a chain verified from seq 1 (checked again here, independently, with
// the verifier library over the store's payloads), acks only the verified prefix, reads
// the signed head, and an injected gap (live deliveries of a range ignored on purpose) is
// detected and asked for with a signed spool.replay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { verifyEvents } from '../../agent/verify/verify.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { probe, waitFor } from '../helpers/mqtt-probe.js';
import { tempDir } from '../helpers/chain.js';
import { startDaemon } from '../helpers/daemon.js';
import { platformGatewayConfig, platformKeyFile, preparedGateway, readStore, startConsumer, waitStore } from '../helpers/platform-consumer.js';

const BASE = 'gatewarden/v1/site-t/gw-t';

test('platform consumer: verified chain from seq 1, acks of the verified prefix, gap → spool.replay', { timeout: 60_000 }, async (t) => {
  const broker = await startMosquitto();
  t.after(() => broker.stop());
  const dir = tempDir('gw-platform-');
  const gwy = preparedGateway(dir);
  const pk = platformKeyFile(dir);
  const store = join(dir, 'platform.db');
  const storeGap = join(dir, 'platform-gap.db');

  // Consumers first, so they see the chain from seq 1 live.
  const acks = await probe(broker.url, `${BASE}/ack`);
  t.after(() => acks.close());
  const [c1, c2] = await Promise.all([
    startConsumer(t, ['--url', broker.url, '--store', store, '--keys', gwy.enrolment, '--ack', '--client-id', 'p1', '--view', '500'], 'consumer 1 connected'),
    startConsumer(t, ['--url', broker.url, '--store', storeGap, '--keys', gwy.enrolment, '--platform-key', pk.file, '--client-id', 'p2', '--gap-grace-ms', '500', '--test-drop-live', '40-60', '--view', '0'], 'consumer 2 connected'),
  ]);

  const { d } = await startDaemon(t, dir, platformGatewayConfig(gwy.stateDir, broker.url, { intervalMs: 20, extra: { commands: { publicKey: pk.publicRaw } } }));

  // 1. A verified chain from seq 1.
  const v = await waitStore(store, (s) => s.verified(), (r) => r.length === 1 && r[0].verified_seq >= 150, 'consumer 1 verified ≥ 150', 30_000);
  const s1 = readStore(store);
  const seqs = s1.seqs(v[0].epoch);
  const payloads = s1.payloads();
  s1.close();
  assert.deepEqual(seqs.slice(0, 150), Array.from({ length: 150 }, (_, i) => i + 1), 'every seq from 1 stored once');
  const report = verifyEvents(payloads, { pubkeys: [gwy.pubkey], fromStart: true });
  assert.equal(report.ok, true, JSON.stringify(report.chains[0]?.findings.slice(0, 3)));
  assert.equal(report.chains[0].duplicates, 0, 'the store holds each event once');

  // Acks: {epoch, seq, hash} of verified, stored events only, monotonic.
  await waitFor(() => acks.messages.length >= 2, 'acks published');
  const ackMsgs = acks.messages.map((m) => JSON.parse(m.payload) as { epoch: string; seq: number; hash: string });
  for (let i = 1; i < ackMsgs.length; i++) assert.ok(ackMsgs[i].seq > ackMsgs[i - 1].seq, 'acks are monotonic');
  const stored = new Map(payloads.map((p) => {
    const b = (JSON.parse(p) as { body: { seq: number; prev: string } }).body;
    return [b.seq, b.prev];
  }));
  const lastAck = ackMsgs[ackMsgs.length - 1];
  assert.equal(lastAck.epoch, v[0].epoch);
  const next = stored.get(lastAck.seq + 1);
  if (next !== undefined) assert.equal(next, lastAck.hash, 'the ack names the hash the chain links to');
  // The live view names the gateway and its verified head.
  await waitFor(() => /site-t\/gw-t +epoch \S+ +verified \d+/.test(c1.stdout()), 'live view');

  // 2. The gap: consumer 2 ignored live 40–60; it must see the hole and ask for it, signed.
  await waitFor(() => /gap: spool.replay requested/.test(c2.stderr()), 'replay requested', 20_000);
  const req = c2.stderr().split('\n').filter((l) => l.includes('spool.replay requested')).map((l) => JSON.parse(l) as { from: number; to: number })[0];
  assert.deepEqual({ from: req.from, to: req.to }, { from: 40, to: 60 });
  // The gateway accepted the command as authentic (signed evidence in the chain).
  await waitStore(storeGap, (s) => s.payloads().filter((p) => p.includes('"system.command.accepted"') && p.includes('spool.replay')).length, (n) => n >= 1, 'spool.replay accepted by the gateway');
  // Repaired: the hole filled by the replay, and the verified head passes it.
  const repaired = await waitStore(storeGap, (s) => ({ seqs: s.seqs(), v: s.verified() }), (r) => r.v.length === 1 && r.v[0].verified_seq > 70, 'gap repaired through spool.replay', 20_000);
  for (let s = 1; s <= 70; s++) assert.ok(repaired.seqs.includes(s), `seq ${s} stored after repair`);
  assert.ok(/test hook: live delivery ignored/.test(c2.stderr()), 'the hook dropped live deliveries');
});

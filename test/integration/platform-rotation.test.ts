// Key rotation through the reference consumer (docs/platform.md "Key enrolment", "Key
// rotation"): real mosquitto, the real daemon, `gatewarden platform` enrolled with the
// gateway's FIRST key only, and `gatewarden key rotate` run against the running daemon
// mid-stream. The consumer learns the new key from the verified key_rotated event (no
// re-enrolment, no restart), verifies the new epoch, acks it, and its store verifies from
// seq 1 across the rotation with only the first key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { verifyEvents } from '../../agent/verify/verify.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/mqtt-probe.js';
import { tempDir } from '../helpers/chain.js';
import { startDaemon } from '../helpers/daemon.js';
import { platformGatewayConfig, preparedGateway, readStore, startConsumer, waitStore } from '../helpers/platform-consumer.js';

const MAIN = new URL('../../agent/cli/main.ts', import.meta.url).pathname;
const run = promisify(execFile);

test('key rotation mid-stream through the consumer: learned from the chain, store verifies from seq 1 with the first key only', { timeout: 60_000 }, async (t) => {
  const broker = await startMosquitto();
  t.after(() => broker.stop());
  const dir = tempDir('gw-platform-rotation-');
  const gwy = preparedGateway(dir);
  const enrolled = readFileSync(gwy.enrolment, 'utf8');
  const store = join(dir, 'platform.db');

  const c = await startConsumer(t, ['--url', broker.url, '--store', store, '--keys', gwy.enrolment, '--ack', '--client-id', 'rot', '--view', '0']);

  const { d, config } = await startDaemon(t, dir, platformGatewayConfig(gwy.stateDir, broker.url, { intervalMs: 20, mqtt: { platformAck: { enabled: true } } }));

  // Epoch 1 verified under the enrolled key.
  const before = await waitStore(store, (s) => s.verified(), (r) => r.length === 1 && r[0].verified_seq >= 50, 'first epoch verified ≥ 50');
  const epoch1 = before[0].epoch;

  // `gatewarden key rotate` against the running daemon (over its control socket).
  const { stdout } = await run(process.execPath, ['--import', 'tsx', MAIN, 'key', 'rotate', '--config', config, '--json']);
  const rot = JSON.parse(stdout) as { mode: string; oldKid: string; newKid: string };
  assert.equal(rot.mode, 'online');
  assert.notEqual(rot.newKid, rot.oldKid);

  // The consumer follows: a second epoch, verified and acked, without re-enrolment or restart.
  const after = await waitStore(
    store,
    (s) => s.verified(),
    (r) => r.length === 2 && r.every((x) => x.verified_seq === x.max_seq) && r[1].verified_seq >= 50 && r[1].acked_seq > 0,
    'second epoch verified ≥ 50 and acked',
    30_000,
  );
  assert.equal(after[0].epoch, epoch1);
  const epoch2 = after[1].epoch;
  assert.notEqual(epoch2, epoch1);
  await waitFor(() => /key rotation followed/.test(c.stderr()), 'consumer logged the learned key');
  assert.equal(c.child.exitCode, null, 'the consumer was never restarted');
  assert.equal(readFileSync(gwy.enrolment, 'utf8'), enrolled, 'enrolment file untouched');

  d.child.kill('SIGTERM');
  assert.equal(await d.exited, 0);

  // Its keys: the enrolled one and the one a verified key_rotated named.
  const db = new Database(store, { readonly: true });
  const keys = db.prepare('SELECT kid, source FROM keys ORDER BY added_at').all() as Array<{ kid: string; source: string }>;
  db.close();
  assert.deepEqual(keys.map((k) => k.source).sort(), ['file', 'rotation']);
  assert.ok(keys.some((k) => k.kid === rot.newKid && k.source === 'rotation'), `learned ${rot.newKid}: ${JSON.stringify(keys)}`);

  // The store holds both epochs from seq 1 without a hole and verifies given the first key only.
  const s = readStore(store);
  const seqs1 = s.seqs(epoch1);
  const seqs2 = s.seqs(epoch2);
  const payloads = s.payloads();
  s.close();
  assert.deepEqual(seqs1, Array.from({ length: seqs1.length }, (_, i) => i + 1), 'epoch 1 from seq 1, no hole');
  assert.deepEqual(seqs2, Array.from({ length: seqs2.length }, (_, i) => i + 1), 'epoch 2 from seq 1, no hole');
  const types = payloads.map((p) => (JSON.parse(p) as { body: { type: string } }).body.type);
  assert.ok(types.includes('system.chain.key_rotated'));
  const report = verifyEvents(payloads, { pubkeys: [gwy.pubkey], fromStart: true });
  assert.equal(report.ok, true, JSON.stringify([...report.findings, ...report.chains.flatMap((x) => x.findings)].slice(0, 5)));
  assert.equal(report.chains.length, 2);
  assert.equal(report.learnedKeys.length, 1);
  console.log(`# ${seqs1.length} + ${seqs2.length} events across the rotation, verified from seq 1 with the first key`);
});

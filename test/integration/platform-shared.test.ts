// Two reference consumers in one MQTT 5 shared-subscription group ($share/g1/…) on one
// SQLite store, real mosquitto, real daemon; one consumer is SIGKILLed mid-run. Between
// them every event ends stored exactly once (primary key site/gw/epoch/seq; no conflict),
// both took part, whatever the killed one had in flight is repaired through spool.replay
// by the survivor, and the store verifies from seq 1 with the verifier library.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { verifyEvents } from '../../agent/verify/verify.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/chain.js';
import { allSpoolRows, startDaemon } from '../helpers/daemon.js';
import { platformGatewayConfig, platformKeyFile, preparedGateway, readStore, startConsumer, waitStore } from '../helpers/platform-consumer.js';

test('shared subscription: two consumers, one SIGKILLed mid-run, every event stored exactly once between them', { timeout: 60_000 }, async (t) => {
  const broker = await startMosquitto();
  t.after(() => broker.stop());
  const dir = tempDir('gw-platform-shared-');
  const gwy = preparedGateway(dir);
  const pk = platformKeyFile(dir);
  const store = join(dir, 'platform.db');
  const args = (id: string): string[] => ['--url', broker.url, '--store', store, '--share', 'g1', '--keys', gwy.enrolment, '--platform-key', pk.file, '--ack', '--client-id', id, '--gap-grace-ms', '500', '--view', '0'];
  const [a, b] = await Promise.all([startConsumer(t, args('pa'), 'consumer pa connected'), startConsumer(t, args('pb'), 'consumer pb connected')]);

  const { d } = await startDaemon(t, dir, platformGatewayConfig(gwy.stateDir, broker.url, { intervalMs: 10, extra: { commands: { publicKey: pk.publicRaw } } }), { stop: 'SIGKILL' });

  // Both consumers store a share, then one dies without a word.
  await waitStore(store, (s) => s.byConsumer(), (m) => (m.pa ?? 0) > 50 && (m.pb ?? 0) > 50, 'both consumers storing');
  a.child.kill('SIGKILL');
  assert.equal(await a.exited, 'SIGKILL');
  const atKill = await waitStore(store, (s) => s.verified(), (v) => v.length === 1, 'chain row');
  await waitStore(store, (s) => s.verified(), (v) => v[0].verified_seq >= atKill[0].max_seq + 200, 'survivor verifies on past the kill', 30_000);

  d.child.kill('SIGTERM');
  assert.equal(await d.exited, 0);
  const rows = allSpoolRows(join(gwy.stateDir, 'spool.db'));
  const head = Math.max(...rows.map((r) => r.seq));
  const v = await waitStore(store, (s) => s.verified(), (r) => r[0].verified_seq === head, `verified head reaches the gateway's head ${head}`, 20_000);

  const s = readStore(store);
  const seqs = s.seqs(v[0].epoch);
  const byConsumer = s.byConsumer();
  const conflicts = s.conflicts();
  const gaps = s.gaps();
  const report = verifyEvents(s.payloads(), { pubkeys: [gwy.pubkey], fromStart: true });
  s.close();
  assert.deepEqual(seqs, Array.from({ length: head }, (_, i) => i + 1), 'every seq 1..head stored, each once');
  assert.equal(conflicts, 0);
  assert.equal(report.ok, true, JSON.stringify(report.chains[0]?.findings.slice(0, 3)));
  assert.equal(report.chains[0].duplicates, 0);
  assert.ok((byConsumer.pa ?? 0) > 0 && (byConsumer.pb ?? 0) > 0, `both consumers stored events: ${JSON.stringify(byConsumer)}`);
  assert.equal((byConsumer.pa ?? 0) + (byConsumer.pb ?? 0), head);
  const replays = b.stderr().split('\n').filter((l) => l.includes('spool.replay requested')).length;
  console.log(`shared group: ${head} events, stored by pa ${byConsumer.pa}, pb ${byConsumer.pb}; replays requested by the survivor: ${replays}; gaps rows ${JSON.stringify(gaps)}`);
});

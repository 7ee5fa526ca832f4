// The whole flow through a second, clustered broker: a two-node ejabberd cluster
// (mod_mqtt, MQTT 5) on loopback, the real daemon connected to node A, the reference
// consumer to node B. The consumer stores a chain verified from seq 1, acks it, and an
// injected gap is repaired with spool.replay sent from node B to the gateway on node A
// (response topic + correlation data back across the cluster). The same test measures the
// MQTT 5 features of docs/platform.md's broker table on both brokers and holds the table
// to them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyEvents } from '../../agent/verify/verify.js';
import { startEjabberdCluster } from '../helpers/ejabberd.js';
import { measureFeatures, type BrokerFeatures } from '../helpers/broker-features.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { probe, waitFor } from '../helpers/mqtt-probe.js';
import { tempDir } from '../helpers/chain.js';
import { startDaemon } from '../helpers/daemon.js';
import { platformGatewayConfig, platformKeyFile, preparedGateway, readStore, startConsumer, waitStore } from '../helpers/platform-consumer.js';

const DOC = new URL('../../docs/platform.md', import.meta.url).pathname;

/** The broker table of docs/platform.md: row label → [mosquitto cell, ejabberd cell], each starting yes/no. */
function documented(): Map<string, [boolean, boolean]> {
  const out = new Map<string, [boolean, boolean]>();
  for (const line of readFileSync(DOC, 'utf8').split('\n')) {
    const m = /^\| ([^|]+?) \| (yes|no)\b[^|]*\| (yes|no)\b[^|]*\|/.exec(line);
    if (m) out.set(m[1].trim(), [m[2] === 'yes', m[3] === 'yes']);
  }
  return out;
}

const ROWS: Array<[string, (f: BrokerFeatures) => boolean]> = [
  ['Response topic + correlation data', (f) => f.responseTopic],
  ['User properties', (f) => f.userProperties],
  ['Receive Maximum in CONNACK', (f) => f.receiveMaximum !== undefined],
  ['Shared subscriptions', (f) => f.sharedSubscriptions],
  ['Retained messages across nodes', (f) => f.retainedAcrossNodes],
];

test('ejabberd two-node cluster: gateway on node A, consumer on node B; broker features measured against docs/platform.md', { timeout: 90_000 }, async (t) => {
  const cluster = await startEjabberdCluster();
  t.after(() => cluster.stop());
  const [a, b] = cluster.nodes;
  assert.deepEqual((await cluster.members(0)).sort(), [a.name, b.name].sort(), 'both nodes in one cluster');

  const mosq = await startMosquitto();
  t.after(() => mosq.stop());
  const fm = await measureFeatures(mosq.url, mosq.url, 'mosq');
  const fe = await measureFeatures(a.url, b.url, 'ejab');
  console.log(`measured mosquitto: ${JSON.stringify(fm)}\nmeasured ejabberd A→B: ${JSON.stringify(fe)}`);
  const doc = documented();
  for (const [row, get] of ROWS) {
    assert.ok(doc.has(row), `docs/platform.md broker table lacks the row "${row}"`);
    assert.deepEqual(doc.get(row), [get(fm), get(fe)], `docs/platform.md "${row}": documented [mosquitto, ejabberd] vs measured`);
  }

  // The flow: gateway → node A; consumer ← node B.
  const dir = tempDir('gw-platform-ejabberd-');
  const gwy = preparedGateway(dir);
  const pk = platformKeyFile(dir);
  const store = join(dir, 'platform.db');
  const pw = join(dir, 'platform.pw');
  writeFileSync(pw, 'x\n', { mode: 0o600 });
  const c = await startConsumer(t, ['--url', b.url, '--username', 'platform', '--password-file', pw, '--store', store, '--keys', gwy.enrolment, '--platform-key', pk.file, '--ack', '--client-id', 'pb', '--gap-grace-ms', '500', '--test-drop-live', '30-45', '--view', '0'], 'consumer connected to node B');
  const acks = await probe(a.url, 'gatewarden/v1/site-t/gw-t/ack', { username: 'ackprobe', password: 'x' });
  t.after(() => acks.close());

  await startDaemon(t, dir, platformGatewayConfig(gwy.stateDir, a.url, { intervalMs: 20, mqtt: { username: 'gw-t', password: 'x' }, extra: { commands: { publicKey: pk.publicRaw } } }));

  const v = await waitStore(store, (s) => s.verified(), (r) => r.length === 1 && r[0].verified_seq >= 120, 'verified ≥ 120 through the cluster (gap 30–45 repaired)', 40_000);
  const s = readStore(store);
  const seqs = s.seqs(v[0].epoch);
  const report = verifyEvents(s.payloads(), { pubkeys: [gwy.pubkey], fromStart: true });
  s.close();
  assert.deepEqual(seqs.slice(0, 120), Array.from({ length: 120 }, (_, i) => i + 1));
  assert.equal(report.ok, true, JSON.stringify(report.chains[0]?.findings.slice(0, 3)));
  assert.match(c.stderr(), /"from":30,"to":45[^\n]*spool.replay requested/);
  assert.match(c.stderr(), /replay answered/, 'the result came back on the response topic with its correlation data');
  // Acks published on node B reach node A's subscribers.
  await waitFor(() => acks.messages.some((m) => (JSON.parse(m.payload) as { seq: number }).seq >= 100), 'acks across the cluster');
});

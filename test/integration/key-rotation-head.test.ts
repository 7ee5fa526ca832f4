// Key rotation and the signed head against the real daemon and a real mosquitto
// (docs/architecture.md "Key rotation", "Signed head"): rotated mid-stream three ways —
// `gatewarden key rotate` while the daemon runs, the signed `key.rotate` command (result
// on the MQTT 5 response topic), and `key rotate` while it is stopped (announced at the
// next start) — a subscriber's stream verifies from seq 1 given only the FIRST key; every
// retained head message seen verifies and names a head the chain really reached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { signCommand } from '../../agent/commands/sign.js';
import { rawPublicKey, retiredKeyPath } from '../../agent/chain/keys.js';
import { verifyEvents } from '../../agent/verify/verify.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { probe, waitFor } from '../helpers/mqtt-probe.js';
import { tempDir } from '../helpers/chain.js';
import { gatewayPubkey, spawnDaemon, writeDaemonConfig } from '../helpers/daemon.js';
import { openSpoolReadOnly } from '../../agent/spool/sqlite-spool.js';

const BASE = 'gatewarden/v1/site-t/gw-t';
const MAIN = new URL('../../agent/cli/main.ts', import.meta.url).pathname;
const run = promisify(execFile);

async function keyRotate(config: string): Promise<{ mode: string; oldKid: string; newKid: string }> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', MAIN, 'key', 'rotate', '--config', config, '--json']);
  return JSON.parse(stdout) as { mode: string; oldKid: string; newKid: string };
}

test('key rotation mid-stream (CLI online, signed command, CLI offline): the stream verifies with only the first key; signed heads hold', { timeout: 120_000 }, async (t) => {
  const broker = await startMosquitto();
  t.after(() => broker.stop());
  const platform = generateKeyPairSync('ed25519');
  const dir = tempDir();
  const config = writeDaemonConfig(dir, {
    mqtt: { url: broker.url, reconnect: { minMs: 100, maxMs: 1000 }, healthIntervalSeconds: 1 },
    commands: { publicKey: rawPublicKey(platform.publicKey).toString('base64url') },
    drivers: { synthetic: [{ id: 'tick', intervalMs: 20 }] },
  });
  const state = join(dir, 'state');
  const sub = await probe(broker.url, `${BASE}/#`);
  t.after(() => sub.close());
  const evts = (): string[] => sub.messages.filter((m) => m.topic.startsWith(`${BASE}/evt/`)).map((m) => m.payload);
  const types = (): string[] => evts().map((p) => (JSON.parse(p) as { body: { type: string } }).body.type);

  let d = spawnDaemon(config);
  t.after(async () => {
    d.child.kill('SIGTERM');
    await d.exited;
  });
  await d.waitLog(/connected to MQTT broker/);
  const firstKey = gatewayPubkey(state);
  await waitFor(() => evts().length > 50, 'events before the first rotation');

  // 1. CLI while the daemon runs: over the control socket.
  const online = await keyRotate(config);
  assert.equal(online.mode, 'online');
  assert.ok(existsSync(retiredKeyPath(state, online.oldKid)), 'old public key kept');
  await waitFor(() => types().includes('system.chain.key_rotated'), 'key_rotated published');
  await waitFor(() => sub.on(`${BASE}/state`).some((m) => JSON.parse(m.payload).kid === online.newKid), 'birth names the new kid');
  const n1 = evts().length;
  await waitFor(() => evts().length > n1 + 50, 'events under the second key');

  // 2. The signed key.rotate command, result on the MQTT 5 response topic with correlation data.
  const replyTo = `${BASE}/test-replies`;
  const cmd = signCommand(platform.privateKey, 'key.rotate', {});
  sub.client.publish(`${BASE}/cmd/key.rotate`, JSON.stringify(cmd), { qos: 1, properties: { responseTopic: replyTo, correlationData: Buffer.from('rot-1') } });
  await waitFor(() => sub.on(replyTo).length > 0, 'key.rotate result');
  const res = JSON.parse(sub.on(replyTo)[0].payload) as { ok: boolean; data: { oldKid: string; newKid: string } };
  assert.equal(res.ok, true, JSON.stringify(res));
  assert.equal(res.data.oldKid, online.newKid);
  const n2 = evts().length;
  await waitFor(() => evts().length > n2 + 50, 'events under the third key');

  // 3. CLI while the daemon is stopped: prepared offline, announced at the next start.
  d.child.kill('SIGTERM');
  assert.equal(await d.exited, 0);
  const offline = await keyRotate(config);
  assert.equal(offline.mode, 'offline');
  assert.equal(offline.oldKid, res.data.newKid);
  d = spawnDaemon(config);
  await d.waitLog(/gatewarden running/);
  await waitFor(() => types().filter((x) => x === 'system.chain.key_rotated').length === 3, 'third key_rotated');
  const n3 = evts().length;
  await waitFor(() => evts().length > n3 + 30, 'events under the fourth key');
  await waitFor(() => sub.on(`${BASE}/head`).length >= 3, 'head messages');
  d.child.kill('SIGTERM');
  assert.equal(await d.exited, 0);
  await waitFor(() => sub.on(`${BASE}/state`).some((m) => JSON.parse(m.payload).clean === true && JSON.parse(m.payload).online === false), 'offline state');

  const lines = evts();
  const report = verifyEvents(lines, { pubkeys: [firstKey], fromStart: true });
  assert.equal(report.ok, true, JSON.stringify([...report.findings, ...report.chains.flatMap((c) => c.findings)].slice(0, 5)));
  assert.equal(report.learnedKeys.length, 3);
  assert.equal(report.chains.length, 4);

  // The spool's committed head after the clean stop; every head message seen verifies and is ≤ it.
  const ro = openSpoolReadOnly(join(state, 'spool.db'));
  const committed = ro.stats().head!;
  ro.close();
  const heads = sub.on(`${BASE}/head`).map((m) => m.payload);
  for (const h of heads) {
    const body = (JSON.parse(h) as { body: { epoch: string; seq: number } }).body;
    const r = verifyEvents(lines, { pubkeys: [firstKey], fromStart: true, expectHeadMessage: h });
    assert.equal(r.ok, true, `head ${body.epoch}:${body.seq}: ${JSON.stringify(r.findings)} ${JSON.stringify(r.chains.flatMap((c) => c.findings).slice(0, 3))}`);
    if (body.epoch === committed.epoch) assert.ok(body.seq <= committed.seq, `head ${body.seq} ≤ committed ${committed.seq}`);
  }
  const last = JSON.parse(heads[heads.length - 1]) as { body: { epoch: string; seq: number; hash: string } };
  assert.deepEqual({ epoch: last.body.epoch, seq: last.body.seq, hash: last.body.hash }, committed, 'the shutdown head is the committed head');
  console.log(`# ${lines.length} events over ${report.chains.length} epochs; ${heads.length} signed heads verified`);
});

// The command path end to end (docs/contracts.md §Commands, docs/mosquitto-acl.md): a real
// mosquitto running the documented ACL, the real daemon (user site-a.gw-1) with a Modbus
// bus on the pymodbus peer, and `gatewarden command keygen|sign|send` as real processes.
// A signed output.pulse reaches the peer's coil and its result comes back with the
// request's correlation data; bad signature, expired, replayed (also after a SIGKILL and
// restart), unknown target (before it is recorded as accepted), bad args and wrong gateway
// are refused with their reason, and the peer sees no write for any of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type IPublishPacket } from 'mqtt';
import { startMosquitto } from '../helpers/mosquitto.js';
import { probe, waitFor } from '../helpers/mqtt-probe.js';
import { tempDir } from '../helpers/chain.js';
import { spawnDaemon, writeDaemonConfig, type DaemonProcess } from '../helpers/daemon.js';
import { ACL_USERS, documentedAcl } from '../helpers/acl.js';
import { startPeer } from './modbus-harness.js';

const MAIN = new URL('../../agent/cli/main.ts', import.meta.url).pathname;
const P = 'gatewarden/v1';
const GW = `${P}/site-a/gw-1`;
const REPLY = `${P}/_platform/e2e/reply`;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('gatewarden command send → daemon → Modbus coil; every refusal named, nothing reaches the device', { timeout: 180_000 }, async (t) => {
  const dir = tempDir('gw-cmd-e2e-');
  const broker = await startMosquitto({ auth: { users: { ...ACL_USERS }, acl: documentedAcl() } });
  t.after(() => broker.stop());
  const peer = await startPeer({ transport: 'tcp', port: 0, logWrites: true, units: { '1': { size: 16 } } });
  t.after(() => peer.kill());

  const keyFile = join(dir, 'platform.pem');
  const kg = await cli(['command', 'keygen', '--out', keyFile]);
  assert.equal(kg.code, 0, kg.stderr);
  const publicKey = /^commands\.publicKey: (\S+)$/m.exec(kg.stdout)?.[1];
  assert.ok(publicKey, kg.stdout);
  const strangerKey = join(dir, 'stranger.pem');
  assert.equal((await cli(['command', 'keygen', '--out', strangerKey])).code, 0);
  const pwFile = join(dir, 'platform.pw');
  writeFileSync(pwFile, ACL_USERS.platform, { mode: 0o600 });

  const config = writeDaemonConfig(dir, {
    site: 'site-a',
    gateway: 'gw-1',
    mqtt: { url: broker.url, username: 'site-a.gw-1', password: ACL_USERS['site-a.gw-1'], reconnect: { minMs: 100, maxMs: 1000 } },
    commands: { publicKey, maxClockSkewSeconds: 0 },
    drivers: {
      modbus: [
        {
          id: 'plc-bus',
          transport: { type: 'tcp', host: '127.0.0.1', port: Number(peer.where) },
          units: [{ id: 'plc', unitId: 1, pollIntervalMs: 1000, points: [{ name: 'siren', table: 'coil', address: 3, type: 'bool', writable: true }, { name: 'level', table: 'holding', address: 0, writable: true }] }],
        },
      ],
    },
  });
  let d: DaemonProcess = spawnDaemon(config);
  t.after(async () => {
    d.child.kill('SIGKILL');
    await d.exited;
  });
  const platform = await probe(broker.url, `${P}/#`, { username: 'platform', password: ACL_USERS.platform, clientId: 'e2e-observer' });
  t.after(() => platform.close());
  // The observer records the correlation data of every result on the reply topic.
  const replies: Array<{ corr: string | null; result: Record<string, unknown> }> = [];
  platform.client.on('message', (topic: string, payload: Buffer, packet: IPublishPacket) => {
    if (topic === REPLY) replies.push({ corr: packet.properties?.correlationData?.toString('utf8') ?? null, result: JSON.parse(payload.toString()) });
  });
  const online = async (): Promise<void> => {
    await d.waitLog(/connected to MQTT broker/, 30_000);
    await waitFor(() => platform.on(`${GW}/state`).some((m) => JSON.parse(m.payload).online === true), 'birth');
    await waitFor(() => platform.on(`${GW}/dev/plc`).some((m) => JSON.parse(m.payload).online === true), 'plc online');
  };
  await online();
  const systemBodies = () => platform.messages.filter((m) => m.topic === `${GW}/evt/system`).map((m) => JSON.parse(m.payload).body);
  const rejected = (id: string, reason: string) => systemBodies().some((b) => b.type === 'system.command.rejected' && b.data.id === id && b.data.reason === reason);

  const common = ['--platform-key', keyFile, '--site', 'site-a', '--gw', 'gw-1'];
  const send = (name: string, extra: string[], key = keyFile) =>
    cli(['command', 'send', name, ...common.map((a) => (a === keyFile ? key : a)), '--url', broker.url, '--username', 'platform', '--password-file', pwFile, '--client-id', `e2e-${randomUUID().slice(0, 8)}`, '--reply-topic', REPLY, '--timeout', '20', ...extra]);
  /** Publish a raw payload on gw-1's cmd topic as the platform, with a response topic; resolves with the result. */
  const raw = async (name: string, payload: string): Promise<Record<string, unknown>> => {
    const corr = randomUUID();
    platform.client.publish(`${GW}/cmd/${name}`, payload, { qos: 1, properties: { responseTopic: REPLY, correlationData: Buffer.from(corr) } });
    await waitFor(() => replies.some((r) => r.corr === corr), `result for ${name} (${corr})`);
    return replies.find((r) => r.corr === corr)!.result;
  };

  // 1. A good pulse: the peer sees the coil switched on, then off; the result returns with the command id as correlation data.
  const ok = await send('output.pulse', ['--target', 'plc', '--args', '{"point":"siren","durationMs":200}']);
  assert.equal(ok.code, 0, `${ok.stdout}\n${ok.stderr}`);
  const okResult = JSON.parse(ok.stdout) as { id: string; ok: boolean; data: Record<string, unknown> };
  assert.equal(okResult.ok, true);
  assert.deepEqual(okResult.data, { unit: 'plc', point: 'siren', durationMs: 200 });
  await waitFor(() => replies.some((r) => r.result.id === okResult.id), 'observer saw the result');
  assert.equal(replies.find((r) => r.result.id === okResult.id)!.corr, okResult.id, 'correlation data = the command id');
  assert.deepEqual(peer.writes(), [
    { unit: 1, fc: 5, address: 3, values: [true] },
    { unit: 1, fc: 5, address: 3, values: [false] },
  ]);
  const writesAfterGood = peer.writes().length;

  // 2. Refusals through the CLI (exit 1, reason on stderr and in the printed result).
  const refusedByCli: Array<[string, string[], string, RegExp, string?]> = [
    ['output.pulse', ['--target', 'plc', '--args', '{"point":"siren"}'], 'bad-signature', /does not verify with commands.publicKey/, strangerKey],
    ['output.pulse', ['--target', 'nope', '--args', '{"point":"siren"}'], 'unknown-target', /no driver instance or device "nope" on this gateway/],
    ['output.pulse', ['--target', 'plc', '--args', '{"point":"level"}'], 'bad-args', /holding point, not a coil/],
    ['output.pulse', ['--target', 'plc', '--args', '{"point":"siren","durationMs":"soon"}'], 'bad-args', /args\.durationMs/],
  ];
  for (const [name, extra, reason, detail, key] of refusedByCli) {
    const r = await send(name, extra, key);
    assert.equal(r.code, 1, `${reason}: ${r.stdout} ${r.stderr}`);
    const res = JSON.parse(r.stdout) as { id: string; ok: boolean; error: string; detail: string };
    assert.equal(res.ok, false);
    assert.equal(res.error, reason);
    assert.match(res.detail, detail);
    assert.match(r.stderr, new RegExp(`refused: ${reason}`));
    await waitFor(() => rejected(res.id, reason), `signed system.command.rejected ${reason}`);
    // An unknown target is refused up front: never recorded as accepted.
    if (reason === 'unknown-target') assert.ok(!systemBodies().some((b) => b.type === 'system.command.accepted' && b.data.id === res.id), 'unknown target recorded as accepted');
  }

  // 3. Wrong gateway: a command signed for gw-2, replayed into gw-1's topic.
  const forGw2 = await cli(['command', 'sign', 'output.pulse', '--platform-key', keyFile, '--site', 'site-a', '--gw', 'gw-2', '--target', 'plc', '--args', '{"point":"siren"}']);
  assert.equal(forGw2.code, 0, forGw2.stderr);
  const wrong = await raw('output.pulse', forGw2.stdout.trim());
  assert.equal(wrong.error, 'wrong-target-gateway');
  assert.match(String(wrong.detail), /signed for gateway site-a\/gw-2, this is site-a\/gw-1/);

  // 4. Expired: valid for 1 s (commands.maxClockSkewSeconds 0), sent after it ran out.
  const short = await cli(['command', 'sign', 'output.set', ...common, '--target', 'plc', '--ttl', '1', '--args', '{"point":"siren","value":true}']);
  await new Promise((r) => setTimeout(r, 1200));
  const expired = await raw('output.set', short.stdout.trim());
  assert.equal(expired.error, 'expired');

  // 5. Replayed: a good command executes once; the same bytes again are refused, also after a SIGKILL and restart.
  const once = await cli(['command', 'sign', 'output.set', ...common, '--target', 'plc', '--ttl', '600', '--args', '{"point":"siren","value":false}']);
  const first = await raw('output.set', once.stdout.trim());
  assert.equal(first.ok, true, JSON.stringify(first));
  assert.deepEqual(peer.writes().slice(writesAfterGood), [{ unit: 1, fc: 5, address: 3, values: [false] }]);
  const writesBefore = peer.writes().length;
  assert.equal((await raw('output.set', once.stdout.trim())).error, 'replayed');
  d.child.kill('SIGKILL');
  await d.exited;
  platform.messages.length = 0;
  d = spawnDaemon(config);
  await online();
  const again = await raw('output.set', once.stdout.trim());
  assert.equal(again.error, 'replayed', JSON.stringify(again));
  assert.match(String(again.detail), /already received/);

  // Nothing refused reached the device.
  assert.equal(peer.writes().length, writesBefore, `writes after refusals: ${JSON.stringify(peer.writes().slice(writesBefore))}`);
});

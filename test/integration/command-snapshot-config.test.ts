// Two commands through the real daemon (docs/contracts.md §Commands), real mosquitto, the
// ONVIF test camera: `camera.snapshot` answers the sha256, size and path of the image it
// stored, and that file holds exactly the camera's JPEG; `config.get` answers the running
// config with schema-marked secrets redacted — the camera password planted in the config
// appears nowhere in the result (or in any message the gateway published).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { signCommand } from '../../agent/commands/sign.js';
import { rawPublicKey } from '../../agent/chain/keys.js';
import { REDACTED } from '../../config/secrets.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { probe, waitFor } from '../helpers/mqtt-probe.js';
import { tempDir } from '../helpers/chain.js';
import { spawnDaemon, writeDaemonConfig } from '../helpers/daemon.js';
import { startOnvifCamera } from '../peers/onvif-camera.js';

const BASE = 'gatewarden/v1/site-t/gw-t';
const REPLY = `${BASE}/test-replies`;
const CAMERA_PASSWORD = `cam-pw-${randomUUID()}`;

test('camera.snapshot returns the stored image’s sha256 and path; config.get returns the running config without its secrets', { timeout: 60_000 }, async (t) => {
  const broker = await startMosquitto();
  t.after(() => broker.stop());
  const cam = await startOnvifCamera({ username: 'admin', password: CAMERA_PASSWORD });
  t.after(() => cam.close());
  const platform = generateKeyPairSync('ed25519');
  const dir = tempDir('gw-cmd-snap-');
  const snapDir = join(dir, 'snaps');
  const config = writeDaemonConfig(dir, {
    mqtt: { url: broker.url, reconnect: { minMs: 100, maxMs: 1000 } },
    commands: { publicKey: rawPublicKey(platform.publicKey).toString('base64url') },
    drivers: {
      onvif: [{ id: 'cams', cameras: [{ id: 'cam1', host: '127.0.0.1', port: cam.port, username: 'admin', password: CAMERA_PASSWORD }], pullTimeoutSeconds: 1, snapshot: { dir: snapDir } }],
    },
  });
  const sub = await probe(broker.url, `${BASE}/#`);
  t.after(() => sub.close());
  const d = spawnDaemon(config);
  t.after(async () => {
    d.child.kill('SIGTERM');
    await d.exited;
  });
  await d.waitLog(/connected to MQTT broker/);
  await waitFor(() => sub.on(`${BASE}/dev/cam1`).some((m) => JSON.parse(m.payload).online === true), 'cam1 online', 20_000);

  const call = async (name: string, args: Record<string, unknown>, target?: string): Promise<{ id: string; ok: boolean; detail?: string; data?: Record<string, unknown> }> => {
    const cmd = signCommand(platform.privateKey, name, args as never, { site: 'site-t', gw: 'gw-t', ...(target ? { target } : {}) });
    sub.client.publish(`${BASE}/cmd/${name}`, JSON.stringify(cmd), { qos: 1, properties: { responseTopic: REPLY, correlationData: Buffer.from(cmd.body.id) } });
    await waitFor(() => sub.on(REPLY).some((m) => JSON.parse(m.payload).id === cmd.body.id), `${name} result`, 20_000);
    return JSON.parse(sub.on(REPLY).find((m) => JSON.parse(m.payload).id === cmd.body.id)!.payload);
  };

  // camera.snapshot: the answer names a file that holds exactly what the camera served.
  const before = cam.stats.snapshots;
  const snap = await call('camera.snapshot', {}, 'cam1');
  assert.equal(snap.ok, true, JSON.stringify(snap));
  const data = snap.data as { camera: string; sha256: string; size: number; path: string; contentType: string };
  assert.equal(data.camera, 'cam1');
  assert.equal(cam.stats.snapshots, before + 1, 'one snapshot fetched from the camera');
  assert.ok(resolve(data.path).startsWith(resolve(snapDir) + '/'), `stored under snapshot.dir: ${data.path}`);
  const stored = readFileSync(data.path);
  assert.equal(data.sha256, createHash('sha256').update(stored).digest('hex'), 'sha256 of the stored file');
  assert.equal(data.sha256, createHash('sha256').update(cam.jpeg).digest('hex'), 'the camera’s image, byte for byte');
  assert.equal(data.size, cam.jpeg.length);
  assert.equal(data.contentType, 'image/jpeg');

  // config.get: the running config, the planted secret redacted.
  const got = await call('config.get', {});
  assert.equal(got.ok, true, JSON.stringify(got));
  const cfg = got.data as { source: string; config: { site: string; drivers: { onvif: Array<{ cameras: Array<{ host: string; password: string }> }> } } };
  assert.equal(resolve(cfg.source), resolve(config));
  assert.equal(cfg.config.site, 'site-t');
  assert.equal(cfg.config.drivers.onvif[0].cameras[0].host, '127.0.0.1', 'non-secrets as configured');
  assert.equal(cfg.config.drivers.onvif[0].cameras[0].password, REDACTED);
  assert.ok(!JSON.stringify(got).includes(CAMERA_PASSWORD), 'the result does not carry the camera password');
  assert.ok(sub.messages.every((m) => !m.payload.includes(CAMERA_PASSWORD)), 'no message the gateway published carries it');
});

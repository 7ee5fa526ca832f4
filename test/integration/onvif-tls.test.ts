// The ONVIF driver against the SOAP test camera served over HTTPS (certificates made with
// openssl): trusted through a private CA, through a pin of a self-signed certificate, and
// refused — before any request is written — with a wrong pin, an untrusted certificate or
// the wrong CA, each with an error naming the camera. The camera advertises http:// XAddrs
// and snapshot URI (as many do); the driver stays on https for all of them. The wrong-
// password path and the snapshot over https work as over http; insecure is warned.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { onvifConfigSchema } from '../../drivers/onvif/config.js';
import { OnvifDriver } from '../../drivers/onvif/driver.js';
import { httpExchange } from '../../drivers/onvif/soap.js';
import { tlsPolicy } from '../../drivers/onvif/tls.js';
import { tempDir } from '../helpers/chain.js';
import { collectingContext, waitUntil } from '../helpers/driver-context.js';
import { makeTestPki, type TestPki } from '../helpers/tls.js';
import { startOnvifCamera, type OnvifCameraOptions } from '../peers/onvif-camera.js';

let pki: TestPki;
/** A camera-style self-signed certificate: its SAN names another address than the one we dial. */
let selfSigned: { cert: string; key: string; fingerprint: string };
const dirs: string[] = [];

before(() => {
  pki = makeTestPki();
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'cam.key', '-out', 'cam.crt', '-days', '2',
    '-subj', '/CN=IPCAM', '-addext', 'subjectAltName=IP:192.168.1.64'], { cwd: pki.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const cert = join(pki.dir, 'cam.crt');
  selfSigned = { cert, key: join(pki.dir, 'cam.key'), fingerprint: new X509Certificate(readFileSync(cert)).fingerprint256 };
});
after(() => {
  pki?.cleanup();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

async function rig(peer: OnvifCameraOptions, cam: Record<string, unknown>) {
  const camera = await startOnvifCamera(peer);
  const dir = tempDir('gw-onvif-tls-');
  dirs.push(dir);
  const cfg = onvifConfigSchema.parse({
    id: 'cams',
    cameras: [{ id: 'cam1', host: '127.0.0.1', port: camera.port, scheme: 'https', username: 'admin', password: 'secret', ...cam }],
    pullTimeoutSeconds: 2,
    minPullIntervalMs: 200,
    reconnect: { minMs: 100, maxMs: 400 },
    snapshot: { dir },
  });
  const c = collectingContext();
  const logs: Array<{ level: number; msg: string }> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void logs.push(JSON.parse(s) as { level: number; msg: string }) });
  const driver = new OnvifDriver(cfg, { ...c.ctx, log });
  return {
    cam: camera, c, driver, logs,
    close: async () => {
      await driver.stop();
      c.abort.abort();
      await camera.close();
    },
  };
}

type Rig = Awaited<ReturnType<typeof rig>>;

async function online(r: Rig): Promise<void> {
  await r.driver.start();
  await waitUntil(() => r.c.of('video.camera.online').length > 0 && r.driver.sessions[0].subscribed, 'camera online + subscribed over https');
}

/** A refused certificate: offline with a clear error naming the camera, and not one request sent. */
async function refused(r: Rig, pattern: RegExp): Promise<void> {
  await r.driver.start();
  await waitUntil(() => r.driver.health()[0].counters.reconnects >= 2, 'two refused connection attempts');
  const h = r.driver.health()[0];
  assert.equal(h.state, 'offline');
  assert.match(h.lastError ?? '', pattern);
  assert.ok(r.c.errors.some((e) => e.device === 'cam1' && pattern.test(e.err.message)), 'reported with the camera id');
  const off = r.c.of('video.camera.offline')[0];
  assert.match(String(off.data.reason), /TLS: camera cam1/);
  assert.equal(r.c.of('video.camera.online').length, 0);
  assert.equal(r.cam.stats.requests, 0, 'no HTTP request (no credentials) reached an unverified server');
}

describe('onvif over https', { timeout: 120_000 }, () => {
  test('private CA: online; http:// XAddrs stay on https; snapshot on alarm over https; diag', async () => {
    const r = await rig({ tls: { cert: pki.serverCert, key: pki.serverKey }, snapshotBytes: 3000 }, { tls: { caFile: pki.caCert }, snapshotOnAlarm: true });
    try {
      await online(r);
      const on = r.c.of('video.camera.online')[0];
      // The camera said http://192.0.2.10:<port>/snapshot.jpg…; the driver uses the device origin over https.
      assert.equal(on.data.snapshotUri, `https://127.0.0.1:${r.cam.port}/snapshot.jpg?profile=Profile_1`);
      assert.ok(r.cam.stats.byOp.GetProfiles >= 1 && r.cam.stats.byOp.CreatePullPointSubscription >= 1, 'media and event services reached over TLS');
      r.cam.emit('motion', true);
      const ev = await waitUntil(() => r.c.of('video.motion.start')[0], 'motion start over https');
      const snap = ev.data.snapshot as { sha256: string; size: number; path: string };
      assert.equal(snap.sha256, createHash('sha256').update(r.cam.jpeg).digest('hex'));
      assert.deepEqual(await readFile(snap.path), r.cam.jpeg);
      const diag = await r.driver.diagnose();
      const tls = diag.find((d) => d.check === 'onvif.tls');
      assert.equal(tls?.verdict, 'pass');
      assert.match(tls?.detail ?? '', /verified against .*ca\.crt/);
      assert.ok(diag.every((d) => d.verdict === 'pass'), JSON.stringify(diag));
    } finally {
      await r.close();
    }
  });

  test('self-signed camera certificate pinned by SHA-256: online (chain and name not required), snapshot command', async () => {
    const r = await rig({ tls: selfSigned }, { tls: { certSha256: selfSigned.fingerprint.replace(/:/g, '').toLowerCase() } });
    try {
      await online(r);
      const res = await r.driver.command('snapshot', {}, 'cam1');
      assert.equal(res.ok, true, res.detail);
      assert.equal(res.data?.size, r.cam.jpeg.length);
      const tls = (await r.driver.diagnose()).find((d) => d.check === 'onvif.tls');
      assert.match(tls?.detail ?? '', new RegExp(`pinned \\(SHA-256 ${selfSigned.fingerprint}\\)`));
    } finally {
      await r.close();
    }
  });

  test('wrong pin: refused with an error naming the camera and both fingerprints', async () => {
    const r = await rig({ tls: selfSigned }, { tls: { certSha256: 'ab'.repeat(32) } });
    try {
      await refused(r, new RegExp(`TLS: camera cam1 \\(127\\.0\\.0\\.1:\\d+\\): certificate SHA-256 ${selfSigned.fingerprint} does not match tls\\.certSha256 AB:AB`));
    } finally {
      await r.close();
    }
  });

  test('untrusted self-signed certificate with default verification: refused, the hint offers the pin; diag says so', async () => {
    const r = await rig({ tls: selfSigned }, {});
    try {
      await refused(r, new RegExp(`TLS: camera cam1 .*certificate not trusted \\(.+\\); .*tls\\.certSha256: "${selfSigned.fingerprint}"`));
      const diag = await r.driver.diagnose();
      const tls = diag.find((d) => d.check === 'onvif.tls');
      assert.equal(tls?.verdict, 'fail');
      assert.match(tls?.hint ?? '', /cameras\[0\]\.tls of onvif instance "cams"\.certSha256/);
      assert.ok(!diag.some((d) => d.check === 'onvif.login'), 'no login attempted past a refused certificate');
    } finally {
      await r.close();
    }
  });

  test('certificate from another CA than tls.caFile: refused', async () => {
    const r = await rig({ tls: { cert: pki.untrustedServerCert, key: pki.untrustedServerKey } }, { tls: { caFile: pki.caCert } });
    try {
      await refused(r, /TLS: camera cam1 .*certificate not trusted .*does not verify against tls\.caFile .*ca\.crt/);
    } finally {
      await r.close();
    }
  });

  test('CA-signed certificate plus a pin that does not match: refused (both must hold)', async () => {
    const r = await rig({ tls: { cert: pki.serverCert, key: pki.serverKey } }, { tls: { caFile: pki.caCert, certSha256: selfSigned.fingerprint } });
    try {
      await refused(r, /does not match tls\.certSha256/);
    } finally {
      await r.close();
    }
  });

  test('wrong password over TLS: auth_failed, clear error, recovers when fixed', async () => {
    const r = await rig({ tls: { cert: pki.serverCert, key: pki.serverKey }, password: 'secret' }, { tls: { caFile: pki.caCert }, password: 'wrong' });
    try {
      await r.driver.start();
      await waitUntil(() => r.driver.health()[0].counters.authFailures >= 2, 'failed logins over TLS');
      assert.equal(r.c.of('video.camera.auth_failed').length, 1);
      assert.match(r.driver.health()[0].lastError ?? '', /authentication failed for camera cam1/);
      assert.equal(r.c.of('video.camera.online').length, 0);
      r.cam.setPassword('wrong');
      await waitUntil(() => r.c.of('video.camera.online').length === 1, 'online after the password is fixed');
    } finally {
      await r.close();
    }
  });

  test('insecure: works, but warns at start and in diag', async () => {
    const r = await rig({ tls: selfSigned }, { tls: { insecure: true } });
    try {
      await online(r);
      const warn = r.logs.find((l) => l.level === 40 && /tls\.insecure/.test(l.msg));
      assert.ok(warn, 'a warning at start');
      assert.match(warn.msg, /camera cam1: .*NOT verified/);
      const tls = (await r.driver.diagnose()).find((d) => d.check === 'onvif.tls');
      assert.equal(tls?.verdict, 'warn');
      assert.match(tls?.hint ?? '', /certSha256/);
    } finally {
      await r.close();
    }
  });

  test('scheme https against a plain-http camera: a clear error, not a hang', async () => {
    const r = await rig({}, { tls: { insecure: true } });
    try {
      await r.driver.start();
      await waitUntil(() => r.driver.health()[0].counters.reconnects >= 1, 'a failed attempt');
      assert.match(r.driver.health()[0].lastError ?? '', /TLS: camera cam1 .*plain HTTP\? use scheme: http/);
    } finally {
      await r.close();
    }
  });

  test('a server that never completes the handshake: the deadline ends it and closes the socket', async () => {
    const held: Socket[] = [];
    const closed: Promise<void>[] = [];
    const srv = createServer((sock) => {
      held.push(sock);
      closed.push(new Promise((r) => sock.once('close', () => r())));
      sock.on('error', () => undefined);
      sock.resume(); // read (and discard) the ClientHello, so the client's close is seen
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    try {
      await assert.rejects(
        httpExchange({ url: `https://127.0.0.1:${port}/onvif/device_service`, method: 'POST', headers: {}, body: '<x/>', timeoutMs: 300, maxBytes: 4096, tls: tlsPolicy('cam9', { insecure: false }) }),
        /no complete answer within 300 ms/,
      );
      await waitUntil(() => closed.length === 1, 'the connection was made');
      await closed[0];
      await assert.rejects(
        httpExchange({ url: `https://127.0.0.1:${port}/x`, method: 'GET', headers: {}, timeoutMs: 300, maxBytes: 4096 }),
        /https URL but the camera is not configured for TLS/,
      );
    } finally {
      held.forEach((h) => h.destroy());
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});

// The ONVIF driver against the SOAP test camera over HTTP on loopback: identity, profiles
// and URIs; every event kind normalised (vendor variants included); snapshot on alarm;
// subscription expiry and camera restart; pull-loop CPU against an instant-answer camera.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { onvifConfigSchema } from '../../drivers/onvif/config.js';
import { OnvifDriver } from '../../drivers/onvif/driver.js';
import { tempDir } from '../helpers/chain.js';
import { collectingContext, waitUntil } from '../helpers/driver-context.js';
import { startOnvifCamera, type EventKind, type OnvifCameraOptions } from '../peers/onvif-camera.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function rig(peerOpts: OnvifCameraOptions = {}, camExtra: Record<string, unknown> = {}, drvExtra: Record<string, unknown> = {}) {
  const cam = await startOnvifCamera(peerOpts);
  const dir = tempDir('gw-onvif-');
  dirs.push(dir);
  const cfg = onvifConfigSchema.parse({
    id: 'cams',
    cameras: [{ id: 'cam1', host: '127.0.0.1', port: cam.port, username: 'admin', password: peerOpts.password ?? 'secret', ...camExtra }],
    pullTimeoutSeconds: 2,
    minPullIntervalMs: 200,
    reconnect: { minMs: 100, maxMs: 1000 },
    snapshot: { dir },
    ...drvExtra,
  });
  const c = collectingContext();
  const driver = new OnvifDriver(cfg, c.ctx);
  const close = async (): Promise<void> => {
    await driver.stop();
    c.abort.abort();
    await cam.close();
  };
  return { cam, c, driver, close, dir };
}

async function online(r: Awaited<ReturnType<typeof rig>>): Promise<void> {
  await r.driver.start();
  await waitUntil(() => r.c.of('video.camera.online').length > 0 && r.driver.sessions[0].subscribed, 'camera online + subscribed');
}

describe('onvif driver against the test camera', { timeout: 60_000 }, () => {
  test('device info, profiles, stream and snapshot URIs; health counters', async () => {
    const r = await rig();
    try {
      await online(r);
      const on = r.c.of('video.camera.online')[0];
      assert.equal(on.device, 'cam1');
      assert.equal(on.data.manufacturer, 'Gatewarden');
      assert.equal(on.data.model, 'TestCam-1');
      assert.equal(on.data.serial, 'SN0001234');
      assert.deepEqual(on.data.profiles, ['Profile_1', 'Profile_2']);
      assert.equal(on.data.profileToken, 'Profile_1');
      // XAddrs named 192.0.2.10 (NAT); the client talks to the configured host instead.
      assert.equal(on.data.snapshotUri, `http://127.0.0.1:${r.cam.port}/snapshot.jpg?profile=Profile_1`);
      assert.equal(on.data.streamUri, 'rtsp://127.0.0.1:554/Streaming/Profile_1');
      const h = r.driver.health()[0];
      assert.equal(h.state, 'online');
      assert.ok(h.counters.requests >= 7);
      assert.equal(h.counters.authFailures, 0);
      assert.equal(h.info?.model, 'TestCam-1');
      // The idle baseline (Initialized false) is not an "end" edge.
      assert.equal(r.c.of('video.motion.end').length, 0);
      const diag = await r.driver.diagnose();
      assert.deepEqual(diag.map((d) => `${d.check}:${d.verdict}`), ['onvif.reachable:pass', 'onvif.clock_skew:pass', 'onvif.login:pass', 'onvif.events:pass']);
    } finally {
      await r.close();
    }
  });

  test('profile token is passed explicitly', async () => {
    const r = await rig({}, { profileToken: 'Profile_2' });
    try {
      await online(r);
      assert.equal(r.c.of('video.camera.online')[0].data.snapshotUri, `http://127.0.0.1:${r.cam.port}/snapshot.jpg?profile=Profile_2`);
    } finally {
      await r.close();
    }
  });

  for (const vendor of ['generic', 'hikvision', 'axis'] as const) {
    test(`every event kind is normalised (${vendor} variant)`, async () => {
      const r = await rig({ vendor });
      try {
        await online(r);
        const cases: Array<[EventKind, boolean, string]> = [
          ['motion', true, 'video.motion.start'],
          ['motion', false, 'video.motion.end'],
          ['cellmotion', true, 'video.motion.start'],
          ['cellmotion', false, 'video.motion.end'],
          ['tamper', true, 'video.tamper.detected'],
          ['tamper', false, 'video.tamper.cleared'],
          ['blurry', true, 'video.tamper.detected'],
          ['dark', true, 'video.tamper.detected'],
          ['bright', true, 'video.tamper.detected'],
          ['signal', true, 'video.signal.lost'],
          ['signal', false, 'video.signal.restored'],
          ['input', true, 'video.input.active'],
          ['input', false, 'video.input.inactive'],
          ['unknown', true, 'video.event.other'],
        ];
        for (const [kind, state, type] of cases) {
          const before = r.c.events.length;
          const t0 = Date.now();
          r.cam.emit(kind, state);
          const ev = await waitUntil(() => r.c.events.slice(before).find((e) => e.type === type), `${kind}=${state} → ${type}`);
          assert.equal(ev.device, 'cam1');
          assert.ok(ev.at instanceof Date, `${type} carries the camera time`);
          // Camera UtcTime has 1 s resolution; corrected into gateway UTC.
          assert.ok(Math.abs(ev.at.getTime() - t0) < 5000, `${type} at ${ev.at.toISOString()}`);
          if (type === 'video.event.other') {
            assert.equal(ev.data.topic, 'tns1:Monitoring/ProcessorUsage');
            assert.deepEqual(ev.data.data, { Value: '93.5' });
          } else {
            assert.equal(ev.data.state, state);
          }
        }
        // A repeated state is not a new edge.
        const n = r.c.events.length;
        r.cam.emit('motion', true);
        r.cam.emit('motion', true);
        r.cam.emit('unknown', false);
        await waitUntil(() => r.c.events.length > n + 1, 'events after repeats');
        await waitUntil(() => r.c.events.slice(n).some((e) => e.type === 'video.event.other'), 'other after repeats');
        assert.equal(r.c.events.slice(n).filter((e) => e.type === 'video.motion.start').length, 1);
      } finally {
        await r.close();
      }
    });
  }

  test('snapshot on alarm (digest auth) and the snapshot command (basic auth)', async () => {
    const r = await rig({ snapshotBytes: 4096 }, { snapshotOnAlarm: true });
    try {
      await online(r);
      r.cam.emit('motion', true);
      const ev = await waitUntil(() => r.c.of('video.motion.start')[0], 'motion start');
      const snap = ev.data.snapshot as { sha256: string; size: number; path: string };
      assert.equal(snap.size, r.cam.jpeg.length);
      assert.equal(snap.sha256, createHash('sha256').update(r.cam.jpeg).digest('hex'));
      assert.deepEqual(await readFile(snap.path), r.cam.jpeg);
      const res = await r.driver.command('snapshot', {}, 'cam1');
      assert.equal(res.ok, true);
      assert.equal(res.data?.sha256, snap.sha256);
    } finally {
      await r.close();
    }
    const b = await rig({ snapshotAuth: 'basic', snapshotBytes: 8192 }, {}, { snapshot: { maxBytes: 4096 } });
    try {
      await online(b);
      const res = await b.driver.command('snapshot', {});
      assert.equal(res.ok, false, 'an image above the cap is refused');
      assert.match(res.detail ?? '', /cap/);
    } finally {
      await b.close();
    }
  });

  test('expired subscription and camera restart: re-subscribes, later events arrive', async () => {
    const r = await rig();
    try {
      await online(r);
      r.cam.expireSubscriptions();
      await waitUntil(() => r.driver.health()[0].counters.resubscribes >= 1, 'resubscribe after expiry');
      r.cam.emit('motion', true);
      await waitUntil(() => r.c.of('video.motion.start').length === 1, 'motion after re-subscribe');
      await r.cam.restart();
      await waitUntil(() => r.cam.subscriptions() === 1, 'new subscription after restart', 20_000);
      r.cam.emit('motion', false);
      r.cam.emit('input', true);
      await waitUntil(() => r.c.of('video.motion.end').length === 1 && r.c.of('video.input.active').length === 1, 'events after restart', 20_000);
      assert.equal(r.c.of('video.motion.start').length, 1, 'no duplicate start after the restart');
    } finally {
      await r.close();
    }
    assert.equal(r.cam.stats.unsubscribes, 1, 'stop() unsubscribes');
  });

  test('pull loop stays idle against a camera that answers instantly', async () => {
    const r = await rig({ instantPull: true }, {}, { minPullIntervalMs: 250 });
    try {
      await online(r);
      const p0 = r.cam.stats.pulls;
      const cpu0 = process.cpuUsage();
      const w0 = Date.now();
      await new Promise((res) => setTimeout(res, 3000));
      const cpu = process.cpuUsage(cpu0);
      const wall = Date.now() - w0;
      const pulls = r.cam.stats.pulls - p0;
      // Peer and driver share this process: both are counted. A busy loop would burn ~100%.
      const share = (cpu.user + cpu.system) / 1000 / wall;
      assert.ok(share < 0.5, `CPU share ${share.toFixed(2)} over ${wall} ms`);
      assert.ok(pulls <= Math.ceil(wall / 250) + 2, `${pulls} pulls in ${wall} ms`);
      assert.ok(pulls >= 2, 'the loop keeps pulling');
    } finally {
      await r.close();
    }
  });
});


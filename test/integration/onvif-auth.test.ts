// Login and clock handling against the SOAP test camera: a wrong password is a clear
// auth failure (event + error + backoff, no busy loop); a camera clock two hours off still
// logs in (the peer enforces a ±60 s token window) and raises a skew event; a clock jump
// while running is recovered by re-syncing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitUntil } from '../helpers/driver-context.js';
import { startOnvifRig } from '../helpers/onvif-rig.js';
import type { OnvifCameraOptions } from '../peers/onvif-camera.js';

async function rig(peer: OnvifCameraOptions, password: string) {
  return startOnvifRig(peer, { password, config: { pullTimeoutSeconds: 2, minPullIntervalMs: 200 } });
}

const HOUR = 3600_000;

describe('onvif login and camera clock', { timeout: 60_000 }, () => {
  test('wrong password → auth_failed once, clear error, backoff, recovers when fixed', async () => {
    const r = await rig({ password: 'secret' }, 'wrong');
    try {
      await r.driver.start();
      await waitUntil(() => r.driver.health()[0].counters.authFailures >= 3, 'three failed logins');
      const failed = r.c.of('video.camera.auth_failed');
      assert.equal(failed.length, 1, 'one auth_failed event per failure streak');
      assert.equal(failed[0].device, 'cam1');
      assert.equal(failed[0].data.user, 'admin');
      assert.ok(!JSON.stringify(r.c.events).includes('wrong'), 'the password never appears in events');
      const h = r.driver.health()[0];
      assert.equal(h.state, 'offline');
      assert.match(h.lastError ?? '', /authentication failed for camera cam1/);
      assert.ok(r.c.errors.some((e) => /authentication failed for camera cam1/.test(e.err.message) && e.device === 'cam1'));
      assert.equal(r.c.of('video.camera.online').length, 0, 'PRE_AUTH calls succeeding is not a login');
      // No busy loop: each attempt (clock, login, re-sync, login) is followed by ≥ 200 ms backoff.
      const attempts = h.counters.reconnects;
      assert.ok(r.cam.stats.requests <= (attempts + 1) * 4, `${r.cam.stats.requests} requests for ${attempts} attempts`);
      const diag = await r.driver.diagnose();
      const login = diag.find((d) => d.check === 'onvif.login');
      assert.equal(login?.verdict, 'fail');
      assert.match(login?.hint ?? '', /password/);
      r.cam.setPassword('wrong');
      await waitUntil(() => r.c.of('video.camera.online').length === 1, 'online after the password is fixed');
    } finally {
      await r.close();
    }
  });

  test('camera clock 2 h ahead with a ±60 s token window: login works, skew event, UTC event times', async () => {
    const r = await rig({ clockOffsetMs: 2 * HOUR, authWindowSeconds: 60 }, 'secret');
    try {
      await r.driver.start();
      await waitUntil(() => r.driver.sessions[0].subscribed, 'subscribed');
      const skew = r.c.of('video.camera.clock_skew');
      assert.equal(skew.length, 1);
      assert.ok(Math.abs((skew[0].data.offsetMs as number) - 2 * HOUR) < 3000, `offset ${skew[0].data.offsetMs}`);
      assert.equal(r.cam.stats.authFailures, 0, 'tokens were created in camera time from the start');
      const t0 = Date.now();
      r.cam.emit('motion', true);
      const ev = await waitUntil(() => r.c.of('video.motion.start')[0], 'motion');
      assert.ok(Math.abs(ev.at!.getTime() - t0) < 5000, `event time corrected to gateway UTC (${ev.at!.toISOString()})`);
      assert.equal(ev.data.clockCorrected, true);
      const diag = await r.driver.diagnose();
      assert.equal(diag.find((d) => d.check === 'onvif.clock_skew')?.verdict, 'warn');

      // The camera clock jumps 3 h back while running: the next pull fails auth, the session re-syncs.
      r.cam.setClockOffset(-3 * HOUR);
      r.cam.emit('motion', false);
      const t1 = Date.now();
      const end = await waitUntil(() => r.c.of('video.motion.end')[0], 'motion end after the clock jump', 20_000);
      assert.ok(Math.abs(end.at!.getTime() - t1) < 5000, `corrected after re-sync (${end.at!.toISOString()})`);
      await waitUntil(() => r.c.of('video.camera.clock_skew').length === 2, 'second skew event');
      assert.equal(r.c.of('video.camera.auth_failed').length, 0, 'a skew is not reported as a bad password');
    } finally {
      await r.close();
    }
  });
});

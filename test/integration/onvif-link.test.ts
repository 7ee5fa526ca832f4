// The ONVIF camera under the reconnecting link, against the SOAP test camera on loopback:
// a camera that accepts the login but fails every PullMessages used to be announced
// online and offline on every attempt (the backoff reset on connect). Now connecting
// proves nothing: three online/offline pairs, one flapping notice, then silence while
// the driver keeps retrying; once pulls work again, one online with downMs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { onvifConfigSchema } from '../../drivers/onvif/config.js';
import { OnvifDriver } from '../../drivers/onvif/driver.js';
import { collectingContext, waitUntil } from '../helpers/driver-context.js';
import { startOnvifCamera } from '../peers/onvif-camera.js';

test('onvif: login ok, PullMessages always fails → 3 online + 3 offline, one flapping notice, held down; recovers with one online', { timeout: 30_000 }, async () => {
  const cam = await startOnvifCamera({ failPulls: true });
  const cfg = onvifConfigSchema.parse({
    id: 'cams',
    cameras: [{ id: 'cam1', host: '127.0.0.1', port: cam.port, username: 'admin', password: 'secret' }],
    pullTimeoutSeconds: 1,
    minPullIntervalMs: 100,
    // Scaled down so the test takes seconds: the same rules as the defaults (1 s … 60 s, hold 5 min).
    reconnect: { minMs: 50, maxMs: 400, minStableMs: 60_000, flapCount: 3, flapWindowMs: 600_000, holdMs: 800 },
  });
  const c = collectingContext();
  const driver = new OnvifDriver(cfg, c.ctx);
  const count = (t: string): number => c.of(t).length;
  try {
    await driver.start();
    await waitUntil(() => c.events.some((e) => e.data.flapping === true), 'the flapping notice');
    const pullsAtNotice = cam.stats.pulls;
    // Keep failing across the hold and beyond: the driver keeps trying, silently.
    await waitUntil(() => cam.stats.pulls >= pullsAtNotice + 3, 'three more failed sessions after the notice');
    assert.equal(count('video.camera.online'), 3, 'online events while failing');
    assert.equal(count('video.camera.offline'), 3, 'offline events while failing');
    const off = c.of('video.camera.offline');
    assert.deepEqual(off.map((e) => e.data.flapping === true), [false, false, true]);
    assert.equal(off[2].data.holdMs, 800);
    assert.ok(off.every((e) => typeof e.data.reason === 'string' && /HTTP 500/.test(e.data.reason as string)), 'reason names the failing pull');
    assert.equal(driver.health()[0].state, 'offline');

    cam.setFailPulls(false);
    await waitUntil(() => count('video.camera.online') === 4, 'online once pulls work');
    const back = c.of('video.camera.online')[3];
    assert.equal(typeof back.data.downMs, 'number');
    assert.ok((back.data.downMs as number) > 0);
    assert.equal(count('video.camera.offline'), 3);
    assert.equal(driver.health()[0].state, 'online');
    assert.deepEqual(c.schemaErrors, []);
  } finally {
    await driver.stop();
    c.abort.abort();
    await cam.close();
  }
});

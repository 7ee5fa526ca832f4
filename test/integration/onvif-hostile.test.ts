// A hostile "camera" serving XXE, an entity-expansion bomb, a depth bomb and an endless
// response: every answer is refused, memory stays bounded, the session stays offline and
// keeps backing off, and a camera that turns sane again is picked up.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OnvifClient } from '../../drivers/onvif/client.js';
import { onvifConfigSchema } from '../../drivers/onvif/config.js';
import { OnvifDriver } from '../../drivers/onvif/driver.js';
import { XmlSecurityError } from '../../drivers/onvif/xml.js';
import { collectingContext, waitUntil } from '../helpers/driver-context.js';
import { startOnvifCamera, type HostileMode } from '../peers/onvif-camera.js';

const MODES: Array<[Exclude<HostileMode, null>, RegExp]> = [
  ['xxe', /DTD declarations are not accepted/],
  ['bomb', /DTD declarations are not accepted/],
  ['deep', /nested deeper than/],
  ['huge', /exceeds the \d+-byte cap/],
];

describe('onvif hostile camera', { timeout: 60_000 }, () => {
  test('client refuses XXE, entity bomb, depth bomb and oversize answers', async () => {
    const cam = await startOnvifCamera();
    try {
      const client = new OnvifClient({
        host: '127.0.0.1', port: cam.port, username: 'admin', password: 'secret', devicePath: '/onvif/device_service',
        timeoutMs: 10_000, maxResponseBytes: 1024 * 1024, now: Date.now,
      });
      const heap0 = process.memoryUsage().heapUsed;
      for (const [mode, re] of MODES) {
        cam.setHostile(mode);
        for (let i = 0; i < 3; i++) {
          await assert.rejects(client.getSystemDateAndTime(), (e: Error) => e instanceof XmlSecurityError && re.test(e.message), mode);
        }
      }
      // The huge mode streams up to 256 MiB; the cap cuts it at 1 MiB. No expansion ever happens.
      const grown = process.memoryUsage().heapUsed - heap0;
      assert.ok(grown < 64 * 1024 * 1024, `heap grew ${Math.round(grown / 1e6)} MB`);
      cam.setHostile(null);
      const r = await client.getSystemDateAndTime();
      assert.ok(Math.abs(r.offsetMs) < 3000);
    } finally {
      await cam.close();
    }
  });

  test('driver stays offline with a counted refusal, then recovers', async () => {
    const cam = await startOnvifCamera();
    cam.setHostile('xxe');
    const c = collectingContext();
    const driver = new OnvifDriver(
      onvifConfigSchema.parse({
        id: 'cams',
        cameras: [{ id: 'evil', host: '127.0.0.1', port: cam.port, username: 'admin', password: 'secret' }],
        reconnect: { minMs: 100, maxMs: 300 },
        pullTimeoutSeconds: 2,
      }),
      c.ctx,
    );
    try {
      await driver.start();
      await waitUntil(() => driver.health()[0].counters.refusedResponses >= 2, 'two refused answers');
      const h = driver.health()[0];
      assert.equal(h.state, 'offline');
      assert.match(h.lastError ?? '', /DTD/);
      assert.equal(c.of('video.camera.offline').length, 1);
      assert.ok(!c.events.some((e) => JSON.stringify(e.data).includes('root:')), 'no file content leaked');
      cam.setHostile('huge');
      const before = driver.health()[0].counters.refusedResponses;
      await waitUntil(() => driver.health()[0].counters.refusedResponses > before, 'huge answer refused');
      cam.setHostile(null);
      await waitUntil(() => c.of('video.camera.online').length === 1, 'online once the camera is sane');
    } finally {
      await driver.stop();
      c.abort.abort();
      await cam.close();
    }
  });
});

// WS-Discovery on loopback: the probe goes to the test camera's own UDP port (the multicast
// address is injectable), by "multicast" address and by unicast sweep; the printed snippet
// passes the driver's config schema and, with the password filled in, brings the camera online.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { onvifConfigSchema } from '../../drivers/onvif/config.js';
import { configSnippet, discoverCameras } from '../../drivers/onvif/discovery.js';
import { OnvifDriver } from '../../drivers/onvif/driver.js';
import { collectingContext, waitUntil } from '../helpers/driver-context.js';
import { startOnvifCamera } from '../peers/onvif-camera.js';

describe('onvif discovery', { timeout: 30_000 }, () => {
  test('probe finds the camera; snippet is a valid config that connects', async () => {
    const cam = await startOnvifCamera({ vendor: 'hikvision' });
    const c = collectingContext();
    let driver: OnvifDriver | null = null;
    try {
      const found = await discoverCameras({ address: '127.0.0.1', port: cam.discoveryPort, timeoutMs: 400 });
      assert.equal(found.length, 1, 'one camera, de-duplicated across repeated probes');
      assert.equal(found[0].host, '127.0.0.1');
      assert.equal(found[0].port, cam.port);
      assert.equal(found[0].name, 'HIKVISION DS-2CD2143G2-I');
      assert.match(found[0].endpoint, /^urn:uuid:/);

      const swept = await discoverCameras({ address: '127.0.0.3', sweep: '127.0.0.1/32', port: cam.discoveryPort, timeoutMs: 400 });
      assert.equal(swept.length, 1, 'the unicast sweep finds it too');

      const { config, yaml } = configSnippet(found);
      const fromYaml = parse(yaml) as { drivers: { onvif: unknown[] } };
      assert.deepEqual(fromYaml.drivers.onvif[0], config);
      const parsed = onvifConfigSchema.parse(config);
      assert.equal(parsed.cameras[0].id, 'hikvision-ds-2cd2143g2-i');
      assert.match(yaml, /password: CHANGE-ME/);

      parsed.cameras[0].password = 'secret';
      driver = new OnvifDriver({ ...parsed, reconnect: { ...parsed.reconnect, minMs: 100, maxMs: 500 } }, c.ctx);
      await driver.start();
      await waitUntil(() => c.of('video.camera.online').length === 1, 'discovered camera online');
    } finally {
      await driver?.stop();
      c.abort.abort();
      await cam.close();
    }
  });
});

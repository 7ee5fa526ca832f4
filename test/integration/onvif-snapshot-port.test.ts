// Which port a rewritten snapshot URI keeps (drivers/onvif/README.md "Snapshot URI"), against
// the SOAP test camera: behind a port forward the camera advertises :80 for its services and
// its snapshot, the gateway reaches it on the configured port → the snapshot goes there (and
// is fetched); a snapshot URI on another port (a separate snapshot server) keeps its port.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitUntil } from '../helpers/driver-context.js';
import { startOnvifRig } from '../helpers/onvif-rig.js';
import type { OnvifCameraOptions } from '../peers/onvif-camera.js';

async function online(peer: OnvifCameraOptions) {
  const r = await startOnvifRig(peer);
  await r.driver.start();
  const on = await waitUntil(() => r.c.of('video.camera.online')[0], 'online');
  return { ...r, snapshotUri: on.data.snapshotUri as string };
}

describe('onvif snapshot URI port', { timeout: 30_000 }, () => {
  test('camera behind a port forward advertises :80: the snapshot is taken on the configured port', async () => {
    const r = await online({ advertisedPort: 80 });
    try {
      assert.equal(r.snapshotUri, `http://127.0.0.1:${r.cam.port}/snapshot.jpg?profile=Profile_1`);
      const res = await r.driver.command('snapshot', { camera: 'cam1' }, 'cam1');
      assert.equal(res.ok, true, JSON.stringify(res));
      assert.equal(r.cam.stats.snapshots, 1);
    } finally {
      await r.close();
    }
  });

  test('a snapshot URI on another port than the services: its own port is kept', async () => {
    const r = await online({ advertisedPort: 80, snapshotUriPort: 8081 });
    try {
      assert.equal(r.snapshotUri, 'http://127.0.0.1:8081/snapshot.jpg?profile=Profile_1');
    } finally {
      await r.close();
    }
  });
});

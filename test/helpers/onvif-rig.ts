// One ONVIF test camera (test/peers/onvif-camera.ts) and an OnvifDriver on it (camera
// `cam1` of instance `cams`, 1 s pulls, fast reconnects) collecting what it emits; the
// driver is not started. `config` is merged over the driver config; `onContext` may wrap
// the context before the driver is built.
import { onvifConfigSchema } from '../../drivers/onvif/config.js';
import { OnvifDriver } from '../../drivers/onvif/driver.js';
import { startOnvifCamera, type OnvifCamera, type OnvifCameraOptions } from '../peers/onvif-camera.js';
import { collectingContext, type CollectingContext } from './driver-context.js';

export interface OnvifRig {
  cam: OnvifCamera;
  c: CollectingContext;
  driver: OnvifDriver;
  close(): Promise<void>;
}

export async function startOnvifRig(
  peer: OnvifCameraOptions,
  o: { config?: Record<string, unknown>; onContext?: (c: CollectingContext) => void; /** The driver's password (default secret, the test camera's own). */ password?: string } = {},
): Promise<OnvifRig> {
  const cam = await startOnvifCamera(peer);
  const cfg = onvifConfigSchema.parse({
    id: 'cams',
    cameras: [{ id: 'cam1', host: '127.0.0.1', port: cam.port, username: 'admin', password: o.password ?? 'secret' }],
    pullTimeoutSeconds: 1,
    reconnect: { minMs: 200, maxMs: 400 },
    ...o.config,
  });
  const c = collectingContext();
  o.onContext?.(c);
  const driver = new OnvifDriver(cfg, c.ctx);
  return {
    cam, c, driver,
    close: async () => {
      await driver.stop();
      c.abort.abort();
      await cam.close();
    },
  };
}

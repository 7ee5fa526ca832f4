// ONVIF camera driver manifest (docs/contracts.md §Driver seam). The registry imports this lazily as
// `./onvif/index.js`; each instance manages a list of cameras.
import type { DriverManifest } from '../types.js';
import { onvifConfigSchema, type OnvifConfig } from './config.js';
import { OnvifDriver } from './driver.js';

export type { OnvifConfig, CameraConfig } from './config.js';
export { onvifConfigSchema, cameraSchema } from './config.js';

export const manifest: DriverManifest<OnvifConfig> = {
  kind: 'onvif',
  configSchema: onvifConfigSchema,
  create: (config, ctx) => new OnvifDriver(config, ctx),
};

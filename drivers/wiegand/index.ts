// Wiegand-to-serial converter driver manifest (docs/contracts.md §Driver seam). The registry imports this
// lazily as `./wiegand/index.js`.
import type { DriverManifest } from '../types.js';
import { wiegandConfigSchema, type WiegandConfig } from './config.js';
import { WiegandDriver } from './driver.js';

export type { WiegandConfig } from './config.js';
export { wiegandConfigSchema } from './config.js';

export const manifest: DriverManifest<WiegandConfig> = {
  kind: 'wiegand',
  configSchema: wiegandConfigSchema,
  create: (config, ctx) => new WiegandDriver(config, ctx),
};

// OSDP control-panel driver manifest (docs/contracts.md §Driver seam): one instance per RS-485 bus. The registry
// imports this lazily as `./osdp/index.js`.
import type { DriverManifest } from '../types.js';
import { osdpConfigSchema, type OsdpConfig } from './config.js';
import { OsdpDriver } from './driver.js';

export type { OsdpConfig, ReaderConfig, DoorConfig } from './config.js';
export { osdpConfigSchema } from './config.js';

export const manifest: DriverManifest<OsdpConfig> = {
  kind: 'osdp',
  configSchema: osdpConfigSchema,
  create: (config, ctx) => new OsdpDriver(config, ctx),
};

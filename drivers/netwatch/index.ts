// The netwatch driver manifest (drivers/registry.ts). Its instance is not listed under
// `drivers:`: config/loader.ts creates it from the top-level `netwatch:` section
// (supervisedInstances), so existing configs keep working (docs/netwatch.md).
import { netwatchConfigSchema, type NetwatchConfig } from '../../agent/anomaly/index.js';
import type { DriverManifest } from '../types.js';
import { NetwatchDriver } from './driver.js';

export const manifest: DriverManifest<NetwatchConfig> = {
  kind: 'netwatch',
  configSchema: netwatchConfigSchema,
  create: (config, ctx) => new NetwatchDriver(config, ctx),
};

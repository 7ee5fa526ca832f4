// Modbus RTU/TCP driver manifest (docs/contracts.md §Driver seam): one instance per bus. The registry imports
// this lazily as `./modbus/index.js`.
import type { DriverManifest } from '../types.js';
import { modbusConfigSchema, type ModbusConfig } from './config.js';
import { ModbusDriver } from './driver.js';

export type { ModbusConfig } from './config.js';
export { modbusConfigSchema } from './config.js';

export const manifest: DriverManifest<ModbusConfig> = {
  kind: 'modbus',
  configSchema: modbusConfigSchema,
  create: (config, ctx) => new ModbusDriver(config, ctx),
};

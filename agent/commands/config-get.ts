// `config.get`: the running config (the one the daemon applied, after any reload) with every
// value the config schemas mark secret redacted (config/redact.ts: passwords, key files'
// paths stay, their contents never leave; URL credentials are cut), so the platform can see
// what a gateway runs without receiving its secrets.
import type { LoadedConfig } from '../../config/loader.js';
import { redactConfig } from '../../config/redact.js';
import type { CommandResult } from '../../drivers/types.js';
import type { JsonObject } from '../events/types.js';

export async function configGet(loaded: Pick<LoadedConfig, 'config' | 'drivers' | 'source'>): Promise<CommandResult> {
  const drivers: Record<string, unknown[]> = {};
  for (const d of loaded.drivers) (drivers[d.kind] ??= [])[d.index] = d.config;
  const { redacted } = await redactConfig({ ...loaded.config, drivers });
  // Through JSON: drops undefined optionals so the result is plain JSON data.
  const config = JSON.parse(JSON.stringify(redacted)) as JsonObject;
  return { ok: true, detail: `running config of ${loaded.source}`, data: { source: loaded.source, config } };
}

// Which spool file a local inspection command reads: --spool, else --state-dir, else the
// config file's, else the default config's.
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfigFile } from '../../config/loader.js';
import { DEFAULT_CONFIG } from './run.js';

export interface SpoolPathOptions {
  spool?: string;
  stateDir?: string;
  config?: string;
}

export function addSpoolPathOptions(cmd: Command): Command {
  return cmd
    .option('--spool <file>', 'spool database file')
    .option('--state-dir <dir>', 'state directory holding spool.db')
    .option('-c, --config <file>', 'take the spool path from this config', process.env.GATEWARDEN_CONFIG);
}

export async function resolveSpoolPath(o: SpoolPathOptions): Promise<string> {
  if (o.spool) return o.spool;
  if (o.stateDir) return join(o.stateDir, 'spool.db');
  const { config } = await loadConfigFile(o.config ?? DEFAULT_CONFIG);
  return config.spool.path ?? join(config.stateDir, 'spool.db');
}

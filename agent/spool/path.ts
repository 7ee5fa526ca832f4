// Where a config's spool file lives: spool.path, else <stateDir>/spool.db. Shared by the
// daemon, diag and the support bundle (diag must not import the daemon's composition root).
import { join } from 'node:path';
import type { LoadedConfig } from '../../config/loader.js';

export function spoolPathOf(loaded: LoadedConfig): string {
  return loaded.config.spool.path ?? join(loaded.config.stateDir, 'spool.db');
}

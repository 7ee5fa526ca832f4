// `gatewarden run --config FILE`: the daemon. SIGTERM/SIGINT stop gracefully (drivers →
// final checkpoint → flush → clean disconnect) within a bound; SIGHUP reloads.
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { ConfigError, loadConfigFile, type LoadedConfig } from '../../config/loader.js';
import { KeyFileError } from '../chain/keys.js';
import { Daemon } from '../daemon.js';
import { createLogger } from '../log.js';
import { logSecretsOf } from '../../config/redact.js';
import { StateDirInUseError, type StateLock } from '../state-lock.js';

export const DEFAULT_CONFIG = '/etc/gatewarden/config.yaml';
/** systemd's TimeoutStopSec is 20 s in our unit; finish well inside it. */
const STOP_TIMEOUT_MS = 12_000;

export interface RunOptions {
  /** Called after the daemon has stopped (demo: close the embedded broker). */
  afterStop?: () => Promise<void>;
  log?: Logger;
  /** The state directory's lock, when the caller took it before starting other parts (demo). */
  stateLock?: StateLock;
}

export async function runDaemon(loaded: LoadedConfig, reload: (() => Promise<LoadedConfig>) | undefined, opts: RunOptions = {}): Promise<Daemon> {
  const log = opts.log ?? createLogger({ ...loaded.config.log, ...(await logSecretsOf(loaded)) });
  const daemon = new Daemon({ loaded, log, reloadConfig: reload, stateLock: opts.stateLock });
  let exiting = false;
  const shutdown = (reason: string, code: number): void => {
    if (exiting) return;
    exiting = true;
    const force = setTimeout(() => {
      log.error('graceful stop timed out; exiting');
      process.exit(code || 1);
    }, STOP_TIMEOUT_MS + 3000);
    force.unref();
    daemon
      .stop(reason, STOP_TIMEOUT_MS)
      .then(() => opts.afterStop?.())
      .catch((err: unknown) => log.error({ err }, 'error while stopping'))
      .finally(() => {
        log.flush?.();
        setTimeout(() => process.exit(code), 50);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM', 0));
  process.on('SIGINT', () => shutdown('SIGINT', 0));
  process.on('SIGHUP', () => void daemon.reload());
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception; stopping');
    shutdown('crash', 1);
  });
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled rejection; stopping');
    shutdown('crash', 1);
  });
  try {
    await daemon.start();
  } catch (e) {
    if (e instanceof KeyFileError || e instanceof StateDirInUseError) {
      log.fatal(e.message);
      console.error(`gatewarden: ${e.message}`);
      process.exit(1);
    }
    throw e;
  }
  return daemon;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the daemon')
    .option('-c, --config <file>', 'config file', process.env.GATEWARDEN_CONFIG ?? DEFAULT_CONFIG)
    .action(async (o: { config: string }) => {
      let loaded: LoadedConfig;
      try {
        loaded = await loadConfigFile(o.config);
      } catch (e) {
        if (e instanceof ConfigError) {
          console.error(e.message);
          process.exit(1);
        }
        throw e;
      }
      await runDaemon(loaded, () => loadConfigFile(o.config));
    });
}

// What every command that asks the running daemon over its control socket shares
// (`status`, `reload`): the options that find the socket (./socket-path.ts) and how a
// failed request is reported (the message; the fix when the daemon is not running; exit 1).
import type { Command } from 'commander';
import { ControlUnavailableError } from '../control/client.js';
import { DEFAULT_CONFIG } from './defaults.js';

/** Adds `-c, --config <file>` (default $GATEWARDEN_CONFIG, else the packaged path) and `--socket <path>`. */
export function controlSocketOptions(cmd: Command, configHelp = 'config file (to find the control socket)'): Command {
  return cmd
    .option('-c, --config <file>', configHelp, process.env.GATEWARDEN_CONFIG ?? DEFAULT_CONFIG)
    .option('--socket <path>', 'control socket (default: from the config)');
}

/** Prints `gatewarden: <message>`, then `  <whenStopped>` when the daemon is not running; sets exit code 1. */
export function reportControlFailure(e: unknown, whenStopped: string): void {
  console.error(`gatewarden: ${(e as Error).message}`);
  if (e instanceof ControlUnavailableError) console.error(`  ${whenStopped}`);
  process.exitCode = 1;
}

// Opening the spool for a read-only CLI command (`spool stats`, `events list|tail`) with
// errors a user can act on: no spool at that path (and which part is missing), a state
// dir on a read-only file system, a file that is not a spool. Never a SQLite stack.
import { existsSync, statSync } from 'node:fs';
import { openSpoolReadOnly, type ReadOnlySpool } from '../spool/sqlite-spool.js';
import { CliError, EXIT_USAGE, pathProblem } from './errors.js';

const WHERE = 'name the right one with --state-dir DIR, --spool FILE or --config FILE (default: the config\'s stateDir)';

/** Throws a CliError unless `path` names an existing spool file. */
export function requireSpoolFile(path: string): void {
  if (existsSync(path)) return;
  const p = pathProblem(path);
  throw new CliError(`no spool at ${path}${p && !p.what.startsWith(path) ? ` (${p.what})` : ''}`, `the daemon creates it at its first start; or ${WHERE}`);
}

export function openSpoolForCli(path: string): ReadOnlySpool {
  requireSpoolFile(path);
  if (statSync(path).isDirectory()) throw new CliError(`${path} is a directory, not a spool file`, `--spool names the file (…/spool.db); --state-dir names its directory`, EXIT_USAGE);
  try {
    return openSpoolReadOnly(path);
  } catch (e) {
    const p = pathProblem(path);
    const msg = (e as Error).message.replace(`${path}: `, '');
    throw new CliError(`cannot read the spool ${path}: ${msg}${p ? `; ${p.what}` : ''}`, p?.fix ?? `is it a gatewarden spool? ${WHERE}`);
  }
}

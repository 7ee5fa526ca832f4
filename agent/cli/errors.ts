// How the command line reports a failure: one or two lines naming what went wrong and
// how to fix it, never a stack (unless --debug). Exit codes (README "Exit codes", and
// `gatewarden --help`): 0 ok, 1 the command ran and something failed (a check, a file, a
// device, the daemon), 2 usage (bad option value, unknown command, missing argument).
// `diag` keeps its own scale (0 ok / 1 warnings / 2 failures).
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { InvalidArgumentError } from 'commander';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A failure the user can fix; `fix` is the second line. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly fix?: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A bad invocation (exit 2). */
export class UsageError extends CliError {
  constructor(message: string, fix?: string) {
    super(message, fix, EXIT_USAGE);
    this.name = 'UsageError';
  }
}

/** commander option parser: a whole number ≥ min (`--limit abc` is a usage error, exit 2). */
export function intOption(min = 1): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number ≥ ${min}, got "${value}".`);
    return n;
  };
}

/** Node/SQLite error codes that reach the CLI from a missing, unreadable or read-only path. */
interface Coded {
  code?: unknown;
  path?: unknown;
  syscall?: unknown;
}

function fixForCode(code: string, path: string | undefined): string | undefined {
  const where = path ?? 'the path';
  switch (code) {
    case 'ENOENT':
      return `check the path (${where}); --state-dir/--config/--spool name another place, and the daemon creates the state dir at its first start`;
    case 'EACCES':
    case 'EPERM':
      return `run as the service user or root (sudo -u gatewarden gatewarden …), or fix the permissions of ${where}`;
    case 'EROFS':
    case 'SQLITE_READONLY':
    case 'SQLITE_READONLY_DIRECTORY':
      return `${where} is on a read-only file system or directory: remount it read-write, or point --state-dir at a writable directory`;
    case 'SQLITE_CANTOPEN':
      return `check that ${where} exists and is readable (spool.db appears after the daemon's first start; --spool/--state-dir pick another one)`;
    case 'ENOSPC':
      return 'the file system is full: free space (the spool quota is spool.maxBytes)';
    case 'ENOTDIR':
      return `a part of ${where} is not a directory`;
    case 'EISDIR':
      return `${where} is a directory; name a file`;
    default:
      return undefined;
  }
}

/**
 * What is wrong with a path the command needed, found by looking at it: missing (and
 * which part), a directory where a file was meant, or not writable (read-only file system,
 * permissions). undefined when the path looks fine.
 */
export function pathProblem(path: string): { what: string; fix: string } | undefined {
  if (!existsSync(path) && existsSync(dirname(path))) {
    // The file is missing; say so unless its directory is the real problem (not writable).
    const dirProblem = writeProblem(dirname(path));
    return dirProblem ?? { what: `${path} does not exist`, fix: 'check the path; the daemon creates its state (spool.db, keys) at its first start' };
  }
  if (!existsSync(path)) {
    let dir = dirname(path);
    while (dir !== dirname(dir) && !existsSync(dir)) dir = dirname(dir);
    return { what: `${dirname(path)} does not exist`, fix: `create ${dirname(path)} (mkdir -p), or name a path in an existing directory (${dir} exists)` };
  }
  return writeProblem(statSync(path).isDirectory() ? path : dirname(path));
}

function writeProblem(dir: string): { what: string; fix: string } | undefined {
  try {
    accessSync(dir, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EROFS') return { what: `${dir} is on a read-only file system`, fix: `remount it read-write (mount -o remount,rw), or point --state-dir/stateDir at a writable directory` };
    return { what: `${dir} is not writable for uid ${process.getuid?.() ?? '?'}${code ? ` (${code})` : ''}`, fix: `run as the service user (sudo -u gatewarden gatewarden …) or fix the owner/mode of ${dir}` };
  }
  return undefined;
}

/** Absolute paths named in an error: its `path` field, then any /… in the message. */
function pathsOf(err: Error & Coded): string[] {
  const out = typeof err.path === 'string' && err.path.startsWith('/') ? [err.path] : [];
  for (const m of err.message.matchAll(/(\/[^\s:'",()]+)/g)) if (!out.includes(m[1])) out.push(m[1]);
  return out;
}

/** The lines to print for an error that ended a command, and the exit code. */
export function describeError(e: unknown): { lines: string[]; exitCode: number } {
  if (e instanceof CliError) return { lines: [`gatewarden: ${e.message}`, ...(e.fix ? [`  fix: ${e.fix}`] : [])], exitCode: e.exitCode };
  const err = e instanceof Error ? e : new Error(String(e));
  const c = err as Coded;
  const code = typeof c.code === 'string' ? c.code : undefined;
  const path = typeof c.path === 'string' ? c.path : undefined;
  // Config errors carry their own list of problems (config/loader.ts) and are the user's to fix.
  if (err.name === 'ConfigError') return { lines: [err.message], exitCode: EXIT_FAILURE };
  const msg = err.message.replace(/^Error: /, '').split('\n').slice(0, 3).join('\n  ');
  const head = `gatewarden: ${msg}${code && !msg.includes(code) ? ` (${code})` : ''}`;
  // A program the command runs is missing (spawn X ENOENT).
  if (code === 'ENOENT' && typeof c.syscall === 'string' && c.syscall.startsWith('spawn ')) {
    const prog = path ?? c.syscall.slice(6);
    return { lines: [`gatewarden: ${prog} not found (needed by this command)`, `  fix: install it (${prog === 'udevadm' ? 'apt-get install udev' : `the package that provides ${prog}`}), or add its directory to PATH`], exitCode: EXIT_FAILURE };
  }
  // A serial port that cannot be opened (serialport: "cannot open /dev/…").
  const port = /cannot open (\/dev\/\S+)/.exec(err.message)?.[1];
  if (port) {
    const fix = existsSync(port) ? `is another process using it (the daemon? fuser ${port}), and is the user in the dialout group?` : `no such port: gatewarden discover serial (or ls /dev/serial/by-id/) lists the ports present`;
    return { lines: [head, `  fix: ${fix}`], exitCode: EXIT_FAILURE };
  }
  for (const p of pathsOf(err)) {
    const problem = pathProblem(p);
    if (problem) return { lines: [`${head}: ${problem.what}`, `  fix: ${problem.fix}`], exitCode: EXIT_FAILURE };
  }
  const fix = code ? fixForCode(code, path) : undefined;
  return { lines: [head, ...(fix ? [`  fix: ${fix}`] : ['  run again with --debug for the details (a stack trace), and report it if it persists'])], exitCode: EXIT_FAILURE };
}

/** True when --debug (or GATEWARDEN_DEBUG=1) asks for stacks. */
export function debugWanted(argv: string[]): boolean {
  return argv.includes('--debug') || process.env.GATEWARDEN_DEBUG === '1';
}

/** Print an error the way the CLI does and set the exit code; with debug, the stack too. */
export function reportError(e: unknown, debug: boolean, write: (s: string) => void = (s) => process.stderr.write(s)): number {
  const { lines, exitCode } = describeError(e);
  write(`${lines.join('\n')}\n`);
  if (debug && e instanceof Error && e.stack) write(`${e.stack}\n`);
  return exitCode;
}

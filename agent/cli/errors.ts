// How the command line reports a failure: one or two lines naming what went wrong and
// how to fix it, never a stack (unless --debug). Exit codes (README "Exit codes", and
// `gatewarden --help`): 0 ok, 1 the command ran and something failed (a check, a file, a
// device, the daemon), 2 usage (bad option value, unknown command, missing argument).
// `diag` keeps its own scale (0 ok / 1 warnings / 2 failures).
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

/** The lines to print for an error that ended a command, and the exit code. */
export function describeError(e: unknown): { lines: string[]; exitCode: number } {
  if (e instanceof CliError) return { lines: [`gatewarden: ${e.message}`, ...(e.fix ? [`  fix: ${e.fix}`] : [])], exitCode: e.exitCode };
  const err = e instanceof Error ? e : new Error(String(e));
  const c = err as Coded;
  const code = typeof c.code === 'string' ? c.code : undefined;
  const path = typeof c.path === 'string' ? c.path : undefined;
  const fix = code ? fixForCode(code, path) : undefined;
  // Config errors carry their own list of problems (config/loader.ts) and are the user's to fix.
  if (err.name === 'ConfigError') return { lines: [err.message], exitCode: EXIT_FAILURE };
  const msg = err.message.split('\n').slice(0, 3).join('\n  ');
  return { lines: [`gatewarden: ${msg}${code && !msg.includes(code) ? ` (${code})` : ''}`, ...(fix ? [`  fix: ${fix}`] : ['  run again with --debug for the details (a stack trace), and report it if it persists'])], exitCode: EXIT_FAILURE };
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

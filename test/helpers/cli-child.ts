// Runs the real CLI (`agent/cli/main.ts` through tsx) as a child process and collects what
// it writes; any child still alive when the test process exits is SIGKILLed. The daemon
// (./daemon.ts) and the reference consumer (./platform-consumer.ts) are started this way.
import { spawn, type ChildProcess } from 'node:child_process';

const MAIN = new URL('../../agent/cli/main.ts', import.meta.url).pathname;
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface CliChild {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr interleaved as they arrived. */
  all(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

/**
 * `gatewarden ARGS…`. `prefix` runs it through a command that execs it in place (same PID,
 * so SIGKILL reaches it), e.g. `['nsenter', '-t', PID, '-m', '--']`.
 */
export function spawnCli(args: readonly string[], opts: { prefix?: readonly string[] } = {}): CliChild {
  const [cmd, ...rest] = [...(opts.prefix ?? []), process.execPath, '--import', 'tsx', MAIN, ...args];
  const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  let err = '';
  let all = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    all += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    all += d.toString();
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, sig) => {
      live.delete(child);
      resolve(code ?? sig ?? 'unknown');
    }),
  );
  return { child, stdout: () => out, stderr: () => err, all: () => all, exited };
}

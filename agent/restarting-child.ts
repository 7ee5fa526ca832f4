// A long-running helper process read line by line (`tcpdump -l`, `ip monitor`) that is
// restarted when it exits on its own. One restart policy for every such child: full-jitter
// exponential backoff (agent/backoff.ts), reset only once the child has proved itself (it
// printed a line, or it stayed up `minUptimeMs`), so a child that dies at once is never
// respawned in a tight loop. A spawn failure (no binary) is permanent: reported once,
// never retried. The guard test/unit/no-private-reconnect.test.ts keeps callers from
// growing their own loop.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Backoff, type BackoffOptions } from './backoff.js';

export interface RestartingChildOptions {
  command: string;
  args: readonly string[];
  /** Keep the first 2000 characters of stderr for onExit (default: stderr ignored). */
  collectStderr?: boolean;
  onLine(line: string): void;
  /** The child could not be started (no binary, not executable): permanent, never retried. */
  onSpawnError(err: Error): void;
  /** Any other error of the running child. */
  onError(err: Error): void;
  /**
   * The child exited by itself (not through stop()). Return true to restart it after the
   * backoff, false to give up for good (the caller says why).
   */
  onExit(code: number | null, signal: NodeJS.Signals | null, stderr: string): boolean;
  /** A restart was scheduled in `delayMs`. */
  onRestartScheduled?(delayMs: number): void;
  /** Default: 500 ms doubling to 60 s, full jitter. */
  backoff?: BackoffOptions;
  /** Up at least this long → proved itself, like printing a line (default 10 s). */
  minUptimeMs?: number;
}

export class RestartingChild {
  private child: ChildProcess | undefined;
  private stopped = false;
  private gaveUp = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  /** Lines read over all runs. */
  lines = 0;

  constructor(private readonly o: RestartingChildOptions) {
    this.backoff = new Backoff(o.backoff ?? { minMs: 500, maxMs: 60_000 });
  }

  /** A child is up (spawned and not yet exited). */
  get running(): boolean {
    return this.child !== undefined;
  }

  start(): void {
    if (this.stopped || this.gaveUp) return;
    const child = spawn(this.o.command, [...this.o.args], { stdio: ['ignore', 'pipe', this.o.collectStderr ? 'pipe' : 'ignore'] });
    this.child = child;
    const startedAt = Date.now();
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      if (stderr.length < 2000) stderr += b.toString('utf8');
    });
    child.on('error', (e) => {
      // No pid: the spawn itself failed, and no 'exit' follows.
      if (child.pid === undefined) {
        if (this.child === child) this.child = undefined;
        this.gaveUp = true;
        this.o.onSpawnError(e);
      } else this.o.onError(e);
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.backoff.reset();
      this.lines += 1;
      this.o.onLine(line);
    });
    child.on('exit', (code, sig) => {
      if (this.child === child) this.child = undefined;
      if (this.stopped || this.gaveUp) return;
      if (Date.now() - startedAt >= (this.o.minUptimeMs ?? 10_000)) this.backoff.reset();
      if (!this.o.onExit(code, sig, stderr)) {
        this.gaveUp = true;
        return;
      }
      const delay = this.backoff.next();
      this.o.onRestartScheduled?.(delay);
      this.timer = setTimeout(() => this.start(), delay);
      this.timer.unref();
    });
  }

  /** Stops restarting and ends the child (SIGTERM), resolving once it has exited. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  }
}

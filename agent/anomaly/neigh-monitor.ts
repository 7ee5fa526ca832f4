// The neighbour-change stream: `ip -ts monitor neigh` (iproute2) prints one line per
// kernel RTM_NEWNEIGH/RTM_DELNEIGH, so a spoofed ARP answer is seen when it happens
// rather than at the next poll. The child is restarted with backoff if it dies; a host
// without `ip` simply falls back to polling /proc/net/arp.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseMonitorLine, type NeighbourChange } from './proc-parse.js';

export interface NeighMonitorOptions {
  onChange(c: NeighbourChange): void;
  onError(err: Error): void;
  command?: string[];
}

export class NeighMonitor {
  private child: ChildProcess | undefined;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  lines = 0;

  constructor(private readonly o: NeighMonitorOptions) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  start(): void {
    if (this.stopped) return;
    const [cmd, ...args] = this.o.command ?? ['ip', '-ts', 'monitor', 'neigh'];
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child = child;
    child.on('error', (e) => {
      // Spawn failure (no `ip` binary): permanent; netwatch keeps polling /proc/net/arp.
      if (this.child === child && child.pid === undefined) this.child = undefined;
      this.o.onError(e);
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.failures = 0;
      this.lines += 1;
      const c = parseMonitorLine(line);
      if (c) this.o.onChange(c);
    });
    child.on('exit', (code, sig) => {
      this.child = undefined;
      if (this.stopped) return;
      this.failures += 1;
      this.o.onError(new Error(`ip monitor neigh exited (code ${code}, signal ${sig})`));
      const delay = Math.min(60_000, 500 * 2 ** Math.min(this.failures, 7));
      this.restartTimer = setTimeout(() => this.start(), delay);
      this.restartTimer.unref();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  }
}

// The neighbour-change stream: `ip -ts monitor neigh` (iproute2) prints one line per
// kernel RTM_NEWNEIGH/RTM_DELNEIGH, so a spoofed ARP answer is seen when it happens
// rather than at the next poll. The child is restarted with backoff if it dies (agent/restarting-child.ts); a host
// without `ip` simply falls back to polling /proc/net/arp.
import { RestartingChild } from '../restarting-child.js';
import { parseMonitorLine, type NeighbourChange } from './proc-parse.js';

export interface NeighMonitorOptions {
  onChange(c: NeighbourChange): void;
  onError(err: Error): void;
  command?: string[];
}

export class NeighMonitor {
  private readonly proc: RestartingChild;

  constructor(private readonly o: NeighMonitorOptions) {
    const [command, ...args] = o.command ?? ['ip', '-ts', 'monitor', 'neigh'];
    this.proc = new RestartingChild({
      command,
      args,
      onLine: (line) => {
        const c = parseMonitorLine(line);
        if (c) this.o.onChange(c);
      },
      // Spawn failure (no `ip` binary): permanent; netwatch keeps polling /proc/net/arp.
      onSpawnError: (e) => this.o.onError(e),
      onError: (e) => this.o.onError(e),
      onExit: (code, sig) => {
        this.o.onError(new Error(`ip monitor neigh exited (code ${code}, signal ${sig})`));
        return true;
      },
    });
  }

  get running(): boolean {
    return this.proc.running;
  }

  /** Lines the monitor printed (over all runs). */
  get lines(): number {
    return this.proc.lines;
  }

  start(): void {
    this.proc.start();
  }

  stop(): Promise<void> {
    return this.proc.stop();
  }
}

// netwatch as a supervised driver (docs/netwatch.md, docs/drivers.md): the Netwatch
// component of agent/anomaly under the supervisor's lifecycle. Its source is the gateway's
// own /proc: a start that cannot read `<procRoot>/net/dev` is retryable (the supervisor
// retries with backoff), and a running netwatch whose polls stop reading it fails through
// ctx.fail, so the supervisor stops it and starts it afresh.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { Netwatch, type NetwatchConfig } from '../../agent/anomaly/index.js';
import { systemClock } from '../../agent/clock.js';
import { DriverRetryableError, type DeviceHealth, type DiagnosticResult, type Driver, type DriverContext } from '../types.js';

/** The one instance's id (health, status, diag, metrics); reserved in `drivers:`. */
export const NETWATCH_INSTANCE_ID = 'netwatch';
/** Polls in a row that cannot read `<procRoot>/net/dev` before the running driver fails. */
export const FAIL_AFTER_BLIND_POLLS = 3;

/** What `status` and `diag` say about the LAN baseline (agent/cli/status.ts, agent/diag/run.ts). */
export interface NetwatchView {
  baselineLearned: boolean;
  blind: boolean;
  detail: string;
}

const PROC_HINT = 'under systemd remove ProcSubset=pid from the unit (systemctl edit gatewarden: [Service] ProcSubset=all), or fix netwatch.procRoot';

export class NetwatchDriver implements Driver {
  private nw: Netwatch | null = null;
  private blindPolls = 0;

  constructor(
    private readonly cfg: NetwatchConfig,
    private readonly ctx: DriverContext,
  ) {}

  private get devPath(): string {
    return join(this.cfg.procRoot, 'net/dev');
  }

  async start(): Promise<void> {
    try {
      await readFile(this.devPath);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      throw new DriverRetryableError(`${this.devPath} unreadable (${code}): netwatch would see no interface; ${PROC_HINT}`);
    }
    this.blindPolls = 0;
    this.nw = new Netwatch({
      config: this.cfg,
      stateDir: this.ctx.stateDir,
      emit: (o) => void this.ctx.emit(o),
      log: this.ctx.log,
      clock: this.ctx.clock,
      onPolled: (visible) => this.polled(visible),
    });
    await this.nw.start();
  }

  private polled(visible: boolean): void {
    this.blindPolls = visible ? 0 : this.blindPolls + 1;
    if (this.blindPolls !== FAIL_AFTER_BLIND_POLLS) return;
    this.ctx.log.warn({ path: this.devPath, polls: this.blindPolls }, 'netwatch: /proc/net unreadable; handing back to the supervisor');
    this.ctx.fail?.(new DriverRetryableError(`${this.devPath} unreadable for ${this.blindPolls} polls in a row: netwatch sees no interface; ${PROC_HINT}`));
  }

  async stop(): Promise<void> {
    const nw = this.nw;
    this.nw = null;
    await nw?.stop();
  }

  health(): DeviceHealth[] {
    return this.nw?.health() ?? [];
  }

  view(): NetwatchView {
    return this.nw?.view() ?? { baselineLearned: false, blind: true, detail: 'netwatch is not running' };
  }

  /** Running: its own checks. Not running: the checks of an unstarted netwatch (reads /proc now; emits and saves nothing). */
  async diagnose(): Promise<DiagnosticResult[]> {
    return diagnoseNetwatch(this.nw ?? unstartedNetwatch(this.cfg, this.ctx.stateDir));
  }
}

/** A Netwatch that is never started: diagnose() only (diag without a running netwatch). */
export function unstartedNetwatch(cfg: NetwatchConfig, stateDir: string): Netwatch {
  return new Netwatch({ config: cfg, stateDir, emit: () => undefined, log: pino({ level: 'silent' }), clock: systemClock });
}

/** netwatch's checks; a check that throws is one failed row naming the error, never a failed diag. */
export async function diagnoseNetwatch(nw: Netwatch): Promise<DiagnosticResult[]> {
  try {
    return await nw.diagnose();
  } catch (e) {
    return [{ check: 'netwatch.diagnose', verdict: 'fail', detail: `netwatch could not run its checks: ${(e as Error).message}`, hint: 'see the journal and docs/netwatch.md' }];
  }
}

// The built-in synthetic source: emits a periodic, deterministic reading so the whole
// pipeline (chain → spool → MQTT) runs before any hardware is attached. Used by the demo
// site, by `gatewarden diag` as a pipeline self-test, and by the benchmarks.
import { z } from 'zod';
import { idString } from '../../config/schema.js';
import type { Severity } from '../../agent/events/types.js';
import type { DeviceHealth, DiagnosticResult, Driver, DriverContext, DriverManifest } from '../types.js';

export const syntheticConfigSchema = z.strictObject({
  id: idString,
  /** Period between events; 0 = as fast as the event loop allows (benchmarks). */
  intervalMs: z.number().int().min(0).max(3_600_000).default(1000),
  type: z.string().regex(/^[a-z]+(\.[a-z0-9_]+){1,4}$/).default('sensor.reading'),
  severity: z.enum(['debug', 'info', 'notice', 'warning', 'alarm', 'critical']).default('info'),
  /** Stop after this many events (0 = never). */
  count: z.number().int().min(0).default(0),
  /** Payload padding in bytes, to size events like real ones in benchmarks. */
  padBytes: z.number().int().min(0).max(65536).default(0),
});
export type SyntheticConfig = z.output<typeof syntheticConfigSchema>;

export class SyntheticDriver implements Driver {
  private timer: NodeJS.Timeout | undefined;
  private n = 0;
  private lastSeen: number | null = null;
  private running = false;
  private readonly pad: string;

  constructor(
    private readonly cfg: SyntheticConfig,
    private readonly ctx: DriverContext,
  ) {
    this.pad = 'x'.repeat(cfg.padBytes);
  }

  async start(): Promise<void> {
    this.running = true;
    this.schedule();
  }

  private schedule(): void {
    if (!this.running) return;
    if (this.cfg.count > 0 && this.n >= this.cfg.count) return;
    this.timer = setTimeout(() => {
      this.tick();
      this.schedule();
    }, this.cfg.intervalMs);
  }

  private tick(): void {
    this.n += 1;
    this.lastSeen = this.ctx.clock.now();
    // A slow sine keeps the value plausible for a demo chart; n makes every event unique.
    const value = Math.round((20 + 2 * Math.sin(this.n / 30)) * 100) / 100;
    const data: Record<string, string | number> = { n: this.n, point: 'synthetic', value, unit: 'degC' };
    if (this.pad) data.pad = this.pad;
    this.ctx.emit({ type: this.cfg.type, severity: this.cfg.severity as Severity, device: this.cfg.id, data });
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
  }

  health(): DeviceHealth[] {
    return [{ device: this.cfg.id, state: this.running ? 'online' : 'offline', lastSeen: this.lastSeen, counters: { emitted: this.n } }];
  }

  async diagnose(): Promise<DiagnosticResult[]> {
    return [
      this.running
        ? { check: 'synthetic source running', device: this.cfg.id, verdict: 'pass', detail: `${this.n} events emitted` }
        : { check: 'synthetic source running', device: this.cfg.id, verdict: 'fail', detail: 'not started', hint: 'check the daemon log for driver start errors' },
    ];
  }
}

export const manifest: DriverManifest<SyntheticConfig> = {
  kind: 'synthetic',
  configSchema: syntheticConfigSchema,
  create: (config, ctx) => new SyntheticDriver(config, ctx),
};

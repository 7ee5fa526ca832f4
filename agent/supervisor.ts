// Owns driver lifecycles (docs/contracts.md §Driver seam): creates each instance with its
// own narrow context, starts it with jittered exponential backoff on retryable failures,
// and isolates failures so one broken driver never stops another.
import type { Logger } from 'pino';
import type { JsonObject, Observation } from './events/types.js';
import type { DriverInstanceConfig } from '../config/loader.js';
import { loadManifest } from '../drivers/registry.js';
import {
  CommandUnsupportedError,
  DriverConfigError,
  DriverFatalError,
  type CommandResult,
  type DeviceHealth,
  type DiagnosticResult,
  type Driver,
} from '../drivers/types.js';
import { fullJitterDelay } from './backoff.js';
import type { Clock } from './clock.js';
import { errorKey, LogThrottle } from './log-throttle.js';
import { ObservationRefusedError } from './admission.js';

export type InstanceState = 'starting' | 'running' | 'backoff' | 'failed' | 'stopped';

export interface InstanceStatus {
  id: string;
  kind: string;
  state: InstanceState;
  attempts: number;
  errors: number;
  droppedAfterStop: number;
  /**
   * Observations the pipeline rejected as contract breaches (bad type, severity, data), by
   * event type: a driver fault, so each also counts in `errors`. The driver was told
   * (ctx.emit returned false).
   */
  rejected: Record<string, number>;
  /**
   * Observations the pipeline refused because the spool could not write and its backlog
   * was full (agent/admission.ts), by event type: not a driver fault, never in `errors`.
   * The driver was told; the signed system.spool.write_failed declares them (per kind).
   */
  refused: Record<string, number>;
  lastError: string | null;
}

export interface SupervisorOptions {
  log: Logger;
  clock: Clock;
  /** Pipeline entry; the supervisor stamps `driver` (the kind) on every observation. */
  emit(driver: string, observation: Observation): void;
  backoff?: { minMs: number; maxMs: number };
  /** Start timeout per attempt; a driver hanging in start() is treated as retryable. */
  startTimeoutMs?: number;
  /** Bound on stop() per driver. */
  stopTimeoutMs?: number;
  /** Handed to every driver as ctx.stateDir. */
  stateDir: string;
}

interface Instance {
  cfg: DriverInstanceConfig;
  driver: Driver | null;
  abort: AbortController;
  status: InstanceStatus;
  timer?: NodeJS.Timeout;
  stopped: boolean;
  /** Wall ms the current driver reached running (for ctx.fail's backoff). */
  runningSince?: number;
  /** Run-time failures in a row; a run of at least maxMs before failing resets it. */
  failStreak: number;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

export class Supervisor {
  private readonly instances = new Map<string, Instance>();
  /** Repeated driver errors and restart failures: once in full, then counted (docs/architecture.md). */
  private readonly quiet = new LogThrottle();

  constructor(private readonly o: SupervisorOptions) {}

  /** Start all instances; resolves once each has had its first attempt (never rejects). */
  async startAll(list: DriverInstanceConfig[]): Promise<void> {
    await Promise.all(list.map((c) => this.add(c)));
  }

  async add(cfg: DriverInstanceConfig): Promise<void> {
    if (this.instances.has(cfg.id)) throw new Error(`driver instance "${cfg.id}" already running`);
    const inst: Instance = {
      cfg,
      driver: null,
      abort: new AbortController(),
      stopped: false,
      failStreak: 0,
      status: { id: cfg.id, kind: cfg.kind, state: 'starting', attempts: 0, errors: 0, droppedAfterStop: 0, rejected: {}, refused: {}, lastError: null },
    };
    this.instances.set(cfg.id, inst);
    await this.attempt(inst);
  }

  private async attempt(inst: Instance): Promise<void> {
    if (inst.stopped) return;
    const { cfg, status } = inst;
    const log = this.o.log.child({ driver: cfg.kind, instance: cfg.id });
    status.attempts += 1;
    status.state = 'starting';
    try {
      const manifest = await loadManifest(cfg.kind);
      inst.abort = new AbortController();
      // Identity of this attempt's driver: a late ctx.fail from an older one is ignored.
      let self: Driver | null = null;
      const driver = manifest.create(cfg.config, {
        emit: (obs) => {
          if (inst.stopped || status.state === 'stopped') {
            status.droppedAfterStop += 1; // a contract breach by the driver: counted, visible in status
            return false;
          }
          try {
            this.o.emit(cfg.kind, obs);
            return true;
          } catch (e) {
            const k = typeof obs.type === 'string' && obs.type !== '__proto__' ? obs.type.slice(0, 64) : '(invalid type)';
            if (e instanceof ObservationRefusedError) {
              // The spool cannot write: the writer logs that loudly; here it is a count, not a driver error.
              status.refused[k] = (status.refused[k] ?? 0) + 1;
              this.quiet.log(log, 'warn', `refused ${cfg.id}`, { type: obs.type, backlog: e.backlog, limit: e.limit }, 'observation refused: the spool cannot write and its backlog is full');
              return false;
            }
            status.errors += 1;
            status.rejected[k] = (status.rejected[k] ?? 0) + 1;
            status.lastError = (e as Error).message;
            this.quiet.log(log, 'error', errorKey(`rejected ${cfg.id} ${obs.type}`, e), { err: e, type: obs.type }, 'observation rejected by the pipeline');
            return false;
          }
        },
        reportError: (err, device) => {
          status.errors += 1;
          status.lastError = device ? `${device}: ${err.message}` : err.message;
          this.quiet.log(log, 'warn', errorKey(`error ${cfg.id} ${device ?? ''}`, err), { err, device }, 'driver error');
        },
        fail: (err) => void this.failed(inst, self, err),
        log,
        clock: this.o.clock,
        signal: inst.abort.signal,
        stateDir: this.o.stateDir,
      });
      self = driver;
      inst.driver = driver;
      await withTimeout(driver.start(), this.o.startTimeoutMs ?? 30_000, `${cfg.kind} "${cfg.id}" start`);
      if (inst.stopped) {
        await driver.stop().catch(() => undefined);
        return;
      }
      status.state = 'running';
      status.lastError = null;
      inst.runningSince = this.o.clock.now();
      this.quiet.resolvedPrefix(`start ${cfg.id}: `);
      log.info({ attempts: status.attempts }, 'driver started');
    } catch (e) {
      const err = e as Error;
      status.errors += 1;
      status.lastError = err.message;
      inst.abort.abort();
      if (inst.driver) await inst.driver.stop().catch(() => undefined);
      inst.driver = null;
      if (err instanceof DriverConfigError || err instanceof DriverFatalError || err.name === 'UnknownDriverKindError') {
        status.state = 'failed';
        log.error({ err }, 'driver failed; not retrying (fix the config and reload with SIGHUP)');
        return;
      }
      const { minMs, maxMs } = this.o.backoff ?? { minMs: 1000, maxMs: 60_000 };
      const delay = fullJitterDelay(status.attempts - 1, minMs, maxMs);
      status.state = 'backoff';
      this.quiet.log(log, 'warn', errorKey(`start ${cfg.id}`, err), { err, retryInMs: Math.round(delay) }, 'driver start failed; retrying');
      inst.timer = setTimeout(() => void this.attempt(inst), delay);
      inst.timer.unref?.();
    }
  }

  /**
   * ctx.fail: a running driver that cannot go on is stopped and started afresh after a
   * full-jitter backoff, as for a failed start (docs/drivers.md).
   */
  private async failed(inst: Instance, driver: Driver | null, err: Error): Promise<void> {
    if (inst.stopped || !driver || inst.driver !== driver || inst.status.state !== 'running') return;
    const { status } = inst;
    const log = this.o.log.child({ driver: inst.cfg.kind, instance: inst.cfg.id });
    const { minMs, maxMs } = this.o.backoff ?? { minMs: 1000, maxMs: 60_000 };
    const ranMs = this.o.clock.now() - (inst.runningSince ?? 0);
    inst.failStreak = ranMs >= maxMs ? 1 : inst.failStreak + 1;
    status.state = 'backoff';
    status.errors += 1;
    status.lastError = err.message;
    inst.driver = null;
    inst.abort.abort();
    await withTimeout(driver.stop(), this.o.stopTimeoutMs ?? 5000, `${inst.cfg.kind} "${inst.cfg.id}" stop`).catch((e: unknown) => log.warn({ err: e }, 'driver stop failed'));
    if (inst.stopped) return;
    const delay = fullJitterDelay(inst.failStreak - 1, minMs, maxMs);
    this.quiet.log(log, 'warn', errorKey(`start ${inst.cfg.id}`, err), { err, retryInMs: Math.round(delay) }, 'driver failed while running; restarting');
    inst.timer = setTimeout(() => void this.attempt(inst), delay);
    inst.timer.unref?.();
  }

  /** The running driver of instance `id` (null while starting, in backoff or failed). */
  runningDriver(id: string): Driver | null {
    const inst = this.instances.get(id);
    return inst && inst.status.state === 'running' ? inst.driver : null;
  }

  async remove(id: string): Promise<void> {
    const inst = this.instances.get(id);
    if (!inst) return;
    inst.stopped = true;
    if (inst.timer) clearTimeout(inst.timer);
    inst.abort.abort();
    if (inst.driver) {
      try {
        await withTimeout(inst.driver.stop(), this.o.stopTimeoutMs ?? 5000, `${inst.cfg.kind} "${id}" stop`);
      } catch (e) {
        this.o.log.warn({ err: e, instance: id }, 'driver stop failed');
      }
    }
    inst.status.state = 'stopped';
    this.instances.delete(id);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.instances.keys()].map((id) => this.remove(id)));
    this.quiet.flush();
  }

  /**
   * Apply a new driver list (SIGHUP): instances whose config is unchanged keep running;
   * changed ones restart; removed ones stop; new ones start.
   */
  async reconcile(list: DriverInstanceConfig[]): Promise<{ started: string[]; stopped: string[]; restarted: string[] }> {
    const next = new Map(list.map((c) => [c.id, c]));
    const started: string[] = [];
    const stopped: string[] = [];
    const restarted: string[] = [];
    for (const [id, inst] of this.instances) {
      const n = next.get(id);
      if (!n) {
        await this.remove(id);
        stopped.push(id);
      } else if (n.kind !== inst.cfg.kind || JSON.stringify(n.config) !== JSON.stringify(inst.cfg.config)) {
        await this.remove(id);
        restarted.push(id);
      }
    }
    for (const [id, c] of next) {
      if (!this.instances.has(id)) {
        if (!restarted.includes(id)) started.push(id);
        await this.add(c);
      }
    }
    return { started, stopped, restarted };
  }

  status(): InstanceStatus[] {
    return [...this.instances.values()].map((i) => ({ ...i.status }));
  }

  health(): Array<DeviceHealth & { instance: string; kind: string }> {
    const out: Array<DeviceHealth & { instance: string; kind: string }> = [];
    for (const inst of this.instances.values()) {
      if (!inst.driver || inst.status.state !== 'running') continue;
      try {
        for (const h of inst.driver.health()) out.push({ ...h, instance: inst.cfg.id, kind: inst.cfg.kind });
      } catch (e) {
        out.push({ device: inst.cfg.id, state: 'unknown', lastSeen: null, counters: {}, lastError: (e as Error).message, instance: inst.cfg.id, kind: inst.cfg.kind });
      }
    }
    return out;
  }

  async diagnose(): Promise<Array<DiagnosticResult & { instance: string; kind: string }>> {
    const out: Array<DiagnosticResult & { instance: string; kind: string }> = [];
    for (const inst of this.instances.values()) {
      const base = { instance: inst.cfg.id, kind: inst.cfg.kind };
      if (!inst.driver || inst.status.state !== 'running') {
        out.push({
          ...base,
          check: 'driver running',
          verdict: 'fail',
          detail: `${inst.status.state} after ${inst.status.attempts} attempt(s): ${inst.status.lastError ?? 'no error recorded'}`,
          hint: inst.status.state === 'failed' ? 'fix the configuration and reload (systemctl reload gatewarden)' : 'see the device checks below and the journal',
        });
        continue;
      }
      try {
        for (const r of await withTimeout(inst.driver.diagnose(), 20_000, 'diagnose')) out.push({ ...r, ...base });
      } catch (e) {
        out.push({ ...base, check: 'driver diagnose', verdict: 'fail', detail: (e as Error).message, hint: 'the driver could not run its checks; see the journal' });
      }
    }
    return out;
  }

  /** Route a downlink command to the instance owning `target` (instance id or device id). */
  /** Whether `target` names a driver instance or a device one reports (a command naming neither is refused up front as `unknown-target`). */
  knowsTarget(target: string): boolean {
    for (const inst of this.instances.values()) {
      if (inst.cfg.id === target) return true;
      try {
        if (inst.driver?.health().some((h) => h.device === target)) return true;
      } catch {
        // a driver whose health fails shows no devices; its instance id still counts
      }
    }
    return false;
  }

  async command(name: string, args: JsonObject, target: string): Promise<CommandResult> {
    for (const inst of this.instances.values()) {
      const d = inst.driver;
      if (!d || inst.status.state !== 'running') continue;
      const owns = inst.cfg.id === target || d.health().some((h) => h.device === target);
      if (!owns) continue;
      if (!d.command) throw new CommandUnsupportedError(`${inst.cfg.kind} "${inst.cfg.id}" takes no commands`);
      return d.command(name, args, target);
    }
    throw new CommandUnsupportedError(`no running driver owns target "${target}"`);
  }
}

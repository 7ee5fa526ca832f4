// The bus scheduler: one loop per bus owns the line. An RTU bus is one shared half-duplex
// line, so requests are strictly serialized with the 3.5-character silence between frames
// (serial line spec §2.5.1.1); TCP is serialized the same way (one connection, no pipelining,
// which many gateways require). Fairness rules, so a slow or dead unit cannot starve the
// others:
//  - jobs (a unit's reads at one poll interval) run earliest-due first, at a fixed rate;
//  - retries are spent only on units that are online; an unknown/offline unit gets one
//    attempt, and after the first failed read of a cycle its other reads are skipped;
//  - an offline unit is probed with a single read at a doubling backoff;
//  - a lost line is reopened by the reconnecting link (drivers/transport/link.ts); a
//    session is proven by the first answer from any unit;
//  - a unit that used up its time budget in a cycle continues where it stopped next cycle.
// Writes (commands) go through the same loop, ahead of due polls.
import type { Logger } from 'pino';
import { SessionLink, type SessionHandle } from '../transport/link.js';
import type { ModbusConfig } from './config.js';
import { ModbusRequestError, type ModbusLink, type WriteFc } from './link.js';
import { splitRequest, type ReadRequest } from './planner.js';
import type { PollJob, UnitRuntime } from './unit.js';

export interface SchedulerOptions {
  cfg: ModbusConfig;
  link: ModbusLink;
  units: UnitRuntime[];
  log: Logger;
  mono(): number;
  /** Silence enforced between the end of one exchange and the next request (0 on TCP). */
  interFrameDelayMs: number;
  /** ctx.reportError: a lost line is counted once per loss. */
  reportError(e: Error): void;
}

type Outcome = { ok: true; data: number[] | boolean[] } | { ok: false; err: ModbusRequestError };

interface QueuedCommand {
  run(): Promise<void>;
}

export class BusScheduler {
  private stopped = false;
  private wakeUp: (() => void) | null = null;
  private lastExchangeEnd = 0;
  private readonly commands: QueuedCommand[] = [];
  private loop: Promise<void> | null = null;
  private lostReason: string | null = null;
  /** The line's session under the reconnecting link: up, and how to end / prove it. */
  private lineUp = false;
  private endSession: ((reason: string | null) => void) | null = null;
  private proveSession: (() => void) | null = null;
  private readonly runner: SessionLink;

  constructor(private readonly o: SchedulerOptions) {
    o.link.onLost((reason) => {
      this.lostReason = reason;
      this.wake();
    });
    this.runner = new SessionLink({
      name: o.link.describe(),
      log: o.log,
      clock: { now: () => Date.now(), mono: o.mono },
      policy: o.cfg.reconnect,
      session: (h) => this.session(h),
    });
  }

  get reconnects(): number {
    return this.runner.reconnects;
  }
  /** Why the line is not open (last failed open or loss), null while up. */
  get lastOpenError(): string | null {
    return this.lineUp ? null : this.runner.lastError;
  }

  /** Open the line (first attempt only; rejects with the OS error so the supervisor retries). */
  open(): Promise<void> {
    return this.runner.start({ firstMustConnect: true });
  }

  private async session(h: SessionHandle): Promise<void> {
    if (!this.o.link.isOpen) await this.o.link.open();
    this.lostReason = null;
    const ended = new Promise<string | null>((resolve) => {
      this.endSession = resolve;
      h.signal.addEventListener('abort', () => resolve(null), { once: true });
    });
    this.proveSession = () => {
      this.proveSession = null;
      h.proved();
    };
    if (this.loop) this.o.log.info({ link: this.o.link.describe() }, 'modbus bus re-opened');
    const now = this.o.mono();
    for (const u of this.o.units) for (const j of u.jobs) j.due = now;
    this.lineUp = true;
    h.up();
    this.wake();
    const reason = await ended;
    this.endSession = null;
    this.proveSession = null;
    if (reason !== null) throw new Error(reason);
  }

  start(): void {
    const now = this.o.mono();
    for (const u of this.o.units) for (const j of u.jobs) j.due = now;
    this.loop = this.run().catch((e: unknown) => this.o.log.error({ err: e }, 'modbus bus loop failed'));
  }

  /** Stop polling; resolves after the request in flight (if any) has completed or timed out. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.runner.stop();
    await this.loop;
    for (const c of this.commands.splice(0)) void c.run().catch(() => undefined);
  }

  /** Run a write on the line between polls. Rejects when the bus is down or stopping. */
  write(unit: UnitRuntime, fc: WriteFc, address: number, values: number[] | boolean[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.stopped) return reject(new Error('bus is stopping'));
      this.commands.push({
        run: async () => {
          if (this.stopped || !this.o.link.isOpen) return reject(new Error('bus is not connected'));
          await this.gap();
          unit.counters.requests += 1;
          try {
            await this.o.link.write(unit.cfg.unitId, fc, address, values);
            unit.counters.responses += 1;
            unit.answered();
            resolve();
          } catch (e) {
            reject(e instanceof Error ? e : new Error(String(e)));
          } finally {
            this.lastExchangeEnd = this.o.mono();
          }
        },
      });
      this.wake();
    });
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, Math.max(0, ms));
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.lostReason !== null || !this.o.link.isOpen) {
        await this.lineDown();
        continue;
      }
      const cmd = this.commands.shift();
      if (cmd) {
        await cmd.run();
        continue;
      }
      const now = this.o.mono();
      let next: PollJob | null = null;
      let nextAt = Infinity;
      for (const u of this.o.units) {
        for (const j of u.jobs) {
          const at = u.state === 'offline' ? Math.max(j.due, u.nextProbeAt) : j.due;
          if (at < nextAt) {
            nextAt = at;
            next = j;
          }
        }
      }
      if (!next) return;
      if (nextAt > now) {
        await this.sleep(nextAt - now);
        continue;
      }
      await this.runJob(next);
    }
  }

  /** Lost line: units offline once, the session ends (the link reopens it), then wait for it. */
  private async lineDown(): Promise<void> {
    if (this.lineUp) {
      const reason = this.lostReason ?? 'port not open';
      this.lineUp = false;
      this.o.reportError(new Error(`modbus bus lost (${this.o.link.describe()}): ${reason}`));
      for (const u of this.o.units) u.lineLost(reason);
      await this.o.link.close();
      this.lostReason = null;
      this.endSession?.(`modbus bus lost (${this.o.link.describe()}): ${reason}`);
    }
    if (!this.stopped && !this.lineUp) await this.sleep(60_000);
  }

  private async runJob(job: PollJob): Promise<void> {
    const u = job.unit;
    const start = this.o.mono();
    const budget = u.cfg.cycleBudgetMs ?? Math.max(this.o.cfg.timeoutMs, job.intervalMs / 2);
    const probing = u.state !== 'online';
    let i = job.cursor % job.requests.length;
    let remaining = job.requests.length;
    let first = true;
    while (remaining > 0 && !this.stopped && this.lostReason === null) {
      if (!first && this.o.mono() - start > budget) {
        u.counters.budgetOverruns += 1;
        job.cursor = i;
        break;
      }
      first = false;
      const req = job.requests[i];
      const r = await this.exchange(u, req, u.state === 'online' ? this.o.cfg.retries : 0);
      if (r.ok) {
        u.answered();
        u.readOk(req, r.data);
      } else if (r.err.kind === 'exception' && r.err.code !== 10 && r.err.code !== 11) {
        u.answered();
        const code = r.err.code as number;
        if ((code === 2 || code === 3) && new Set(req.points.map((p) => `${p.offset}:${u.widthOf(p.index)}`)).size > 1) {
          // One unimplemented address fails the whole merged read: read its points one by one from now on.
          const parts = splitRequest(req, (k) => u.widthOf(k));
          job.requests.splice(i, 1, ...parts);
          remaining += parts.length - 1;
          first = true;
          continue;
        }
        u.exception(req, code);
      } else if (r.err.kind === 'closed') {
        break;
      } else {
        // Timeout, bad frames or a gateway saying its target is silent: no valid answer.
        u.noAnswer(r.err.kind === 'exception' ? r.err.message : describeFailure(r.err), this.o.cfg.offlineBackoff);
        if (probing || u.state === 'offline') break;
      }
      if (probing && u.state === 'offline') break;
      i = (i + 1) % job.requests.length;
      remaining -= 1;
      if (remaining === 0) job.cursor = 0;
    }
    const now = this.o.mono();
    job.due = Math.max(job.due + job.intervalMs, now);
  }

  /** One request with retries; counts every attempt. */
  private async exchange(u: UnitRuntime, req: ReadRequest, retries: number): Promise<Outcome> {
    let last: ModbusRequestError = new ModbusRequestError('io', 'not attempted');
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (this.stopped && attempt > 0) break;
      if (attempt > 0) u.counters.retries += 1;
      await this.gap();
      u.counters.requests += 1;
      try {
        const data = await this.o.link.read(u.cfg.unitId, req.fc, req.address, req.count);
        u.counters.responses += 1;
        this.proveSession?.();
        return { ok: true, data };
      } catch (e) {
        last = e instanceof ModbusRequestError ? e : new ModbusRequestError('io', e instanceof Error ? e.message : String(e));
        if (last.kind === 'timeout') u.counters.timeouts += 1;
        else if (last.kind === 'crc') u.counters.crcErrors += 1;
        else if (last.kind === 'frame') u.counters.frameErrors += 1;
        else if (last.kind === 'exception') {
          u.counters.responses += 1;
          u.counters.exceptions += 1;
          this.proveSession?.();
          // Busy (6) is worth another attempt; every other exception is the device's final word.
          if (last.code !== 6) return { ok: false, err: last };
        } else return { ok: false, err: last };
      } finally {
        this.lastExchangeEnd = this.o.mono();
      }
    }
    return { ok: false, err: last };
  }

  /** Wait out the inter-frame silence since the end of the last exchange. */
  private async gap(): Promise<void> {
    const wait = this.o.interFrameDelayMs - (this.o.mono() - this.lastExchangeEnd);
    if (wait > 0) await new Promise((r) => setTimeout(r, Math.ceil(wait)));
  }
}

function describeFailure(e: ModbusRequestError): string {
  return e.kind === 'timeout' ? 'timeout' : `${e.kind}: ${e.message}`;
}

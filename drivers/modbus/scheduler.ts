// The bus scheduler: one loop per bus owns the line. An RTU bus is one shared half-duplex
// line, so requests are strictly serialized with the 3.5-character silence between frames
// (serial line spec §2.5.1.1); TCP is serialized the same way (one connection, no pipelining,
// which many gateways require). Fairness rules, so a slow or dead unit cannot starve the
// others:
//  - jobs (a unit's reads at one poll interval) run earliest-due first, at a fixed rate;
//  - retries are spent only on units that are online; an unknown/offline unit gets one
//    attempt, and after the first failed read of a cycle its other reads are skipped;
//  - an offline unit is probed with a single read at a doubling backoff;
//  - a unit that used up its time budget in a cycle continues where it stopped next cycle.
// Writes (commands) go through the same loop, ahead of due polls.
import type { Logger } from 'pino';
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
  reconnects = 0;
  lastOpenError: string | null = null;

  constructor(private readonly o: SchedulerOptions) {
    o.link.onLost((reason) => {
      this.lostReason = reason;
      this.wake();
    });
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
        await this.reconnect();
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

  /** Lost line: units offline, then re-open with doubling backoff until it works or we stop. */
  private async reconnect(): Promise<void> {
    const reason = this.lostReason ?? 'port not open';
    this.lostReason = null;
    this.o.reportError(new Error(`modbus bus lost (${this.o.link.describe()}): ${reason}`));
    for (const u of this.o.units) u.lineLost(reason);
    let delay = this.o.cfg.reconnect.minMs;
    await this.o.link.close();
    while (!this.stopped) {
      await this.sleep(delay);
      if (this.stopped) return;
      try {
        await this.o.link.open();
        this.reconnects += 1;
        this.lastOpenError = null;
        this.o.log.info({ link: this.o.link.describe() }, 'modbus bus re-opened');
        const now = this.o.mono();
        for (const u of this.o.units) for (const j of u.jobs) j.due = now;
        return;
      } catch (e) {
        this.lastOpenError = e instanceof Error ? e.message : String(e);
        delay = Math.min(delay * 2, this.o.cfg.reconnect.maxMs);
      }
    }
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
        return { ok: true, data };
      } catch (e) {
        last = e instanceof ModbusRequestError ? e : new ModbusRequestError('io', e instanceof Error ? e.message : String(e));
        if (last.kind === 'timeout') u.counters.timeouts += 1;
        else if (last.kind === 'crc') u.counters.crcErrors += 1;
        else if (last.kind === 'frame') u.counters.frameErrors += 1;
        else if (last.kind === 'exception') {
          u.counters.responses += 1;
          u.counters.exceptions += 1;
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

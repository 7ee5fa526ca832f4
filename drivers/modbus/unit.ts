// One unit (slave) on a bus: its read plan, the state its points carry between polls
// (reporters, alarms), its online/offline state, exception conditions and counters — and
// the `sensor.*` observations all of that produces. The scheduler decides when to read;
// this class decides what a result means.
import type { JsonObject, Observation, Severity } from '../../agent/events/types.js';
import type { DeviceHealth } from '../types.js';
import { backoffDelay } from '../../agent/backoff.js';
import { StateAlarm, ThresholdAlarm, Reporter, type AlarmTransition } from './alarms.js';
import { applyScaling, decodeRegisters, registerWidth, type InvalidKind, type PointValue } from './codec.js';
import type { ModbusPointConfig, ModbusUnitConfig } from './config.js';
import { EXCEPTION_NAMES } from './link.js';
import { describeRequest, planReads, type ReadRequest } from './planner.js';

export interface PollJob {
  unit: UnitRuntime;
  intervalMs: number;
  requests: ReadRequest[];
  /** Monotonic ms when the next cycle is due. */
  due: number;
  /** Where the next cycle starts when the last one ran out of budget. */
  cursor: number;
}

export interface UnitEnv {
  bus: string;
  /** False when the pipeline refused the observation: state derived from it must not advance. */
  emit(o: Observation): boolean;
  now(): number;
  mono(): number;
  /** ctx.reportError: a point that stops decoding is reported once until it decodes again. */
  reportError(e: Error, device: string): void;
}

type Counters = Record<'requests' | 'responses' | 'timeouts' | 'retries' | 'crcErrors' | 'frameErrors' | 'exceptions' | 'invalidValues' | 'budgetOverruns' | 'emitRefused', number>;

interface PointRuntime {
  cfg: ModbusPointConfig;
  reporter: Reporter;
  alarm: ThresholdAlarm | StateAlarm | null;
  lastValue: PointValue | null;
  invalid: boolean;
  /** The invalid reading last reported ('nan', '+inf', '-inf'), so it is reported once per episode. */
  invalidReported: InvalidKind | null;
  /** Hands this point's alarm transitions to the event path (made once: the read path is hot). */
  emitAlarm: (t: AlarmTransition) => boolean;
}

export class UnitRuntime {
  state: 'unknown' | 'online' | 'offline' = 'unknown';
  lastSeen: number | null = null;
  lastError: string | undefined;
  readonly counters: Counters = { requests: 0, responses: 0, timeouts: 0, retries: 0, crcErrors: 0, frameErrors: 0, exceptions: 0, invalidValues: 0, budgetOverruns: 0, emitRefused: 0 };
  readonly exceptionsByCode = new Map<number, number>();
  /** Exception conditions currently standing, keyed by request range and code: one event each. */
  readonly activeExceptions = new Map<string, { code: number; request: string; points: string[]; count: number }>();
  readonly jobs: PollJob[] = [];
  readonly points: PointRuntime[];
  /** Offline probing: next probe (mono ms) and the current backoff step. */
  nextProbeAt = 0;
  backoffMs = 0;
  /** Probes in a row without an answer (the exponent of the probe backoff). */
  private failedProbes = 0;
  private offlineSince: number | null = null;

  constructor(
    readonly cfg: ModbusUnitConfig,
    private readonly env: UnitEnv,
  ) {
    this.points = cfg.points.map((p) => {
      const pt: PointRuntime = {
        cfg: p,
        reporter: new Reporter(p.deadband, p.reportIntervalMs),
        alarm: p.alarm ? ('when' in p.alarm ? new StateAlarm(p.alarm) : new ThresholdAlarm(p.alarm)) : null,
        lastValue: null,
        invalid: false,
        invalidReported: null,
        // The alarm is fed right after lastValue is set (readOk): the transition's value.
        emitAlarm: (t) => this.alarmEvent(pt, pt.lastValue as PointValue, t),
      };
      return pt;
    });
    const byInterval = new Map<number, number[]>();
    cfg.points.forEach((p, i) => {
      const iv = p.pollIntervalMs ?? cfg.pollIntervalMs;
      byInterval.set(iv, [...(byInterval.get(iv) ?? []), i]);
    });
    const limits = { maxRegisters: cfg.maxRegistersPerRead, maxBits: cfg.maxBitsPerRead, maxGapRegisters: cfg.maxGapRegisters, maxGapBits: cfg.maxGapBits };
    for (const [intervalMs, idx] of [...byInterval].sort((a, b) => a[0] - b[0])) {
      const requests = planReads(
        idx.map((i) => ({ index: i, table: cfg.points[i].table, address: cfg.points[i].address, width: this.widthOf(i) })),
        limits,
      );
      this.jobs.push({ unit: this, intervalMs, requests, due: 0, cursor: 0 });
    }
  }

  get id(): string {
    return this.cfg.id;
  }

  /** Registers/bits point i spans. */
  widthOf(i: number): number {
    const p = this.cfg.points[i];
    return p.table === 'coil' || p.table === 'discrete' ? 1 : registerWidth(p.type, p.count);
  }

  pointByName(name: string): { index: number; cfg: ModbusPointConfig } | null {
    const index = this.cfg.points.findIndex((p) => p.name === name);
    return index < 0 ? null : { index, cfg: this.cfg.points[index] };
  }

  /** The unit answered (data or exception): online, and an online event if it was not. */
  answered(): void {
    this.lastSeen = this.env.now();
    this.backoffMs = 0;
    this.failedProbes = 0;
    if (this.state === 'online') return;
    const downMs = this.offlineSince === null ? null : this.env.mono() - this.offlineSince;
    this.state = 'online';
    this.offlineSince = null;
    const data: JsonObject = { unitId: this.cfg.unitId };
    if (downMs !== null) data.downMs = downMs;
    this.emit('sensor.device.online', 'notice', data);
  }

  /** No valid answer after the retries, or the line was lost. */
  noAnswer(reason: string, backoff: { minMs: number; maxMs: number }): void {
    this.lastError = reason;
    // The one backoff (agent/backoff.ts, full jitter), floored at the unit's poll interval:
    // silent units on one line do not probe in lockstep.
    const floor = Math.max(backoff.minMs, this.cfg.pollIntervalMs);
    this.backoffMs = backoffDelay(this.failedProbes++, { minMs: floor, maxMs: Math.max(floor, backoff.maxMs) });
    this.nextProbeAt = this.env.mono() + this.backoffMs;
    if (this.state === 'offline') return;
    this.state = 'offline';
    this.offlineSince = this.env.mono();
    this.emit('sensor.device.offline', 'warning', { unitId: this.cfg.unitId, reason, lastSeen: this.lastSeen === null ? null : new Date(this.lastSeen).toISOString() });
  }

  /** Line lost: offline without probing until the bus is back (then probe at once). */
  lineLost(reason: string): void {
    if (this.state !== 'offline') this.noAnswer(reason, { minMs: 0, maxMs: 0 });
    this.backoffMs = 0;
    this.failedProbes = 0;
    this.nextProbeAt = 0;
  }

  exception(req: ReadRequest, code: number): void {
    this.exceptionsByCode.set(code, (this.exceptionsByCode.get(code) ?? 0) + 1);
    const name = EXCEPTION_NAMES[code] ?? 'unknown exception';
    this.lastError = `exception ${code} (${name}) on ${describeRequest(req)}`;
    const key = `${req.fc}:${req.address}:${req.count}:${code}`;
    const cur = this.activeExceptions.get(key);
    if (cur) {
      cur.count += 1;
      return;
    }
    const points = req.points.map((p) => this.cfg.points[p.index].name);
    this.activeExceptions.set(key, { code, request: describeRequest(req), points, count: 1 });
    this.emit('sensor.modbus.exception', 'warning', {
      unitId: this.cfg.unitId,
      code,
      name,
      fc: req.fc,
      address: req.address,
      count: req.count,
      points,
    });
  }

  /** Decode a successful read: readings (deadband/interval) and alarm transitions. */
  readOk(req: ReadRequest, data: number[] | boolean[]): void {
    for (const key of this.activeExceptions.keys()) {
      if (key.startsWith(`${req.fc}:${req.address}:${req.count}:`)) this.activeExceptions.delete(key);
    }
    const mono = this.env.mono();
    for (const { index, offset } of req.points) {
      const pt = this.points[index];
      const p = pt.cfg;
      let raw: PointValue;
      if (p.table === 'coil' || p.table === 'discrete') raw = (data as boolean[])[offset] === true;
      else {
        const r = decodeRegisters((data as number[]).slice(offset, offset + this.widthOf(index)), p.type, p.order, p.bit);
        if (!r.ok) {
          this.counters.invalidValues += 1;
          if (!pt.invalid) {
            this.lastError = `point ${p.name}: ${r.reason}`;
            this.env.reportError(new Error(this.lastError), this.cfg.id);
          }
          pt.invalid = true;
          if (r.invalid) this.invalidReading(pt, r.invalid, mono);
          continue;
        }
        raw = r.value;
      }
      pt.invalid = false;
      pt.invalidReported = null;
      const value = applyScaling(raw, p.type, p);
      pt.lastValue = value;
      const before = pt.reporter.lastReported;
      const why = pt.reporter.check(value, mono);
      if (why) {
        const d: JsonObject = { point: p.name, value, reason: why };
        if (p.unit) d.unit = p.unit;
        if (!this.emit('sensor.reading', 'info', d)) pt.reporter.unmark(before); // refused: report again next poll
      }
      if (pt.alarm) {
        if (pt.alarm instanceof StateAlarm) pt.alarm.update(value === true, mono, pt.emitAlarm);
        else if (typeof value === 'number') pt.alarm.update(value, mono, pt.emitAlarm);
      }
    }
  }

  /**
   * NaN or ±Infinity from a float point: no number to report or to feed the alarm (its state
   * holds), but never silence — one `sensor.reading` with `value: null` and `invalid` per
   * episode (again when the kind changes); the next valid value is reported as a change.
   */
  private invalidReading(pt: PointRuntime, kind: InvalidKind, mono: number): void {
    if (pt.invalidReported === kind) return;
    const d: JsonObject = { point: pt.cfg.name, value: null, invalid: kind, reason: 'invalid' };
    if (pt.cfg.unit) d.unit = pt.cfg.unit;
    if (!this.emit('sensor.reading', 'warning', d)) return;
    pt.invalidReported = kind;
    pt.reporter.invalidate(mono);
  }

  /** Emits one alarm transition; false when the pipeline refused it (the alarm does not advance). */
  private alarmEvent(pt: PointRuntime, value: PointValue, t: AlarmTransition): boolean {
    const a = pt.cfg.alarm;
    if (!a) return false;
    const kind = 'when' in a ? a.kind : 'threshold';
    const d: JsonObject = { point: pt.cfg.name, value, durationMs: t.durationMs };
    if ('when' in a) d.alarmValue = a.when;
    else {
      d.limit = t.limit;
      d.threshold = t.threshold as number;
      d.hysteresis = a.hysteresis;
      if (t.action === 'alarm') d.delayMs = a.delayMs;
    }
    if (pt.cfg.unit) d.unit = pt.cfg.unit;
    return this.emit(`sensor.${kind}.${t.action}`, t.action === 'alarm' ? (a.severity as Severity) : 'info', d);
  }

  health(portOpen: boolean): DeviceHealth {
    const counters: Record<string, number> = { ...this.counters };
    for (const [code, n] of this.exceptionsByCode) counters[`exception_${code}`] = n;
    const h: DeviceHealth = {
      device: this.cfg.id,
      state: this.state === 'online' && this.activeExceptions.size > 0 ? 'degraded' : this.state,
      lastSeen: this.lastSeen,
      counters,
      info: { bus: this.env.bus, unitId: this.cfg.unitId, port: portOpen ? 'open' : 'closed' },
    };
    if (this.lastError) h.lastError = this.lastError;
    return h;
  }

  private emit(type: string, severity: Severity, data: JsonObject): boolean {
    const ok = this.env.emit({ type, severity, device: this.cfg.id, data, src: { bus: this.env.bus, unitId: this.cfg.unitId } });
    if (!ok) this.counters.emitRefused += 1;
    return ok;
  }
}

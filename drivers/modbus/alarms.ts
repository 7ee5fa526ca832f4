// Pure alarm state machines, fed one polled value at a time with a monotonic timestamp.
// Hysteresis keeps a value hovering around a limit from flapping: once raised, an alarm
// clears only after the value has moved back past the limit by `hysteresis`. A delay
// requires the condition to hold (at every poll) for delayMs before the alarm is raised;
// clearing is immediate. While a unit is offline nothing is fed, so nothing changes.
import type { StateAlarmConfig, ThresholdAlarmConfig } from './config.js';

export interface AlarmTransition {
  action: 'alarm' | 'clear';
  /** 'high' | 'low' for thresholds, 'state' for boolean alarms. */
  limit: 'high' | 'low' | 'state';
  /** The limit crossed (thresholds) — absent for boolean alarms. */
  threshold?: number;
  /** alarm: how long the condition had held when raised; clear: how long the alarm lasted. */
  durationMs: number;
}

type Pending = { limit: 'high' | 'low'; since: number } | null;

export class ThresholdAlarm {
  private active: { limit: 'high' | 'low'; since: number } | null = null;
  private pending: Pending = null;

  constructor(private readonly cfg: ThresholdAlarmConfig) {}

  get state(): 'normal' | 'high' | 'low' {
    return this.active?.limit ?? 'normal';
  }

  update(value: number, nowMono: number): AlarmTransition[] {
    const out: AlarmTransition[] = [];
    const { high, low, hysteresis } = this.cfg;
    if (this.active) {
      const a = this.active;
      const cleared = a.limit === 'high' ? value <= (high as number) - hysteresis : value >= (low as number) + hysteresis;
      if (!cleared) return out;
      out.push({ action: 'clear', limit: a.limit, threshold: a.limit === 'high' ? high : low, durationMs: nowMono - a.since });
      this.active = null;
    }
    const cond: 'high' | 'low' | null = high !== undefined && value > high ? 'high' : low !== undefined && value < low ? 'low' : null;
    if (cond === null) {
      this.pending = null;
      return out;
    }
    if (!this.pending || this.pending.limit !== cond) this.pending = { limit: cond, since: nowMono };
    const held = nowMono - this.pending.since;
    if (held >= this.cfg.delayMs) {
      out.push({ action: 'alarm', limit: cond, threshold: cond === 'high' ? high : low, durationMs: held });
      this.active = { limit: cond, since: nowMono };
      this.pending = null;
    }
    return out;
  }
}

export class StateAlarm {
  private activeSince: number | null = null;
  private pendingSince: number | null = null;

  constructor(private readonly cfg: StateAlarmConfig) {}

  get state(): 'normal' | 'alarm' {
    return this.activeSince === null ? 'normal' : 'alarm';
  }

  update(value: boolean, nowMono: number): AlarmTransition[] {
    if (value !== this.cfg.when) {
      this.pendingSince = null;
      if (this.activeSince === null) return [];
      const durationMs = nowMono - this.activeSince;
      this.activeSince = null;
      return [{ action: 'clear', limit: 'state', durationMs }];
    }
    if (this.activeSince !== null) return [];
    this.pendingSince ??= nowMono;
    const held = nowMono - this.pendingSince;
    if (held < this.cfg.delayMs) return [];
    this.activeSince = nowMono;
    this.pendingSince = null;
    return [{ action: 'alarm', limit: 'state', durationMs: held }];
  }
}

/** Deadband + periodic reporting: a stable sensor reports once per interval, not per poll. */
export class Reporter {
  private last: { value: number | boolean | string; at: number } | null = null;

  constructor(
    private readonly deadband: number,
    private readonly intervalMs: number,
  ) {}

  /** Why this value should be reported now, or null when it should not. Marks it reported. */
  check(value: number | boolean | string, nowMono: number): 'first' | 'change' | 'interval' | null {
    const l = this.last;
    let why: 'first' | 'change' | 'interval' | null = null;
    if (!l) why = 'first';
    else if (typeof value === 'number' && typeof l.value === 'number') {
      if (Math.abs(value - l.value) > this.deadband || (this.deadband === 0 && value !== l.value)) why = 'change';
    } else if (value !== l.value) why = 'change';
    if (!why && this.intervalMs > 0 && nowMono - (l as { at: number }).at >= this.intervalMs) why = 'interval';
    if (why) this.last = { value, at: nowMono };
    return why;
  }
}

// Pure alarm state machines, fed one polled value at a time with a monotonic timestamp.
// Hysteresis keeps a value hovering around a limit from flapping: once raised, an alarm
// clears only after the value has moved back past the limit by `hysteresis`. A delay
// requires the condition to hold (at every poll) for delayMs before the alarm is raised;
// clearing is immediate. While a unit is offline nothing is fed, so nothing changes.
// A transition takes effect only when its event was accepted (`emit` returns true): if the
// pipeline refuses the alarm (or the clear), the state stays and the next poll tries again,
// so an alarm/clear pair is never broken by a refused observation.
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

/** Hands a transition to the event path; false when it was refused (the state must not advance). */
export type EmitTransition = (t: AlarmTransition) => boolean;
const accepted: EmitTransition = () => true;

export class ThresholdAlarm {
  private active: { limit: 'high' | 'low'; since: number } | null = null;
  private pending: Pending = null;

  constructor(private readonly cfg: ThresholdAlarmConfig) {}

  get state(): 'normal' | 'high' | 'low' {
    return this.active?.limit ?? 'normal';
  }

  /** Feed one value; returns the transitions that were emitted (and so took effect). */
  update(value: number, nowMono: number, emit: EmitTransition = accepted): AlarmTransition[] {
    const out: AlarmTransition[] = [];
    const { high, low, hysteresis } = this.cfg;
    if (this.active) {
      const a = this.active;
      const cleared = a.limit === 'high' ? value <= (high as number) - hysteresis : value >= (low as number) + hysteresis;
      if (!cleared) return out;
      const t: AlarmTransition = { action: 'clear', limit: a.limit, threshold: a.limit === 'high' ? high : low, durationMs: nowMono - a.since };
      if (!emit(t)) return out; // still raised: the clear is retried at the next poll
      out.push(t);
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
      const t: AlarmTransition = { action: 'alarm', limit: cond, threshold: cond === 'high' ? high : low, durationMs: held };
      if (!emit(t)) return out; // still pending: raised at the next poll that holds
      out.push(t);
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

  update(value: boolean, nowMono: number, emit: EmitTransition = accepted): AlarmTransition[] {
    if (value !== this.cfg.when) {
      this.pendingSince = null;
      if (this.activeSince === null) return [];
      const t: AlarmTransition = { action: 'clear', limit: 'state', durationMs: nowMono - this.activeSince };
      if (!emit(t)) return [];
      this.activeSince = null;
      return [t];
    }
    if (this.activeSince !== null) return [];
    this.pendingSince ??= nowMono;
    const held = nowMono - this.pendingSince;
    if (held < this.cfg.delayMs) return [];
    const t: AlarmTransition = { action: 'alarm', limit: 'state', durationMs: held };
    if (!emit(t)) return [];
    this.activeSince = nowMono;
    this.pendingSince = null;
    return [t];
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
    return this.due(value, nowMono);
  }

  /** A report was refused: forget it, so the next poll reports again. */
  unmark(previous: { value: number | boolean | string; at: number } | null): void {
    this.last = previous;
  }

  /** What was last reported (to undo a refused report with unmark). */
  get lastReported(): { value: number | boolean | string; at: number } | null {
    return this.last;
  }

  /** After an invalid reading the next valid value is reported as a change. */
  invalidate(nowMono: number): void {
    // A marker no decoded value equals (string points never read as invalid).
    if (this.last) this.last = { value: '\u0000invalid', at: nowMono };
  }

  private due(value: number | boolean | string, nowMono: number): 'first' | 'change' | 'interval' | null {
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

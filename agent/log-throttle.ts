// Repeated conditions log once, then a count: a condition (a caller-chosen key such as
// "mqtt.connect") writes its first line in full; further occurrences within `intervalMs`
// are counted, not written; at the end of each interval in which repeats were suppressed
// one summary line says how many (`repeated`), carrying the latest occurrence's fields.
// An interval without repeats ends the episode: the next occurrence logs in full again.
// `resolved(key)` ends an episode early (e.g. the broker connected) and writes its
// pending summary at once. Stack traces: an `err` field keeps its stack the first time
// a distinct error (name + message) is logged through the throttle; later lines carry
// the type, message and code only. See docs/architecture.md, "Logs under repetition".
import type { Logger } from 'pino';

export type ThrottledLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug';

export interface LogThrottleOptions {
  /** Spacing of summaries per condition; default 30 s. */
  intervalMs?: number;
  /** Clock (ms); default Date.now. */
  now?: () => number;
  /** Runs the end-of-interval summary; default an unref'd setTimeout. */
  schedule?: (fn: () => void, ms: number) => { cancel(): void };
  /** Distinct errors remembered for "stack once" (oldest forgotten first); default 512. */
  maxStacks?: number;
}

interface Episode {
  log: Logger;
  level: ThrottledLevel;
  obj: Record<string, unknown>;
  msg: string;
  since: number;
  suppressed: number;
  /** Totals of the `sum` fields over the suppressed occurrences. */
  sums: Record<string, number> | null;
  timer: { cancel(): void } | null;
}

const defaultSchedule = (fn: () => void, ms: number): { cancel(): void } => {
  const t = setTimeout(fn, ms);
  t.unref?.();
  return { cancel: () => clearTimeout(t) };
};

function isErrorLike(v: unknown): v is Error & { code?: unknown } {
  return v instanceof Error || (typeof v === 'object' && v !== null && typeof (v as { message?: unknown }).message === 'string' && typeof (v as { stack?: unknown }).stack === 'string');
}

export class LogThrottle {
  private readonly episodes = new Map<string, Episode>();
  private readonly stacks = new Set<string>();
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly schedule: (fn: () => void, ms: number) => { cancel(): void };
  private readonly maxStacks: number;
  /** Occurrences counted instead of written, over the throttle's life. */
  suppressedTotal = 0;

  constructor(o: LogThrottleOptions = {}) {
    this.intervalMs = o.intervalMs ?? 30_000;
    this.now = o.now ?? Date.now;
    this.schedule = o.schedule ?? defaultSchedule;
    this.maxStacks = o.maxStacks ?? 512;
  }

  /**
   * One occurrence of condition `key`; returns true when a line was written now. Numeric
   * fields named in `sum` are totalled over the suppressed occurrences and reported in
   * the summary as `suppressedTotals` (e.g. how many events all the repeats dropped).
   */
  log(log: Logger, level: ThrottledLevel, key: string, obj: Record<string, unknown>, msg: string, sum: readonly string[] = []): boolean {
    const ep = this.episodes.get(key);
    if (ep) {
      ep.log = log;
      ep.level = level;
      ep.obj = obj;
      ep.msg = msg;
      ep.suppressed += 1;
      this.suppressedTotal += 1;
      for (const f of sum) {
        const v = obj[f];
        if (typeof v === 'number') (ep.sums ??= {})[f] = (ep.sums[f] ?? 0) + v;
      }
      return false;
    }
    log[level](this.withStackOnce(obj), msg);
    this.open(key, { log, level, obj, msg, since: this.now(), suppressed: 0, sums: null, timer: null });
    return true;
  }

  /** The condition is over: write its pending summary now; the next occurrence logs in full. */
  resolved(key: string): void {
    const ep = this.episodes.get(key);
    if (!ep) return;
    ep.timer?.cancel();
    this.episodes.delete(key);
    this.summarise(ep);
  }

  /** resolved() for every key that starts with `prefix` (a family of error keys). */
  resolvedPrefix(prefix: string): void {
    if (this.episodes.size === 0) return; // the common case, on hot paths (every ack flush)
    for (const key of [...this.episodes.keys()]) if (key.startsWith(prefix)) this.resolved(key);
  }

  /** Write every pending summary now (e.g. at shutdown) and end all episodes. */
  flush(): void {
    for (const key of [...this.episodes.keys()]) this.resolved(key);
  }

  /** Is `key` inside an episode (its next occurrence would be counted, not written)? */
  active(key: string): boolean {
    return this.episodes.has(key);
  }

  private open(key: string, ep: Episode): void {
    this.episodes.set(key, ep);
    ep.timer = this.schedule(() => this.tick(key, ep), this.intervalMs);
  }

  private tick(key: string, ep: Episode): void {
    if (this.episodes.get(key) !== ep) return;
    this.episodes.delete(key);
    if (ep.suppressed === 0) return; // quiet for a whole interval: the episode is over
    this.summarise(ep);
    // Still repeating: a new interval starts with this summary.
    this.open(key, { ...ep, since: this.now(), suppressed: 0, sums: null, timer: null });
  }

  private summarise(ep: Episode): void {
    if (ep.suppressed === 0) return;
    const overS = Math.max(0, Math.round((this.now() - ep.since) / 1000));
    const totals = ep.sums ? { suppressedTotals: ep.sums } : {};
    ep.log[ep.level]({ ...this.withStackOnce(ep.obj), repeated: ep.suppressed, overS, ...totals }, `${ep.msg} (repeated ${ep.suppressed} more time(s) in ${overS} s)`);
  }

  /** `err` keeps its stack the first time this error (name + message) is logged here. */
  private withStackOnce(obj: Record<string, unknown>): Record<string, unknown> {
    const err = obj.err;
    if (!isErrorLike(err)) return obj;
    const id = `${err.name}: ${err.message}`;
    if (!this.stacks.has(id)) {
      this.stacks.add(id);
      if (this.stacks.size > this.maxStacks) this.stacks.delete(this.stacks.values().next().value as string);
      return obj;
    }
    // Null prototype: pino's err serializer then reports `type` from `name` (not "Object").
    const brief = Object.assign(Object.create(null) as Record<string, unknown>, { name: err.name, message: err.message });
    if (err.code !== undefined) brief.code = err.code;
    return { ...obj, err: brief };
  }
}

/** Throttle key for an error condition at one call site: the site plus the error's message. */
export function errorKey(site: string, err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return `${site}: ${m.slice(0, 200)}`;
}

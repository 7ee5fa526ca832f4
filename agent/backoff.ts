// Full-jitter exponential backoff, shared by the forwarder, the supervisor and drivers
// (docs/contracts.md §Topics "Reconnect with full-jitter exponential
// backoff"): delay = random(0, min(maxMs, minMs·2^attempt)), never below minMs so a
// broker that refuses every CONNECT is never hit in a tight loop. Pure: the random
// source is injected so tests can pin it.

export interface BackoffOptions {
  minMs: number;
  maxMs: number;
  /** Uniform [0, 1); default Math.random. */
  random?: () => number;
}

/** The delay before retry number `attempt` (0-based), in ms. */
export function backoffDelay(attempt: number, o: BackoffOptions): number {
  const random = o.random ?? Math.random;
  const max = Math.max(o.minMs, o.maxMs);
  // 2^attempt overflows to Infinity past ~1023; clamp the exponent first.
  const cap = Math.min(max, o.minMs * 2 ** Math.min(attempt, 52));
  return Math.max(o.minMs, Math.floor(random() * cap));
}

/** Attempt counter around backoffDelay: `next()` after a failure, `reset()` after success. */
export class Backoff {
  private attempt = 0;
  constructor(private readonly o: BackoffOptions) {}

  next(): number {
    return backoffDelay(this.attempt++, this.o);
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}

/** Positional form used by the supervisor and drivers. */
export function fullJitterDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  return backoffDelay(attempt, { minMs, maxMs, random });
}

// Full-jitter exponential backoff ("Exponential Backoff and Jitter", AWS Architecture
// Blog): delay = random(0, min(max, base * 2^attempt)), floored at `minMs` so a retry
// never degenerates into a tight loop. Shared by the supervisor and the forwarder.

/** attempt 0 is the first retry. `random` is injectable for tests. */
export function fullJitterDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.max(minMs, random() * cap);
}

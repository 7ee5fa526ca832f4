// The agent's time source. Everything that reads time (chain, correlator, drivers) takes
// a Clock, so tests can control it; drivers get it as ctx.clock.

export interface Clock {
  /** Wall clock, ms since the Unix epoch. */
  now(): number;
  /** Monotonic ms (performance.now based); never goes back. */
  mono(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  // process.hrtime is CLOCK_MONOTONIC on Linux: ms since boot, as ts.mono requires.
  mono: () => Number(process.hrtime.bigint() / 1_000_000n),
};

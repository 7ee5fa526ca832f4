import { tempDir } from './chain.js';
// A real DriverContext for driver tests: collects emitted observations (each checked
// against the event contract), reported errors, a silent pino logger, the system clock
// and an AbortController. Shared by driver integration tests.
import { pino } from 'pino';
import { checkObservation, type Observation } from '../../agent/events/types.js';
import { systemClock, type Clock, type DriverContext } from '../../drivers/types.js';

export interface CollectingContext {
  ctx: DriverContext;
  events: Observation[];
  errors: Array<{ err: Error; device?: string }>;
  abort: AbortController;
  /** Events of one type (and device, when given). */
  of(type: string, device?: string): Observation[];
}

/** A real DriverContext that records what the driver emits; state goes to a fresh temp dir. */
export function collectingContext(clock: Clock = systemClock, stateDir: string = tempDir('gw-driver-')): CollectingContext {
  const events: Observation[] = [];
  const errors: Array<{ err: Error; device?: string }> = [];
  const abort = new AbortController();
  const ctx: DriverContext = {
    emit(o) {
      checkObservation(o);
      events.push(o);
    },
    reportError(err, device) {
      errors.push({ err, device });
    },
    log: pino({ level: 'silent' }),
    clock,
    signal: abort.signal,
    stateDir,
  };
  return { ctx, events, errors, abort, of: (type, device) => events.filter((e) => e.type === type && (device === undefined || e.device === device)) };
}

/** Poll until cond() is truthy; throws naming `what` after timeoutMs. No fixed sleeps. */
export async function waitUntil<T>(cond: () => T | undefined | null | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

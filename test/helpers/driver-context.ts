// A real DriverContext for driver tests: collects emitted observations (each checked
// against the event contract and its data against docs/events.schema.json — see
// ./event-schema.ts), reported errors, a silent pino logger, the system clock and an
// AbortController. Shared by driver integration tests.
import { pino } from 'pino';
import { checkObservation, type Observation } from '../../agent/events/types.js';
import { systemClock, type Clock } from '../../agent/clock.js';
import type { DriverContext } from '../../drivers/types.js';
import { tempDir } from './chain.js';
import { recordSchemaCheck } from './event-schema.js';

export interface CollectingContext {
  ctx: DriverContext;
  events: Observation[];
  errors: Array<{ err: Error; device?: string }>;
  abort: AbortController;
  /** Emitted observations whose data breaks docs/events.schema.json (they also fail the running test). */
  schemaErrors: string[];
  /** Events of one type (and device, when given). */
  of(type: string, device?: string): Observation[];
}

/** A real DriverContext that records what the driver emits; state goes to a fresh temp dir. */
export function collectingContext(clock: Clock = systemClock, stateDir: string = tempDir('gw-driver-')): CollectingContext {
  const events: Observation[] = [];
  const errors: Array<{ err: Error; device?: string }> = [];
  const schemaErrors: string[] = [];
  const abort = new AbortController();
  const ctx: DriverContext = {
    emit(o) {
      checkObservation(o);
      recordSchemaCheck(o, schemaErrors);
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
  return { ctx, events, errors, abort, schemaErrors, of: (type, device) => events.filter((e) => e.type === type && (device === undefined || e.device === device)) };
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

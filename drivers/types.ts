// The driver seam (docs/contracts.md §Driver seam). A driver never touches SQLite or MQTT: it reports what
// it sees through `ctx.emit` and lets the supervisor own retries and policy.
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Clock } from '../agent/clock.js';
import type { JsonObject, Observation } from '../agent/events/types.js';

/** The narrow context a driver instance gets. Nothing else of the agent is reachable. */
export interface DriverContext {
  /**
   * Hand an observation to the pipeline. Never blocks; never throws. Returns false when the
   * pipeline refused it (contract breach, or no room while the spool cannot write): it is
   * not in the chain, the refusal is counted per instance and type (status, diag, health,
   * metrics), and a driver that keeps state derived from what it reported (an alarm raised
   * or cleared) must not advance that state. Drivers that keep no such state may ignore it.
   */
  emit(observation: Observation): boolean | void;
  /** Report a non-fatal error (counted, logged, visible in health). */
  reportError(err: Error, device?: string): void;
  /**
   * The running driver cannot go on (its source vanished, not a lost connection: that is the
   * link's job, docs/drivers.md): the supervisor stops it and starts a new one after a
   * full-jitter backoff. Absent where nothing supervises (diag's brief instances).
   */
  fail?(err: Error): void;
  /** pino child bound to {driver, instance}. */
  log: Logger;
  clock: Clock;
  /** Aborted when the driver is being stopped. */
  signal: AbortSignal;
  /**
   * The daemon's state directory (keys, baselines, files). Drivers keep what must survive
   * restarts under it (OSDP installed keys, ONVIF snapshots) unless their config names
   * another path, so one `stateDir` setting moves all of a gateway's state.
   */
  stateDir: string;
}

/**
 * `degraded`: the device answers (it is online) but part of it does not work (a point with a
 * standing exception, a secure channel not up). Online and degraded are separate facts:
 * `deviceOnline()` is true for `online` and `degraded`.
 */
export type DeviceState = 'online' | 'offline' | 'degraded' | 'unknown';

/** Whether a device in `state` answers at all (retained `dev/` topics, metrics). */
export function deviceOnline(state: DeviceState): boolean {
  return state === 'online' || state === 'degraded';
}

export interface DeviceHealth {
  device: string;
  state: DeviceState;
  /** Wall ms of the last valid frame/answer from the device, null if never. */
  lastSeen: number | null;
  /** Protocol counters (frames, crcErrors, naks, timeouts, retries …). */
  counters: Record<string, number>;
  /** Identity learned from the device (vendor, model, serial, firmware). */
  info?: Record<string, string | number>;
  lastError?: string;
}

export type Verdict = 'pass' | 'warn' | 'fail' | 'skip';

/** One check of `gatewarden diag`. Every non-pass verdict carries a fix hint. */
export interface DiagnosticResult {
  check: string;
  device?: string;
  verdict: Verdict;
  detail: string;
  hint?: string;
}

export interface CommandResult {
  ok: boolean;
  detail?: string;
  data?: JsonObject;
}

export interface Driver {
  start(): Promise<void>;
  /** Stop emitting, wait for in-flight I/O, release ports. Emits nothing afterwards. */
  stop(): Promise<void>;
  health(): DeviceHealth[];
  diagnose(): Promise<DiagnosticResult[]>;
  /** Downlink action (LED, buzzer, output, snapshot). Throws CommandUnsupportedError if unknown. */
  command?(name: string, args: JsonObject, target?: string): Promise<CommandResult>;
  /** Names of the commands `command` accepts, for the platform's capability listing. */
  commands?(): string[];
}

export interface DriverManifest<C = unknown> {
  kind: string;
  /** zod schema of one instance's config; defaults live here and nowhere else. */
  configSchema: z.ZodType<C>;
  create(config: C, ctx: DriverContext): Driver;
}

// Typed errors tell the supervisor what to do (docs/contracts.md §Driver seam).

/** Bad configuration: retrying will not help; the instance stays down until reload. */
export class DriverConfigError extends Error {
  override readonly name = 'DriverConfigError';
}
/** Transient (port busy, device unplugged, timeout): the supervisor retries with backoff. */
export class DriverRetryableError extends Error {
  override readonly name = 'DriverRetryableError';
}
/** Unrecoverable for this instance (hardware missing for good, protocol impossible). */
export class DriverFatalError extends Error {
  override readonly name = 'DriverFatalError';
}
export class CommandUnsupportedError extends Error {
  override readonly name = 'CommandUnsupportedError';
}
/** A command's args are wrong (the message names the field): refused as `bad-args` before anything reaches a device. */
export class CommandArgsError extends Error {
  override readonly name = 'CommandArgsError';
}

// One link lifecycle for every driver (docs/drivers.md §The reconnecting link): when to
// retry, when a session counts as proven, when the device is flapping, and which
// `*.online` / `*.offline` observations that produces. No I/O and no timers of its own
// except the stability timer; ./link.ts runs sessions on top of it.
//
// Rules:
// - Retry delays come from the one full-jitter backoff (agent/backoff.ts).
// - The backoff resets only once a session proved itself: its first good exchange
//   (proved()) or minStableMs up without a loss. Connecting alone proves nothing, so a
//   device that accepts a login and then always fails is retried ever more slowly.
// - Flapping: flapCount losses within flapWindowMs → the offline of that loss carries
//   `flapping: true` and `holdMs` (the one notice), the next attempt waits holdMs, and no
//   online/offline is announced until a session proved itself again.
import { z } from 'zod';
import { Backoff } from '../../agent/backoff.js';
import type { Clock } from '../../agent/clock.js';
import type { JsonObject, Observation, Severity } from '../../agent/events/types.js';

export const linkPolicySchema = (minDefault: number, maxDefault: number) =>
  z
    .strictObject({
      minMs: z.number().int().min(10).default(minDefault),
      maxMs: z.number().int().min(10).default(maxDefault),
      /** A session up this long without a loss counts as proven (backoff resets). */
      minStableMs: z.number().int().min(0).default(30_000),
      /** This many losses within flapWindowMs make the link flapping. */
      flapCount: z.number().int().min(2).default(3),
      flapWindowMs: z.number().int().min(1000).default(600_000),
      /** After the flapping notice, wait this long before the next attempt. */
      holdMs: z.number().int().min(0).default(300_000),
    })
    .refine((b) => b.maxMs >= b.minMs, { message: 'maxMs must be ≥ minMs', path: ['maxMs'] })
    .prefault({});

export interface LinkPolicy {
  minMs: number;
  maxMs: number;
  minStableMs: number;
  flapCount: number;
  flapWindowMs: number;
  holdMs: number;
}

export const DEFAULT_LINK_POLICY: Omit<LinkPolicy, 'minMs' | 'maxMs'> = { minStableMs: 30_000, flapCount: 3, flapWindowMs: 600_000, holdMs: 300_000 };

/** What the link announces, in the driver's own event types and data. */
export interface LinkAnnouncer {
  device: string;
  online: string;
  offline: string;
  onlineSeverity?: Severity;
  offlineSeverity?: Severity;
  /** Data both events carry (e.g. `{ reader, via, port }`). */
  base?: () => JsonObject;
  /** Put `downMs` on online events (the schema of the driver's online type must allow it). */
  downMs?: boolean;
  /** Announce a failed first attempt as offline with `neverConnected: true`. */
  neverConnected?: boolean;
  src?: Record<string, string | number | boolean>;
}

export interface LifecycleOptions {
  policy: LinkPolicy;
  clock: Clock;
  /** ctx.emit; absent when the driver announces per device itself (OSDP readers, Modbus units). */
  emit?: (o: Observation) => void;
  announce?: LinkAnnouncer;
  random?: () => number;
  /** Told once when the link starts and stops flapping (for logs). */
  onFlapping?: (flapping: boolean, losses: number) => void;
}

export type Announced = 'none' | 'online' | 'offline';

export class LinkLifecycle {
  private readonly backoff: Backoff;
  private announced: Announced = 'none';
  private downSince: number | null = null;
  private up_ = false;
  private proven = false;
  private stableTimer?: NodeJS.Timeout;
  private losses: number[] = [];
  private flapping_ = false;
  private onlineData: JsonObject = {};
  readonly counters = { sessions: 0, losses: 0, failures: 0, flaps: 0 };

  constructor(private readonly o: LifecycleOptions) {
    this.backoff = new Backoff({ minMs: o.policy.minMs, maxMs: o.policy.maxMs, ...(o.random ? { random: o.random } : {}) });
  }

  get isUp(): boolean {
    return this.up_;
  }
  get flapping(): boolean {
    return this.flapping_;
  }
  get state(): Announced {
    return this.announced;
  }
  get attempts(): number {
    return this.backoff.attempts;
  }

  /** A session is established; `data` joins the online event. */
  up(data: JsonObject = {}): void {
    this.up_ = true;
    this.proven = false;
    this.counters.sessions += 1;
    this.onlineData = data;
    if (!this.flapping_) this.announceOnline();
    clearTimeout(this.stableTimer);
    if (this.o.policy.minStableMs > 0) {
      this.stableTimer = setTimeout(() => this.proved(), this.o.policy.minStableMs);
      this.stableTimer.unref?.();
    } else this.proved();
  }

  /** The session's first good exchange (or it stayed up minStableMs): reset the backoff. */
  proved(): void {
    if (!this.up_ || this.proven) return;
    this.proven = true;
    clearTimeout(this.stableTimer);
    this.backoff.reset();
    if (this.flapping_) {
      this.flapping_ = false;
      this.losses = [];
      this.o.onFlapping?.(false, 0);
      this.announceOnline();
    }
  }

  /** An established session ended. Returns the delay before the next attempt. */
  lost(reason: string): number {
    clearTimeout(this.stableTimer);
    this.up_ = false;
    this.counters.losses += 1;
    const now = this.o.clock.mono();
    this.losses = this.losses.filter((t) => now - t < this.o.policy.flapWindowMs);
    this.losses.push(now);
    if (this.flapping_) return this.backoff.next();
    if (this.losses.length >= this.o.policy.flapCount) {
      this.flapping_ = true;
      this.counters.flaps += 1;
      this.o.onFlapping?.(true, this.losses.length);
      this.announceOffline(reason, { flapping: true, holdMs: this.o.policy.holdMs, losses: this.losses.length });
      this.backoff.next(); // the hold replaces this step, but the step still counts
      return Math.max(this.o.policy.holdMs, this.o.policy.minMs);
    }
    this.announceOffline(reason, {});
    return this.backoff.next();
  }

  /** An attempt failed before a session was established. Returns the delay before the next. */
  failed(reason: string): number {
    this.counters.failures += 1;
    if (this.announced === 'none' && this.o.announce?.neverConnected) this.announceOffline(reason, { neverConnected: true });
    else if (this.downSince === null) this.downSince = this.o.clock.mono();
    return this.backoff.next();
  }

  /** Stop the stability timer (driver stopping). */
  dispose(): void {
    clearTimeout(this.stableTimer);
  }

  private announceOnline(): void {
    if (this.announced === 'online') return;
    const downMs = this.downSince === null ? null : Math.max(0, this.o.clock.mono() - this.downSince);
    this.announced = 'online';
    this.downSince = null;
    const a = this.o.announce;
    if (!a) return;
    const data: JsonObject = { ...(a.base?.() ?? {}), ...this.onlineData };
    if (a.downMs && downMs !== null) data.downMs = downMs;
    this.emit(a.online, a.onlineSeverity ?? 'notice', data);
  }

  private announceOffline(reason: string, extra: JsonObject): void {
    if (this.announced === 'offline' && extra.flapping === undefined) return;
    const first = this.announced !== 'offline';
    this.announced = 'offline';
    if (first) this.downSince = this.o.clock.mono();
    const a = this.o.announce;
    if (!a) return;
    this.emit(a.offline, a.offlineSeverity ?? 'warning', { ...(a.base?.() ?? {}), reason: reason.slice(0, 300), ...extra });
  }

  private emit(type: string, severity: Severity, data: JsonObject): void {
    const a = this.o.announce!;
    this.o.emit?.({ type, severity, device: a.device, data, ...(a.src ? { src: a.src } : {}) });
  }
}

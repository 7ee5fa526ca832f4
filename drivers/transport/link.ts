// The reconnecting link (docs/drivers.md §The reconnecting link): runs a driver's session
// function again and again under one LinkLifecycle. A session function connects (open a
// port, connect a socket, log in to a camera), calls `h.up()` once established and
// `h.proved()` on its first good exchange, and returns or throws when the session is over.
// The link decides the delay, announces online/offline, and damps flapping. Drivers keep
// no retry loops of their own (test/unit/no-private-reconnect.test.ts).
import type { Logger } from 'pino';
import type { JsonObject } from '../../agent/events/types.js';
import { LinkLifecycle, type LifecycleOptions } from './lifecycle.js';

export interface SessionHandle {
  /** Aborted when the link stops; a session must end soon after. */
  readonly signal: AbortSignal;
  /** The session is established (announces online unless flapping). */
  up(data?: JsonObject): void;
  /** First good exchange: the session proved itself (backoff resets). */
  proved(): void;
}

export interface SessionLinkOptions extends LifecycleOptions {
  /** For logs: what this link reaches (`/dev/ttyUSB0`, `10.0.0.5:502`, camera id). */
  name: string;
  log: Logger;
  session(h: SessionHandle): Promise<void>;
  /** Each failure or loss, with whether a session had been up (drivers count / reportError). */
  onDown?(err: Error, wasUp: boolean): void;
}

export type LinkState = 'idle' | 'connecting' | 'up' | 'waiting' | 'stopped';

export class SessionLink {
  readonly lifecycle: LinkLifecycle;
  state: LinkState = 'idle';
  lastError: string | null = null;
  reconnects = 0;
  private readonly abort = new AbortController();
  private running: Promise<void> | null = null;
  private wakeTimer?: NodeJS.Timeout;
  private wake?: () => void;

  constructor(private readonly o: SessionLinkOptions) {
    this.lifecycle = new LinkLifecycle({
      ...o,
      onFlapping: (flapping, losses) => {
        if (flapping) o.log.warn({ link: o.name, losses, holdMs: o.policy.holdMs }, 'link is flapping; holding down, no more online/offline until a session proves itself');
        else o.log.info({ link: o.name }, 'link stable again');
        o.onFlapping?.(flapping, losses);
      },
    });
  }

  get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  /**
   * Start the loop. Resolves once the first session is up. With `firstMustConnect` a failed
   * first attempt rejects and the link stops (the supervisor retries the whole driver);
   * without, the link keeps trying and the promise resolves at the first up.
   */
  start(opts: { firstMustConnect?: boolean } = {}): Promise<void> {
    if (this.running) throw new Error(`link ${this.o.name}: already started`);
    const started = new Promise<void>((resolve, reject) => {
      let settled = false;
      const first = (err?: Error): boolean => {
        if (settled) return false;
        settled = true;
        if (err) reject(err);
        else resolve();
        return true;
      };
      this.running = this.loop(first, opts.firstMustConnect ?? false);
    });
    // A caller that does not wait for the first session (a camera connecting in the
    // background) must not turn "stopped before it connected" into an unhandled rejection
    // that kills the process at shutdown; callers that await still see the rejection.
    started.catch(() => undefined);
    return started;
  }

  /** Connect now instead of waiting out the current delay (e.g. a config poke). */
  retryNow(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    this.lifecycle.dispose();
    await this.running;
    this.state = 'stopped';
  }

  private async loop(first: (err?: Error) => boolean, firstMustConnect: boolean): Promise<void> {
    const signal = this.abort.signal;
    let attempt = 0;
    while (!signal.aborted) {
      let wasUp = false;
      this.state = 'connecting';
      const h: SessionHandle = {
        signal,
        up: (data) => {
          if (wasUp || signal.aborted) return;
          wasUp = true;
          this.state = 'up';
          this.lastError = null;
          if (attempt > 0) this.reconnects += 1;
          this.lifecycle.up(data);
          first();
        },
        proved: () => {
          if (wasUp && !signal.aborted) this.lifecycle.proved();
        },
      };
      let err: Error;
      try {
        await this.o.session(h);
        err = new Error('session ended');
      } catch (e) {
        err = e instanceof Error ? e : new Error(String(e));
      }
      attempt += 1;
      if (signal.aborted) break;
      this.lastError = err.message;
      if (!wasUp && firstMustConnect && first(err)) {
        this.abort.abort();
        break;
      }
      this.o.onDown?.(err, wasUp);
      const delay = wasUp ? this.lifecycle.lost(err.message) : this.lifecycle.failed(err.message);
      this.state = 'waiting';
      this.o.log.debug({ link: this.o.name, err: err.message, wasUp, retryInMs: delay }, 'link down; retrying');
      await this.sleep(delay);
    }
    this.lifecycle.dispose();
    this.state = 'stopped';
    first(new Error(`link ${this.o.name}: stopped before it connected`));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(this.wakeTimer);
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
      this.wakeTimer = setTimeout(done, ms);
    });
  }
}

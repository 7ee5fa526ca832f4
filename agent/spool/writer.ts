// Group commit in front of the spool (docs/contracts.md §Spool: "writes are grouped (a few ms or N
// events per transaction) so one fsync covers many events"). The pipeline calls
// enqueue() right after Chain.seal(); an event is *accepted* only when the transaction
// holding it committed, which callers learn from onCommitted, whenCommitted(ticket) or
// flush(). The hot path allocates no Promise per event.
//
// Ordering contract: events reach the spool in enqueue order, across batches and across
// retries. A failed append (disk full, I/O error) keeps its batch in memory, reports
// onError, and is retried with capped exponential backoff before anything enqueued
// later; nothing is dropped or reordered. Events enqueued meanwhile wait behind it
// (`backlog` tells the pipeline how much memory that holds; the pipeline refuses new
// observations before they get a seq once that is too much, see agent/admission.ts).
// From the first failed attempt until the next commit the writer is `failing`
// (writeState); that commit ends the episode and reports it through onRecovered.
import type { Logger } from 'pino';
import type { SealedEvent } from '../chain/chain.js';
import type { AppendResult, DroppedRange, Spool } from './types.js';
import { errorKey, LogThrottle } from '../log-throttle.js';

export interface CommittedBatch {
  /** The batch just committed, in chain order (the array handed to Spool.append). */
  events: readonly SealedEvent[];
  result: AppendResult;
  /** Ticket of the batch's last event: every ticket ≤ this is now accepted. */
  ticket: number;
}

export interface SpoolWriterOptions {
  spool: Pick<Spool, 'append'>;
  /** Close a batch at this many events (config `spool.batchMaxEvents`). */
  maxEvents: number;
  /** … or this many ms after its first event; 0 = on the next event-loop turn (`spool.batchMaxDelayMs`). */
  maxDelayMs: number;
  /** After each commit; the place to wake the forwarder. Must not throw (logged if it does). */
  onCommitted?: (batch: CommittedBatch) => void;
  /** Unsent events the quota evicted in that commit: seal a `system.spool.overflow` for them. */
  onDropped?: (ranges: DroppedRange[]) => void;
  /** Each failed append attempt; the batch is kept and retried. */
  onError?: (err: Error, attempt: number) => void;
  /** The first commit after failed attempts (called once per failure episode, after notify). */
  onRecovered?: (episode: WriteFailureEpisode) => void;
  log?: Logger;
  /** First retry delay (default 50 ms), doubled per failure up to retryMaxMs (default 5 s). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Wall clock for failure episodes (default Date.now). */
  now?: () => number;
}

/** One run of failed append attempts, ended by a commit. */
export interface WriteFailureEpisode {
  /** Wall ms of the first failed attempt / of the commit that ended the run. */
  since: number;
  until: number;
  attempts: number;
  /** The last error: `code` is SQLite's (SQLITE_FULL, SQLITE_IOERR…) or errno's (ENOSPC), if any. */
  error: { message: string; code: string | null };
}

/** What health and metrics show about the writer. */
export interface WriteState {
  state: 'ok' | 'failing';
  /** Wall ms of the first failed attempt of the current episode (null when ok). */
  since: number | null;
  /** Failed attempts in the current episode. */
  attempts: number;
  /** Last error seen (kept after recovery, for diagnosis). */
  lastError: { message: string; code: string | null } | null;
  /** Failed attempts since start. */
  errorsTotal: number;
  /** Events held in memory (pending + the failed batch). */
  backlog: number;
}

/** `code` of a SqliteError / errno error, if it has one. */
export function errorCode(err: Error): string | null {
  const c = (err as { code?: unknown }).code;
  return typeof c === 'string' ? c : null;
}

interface Waiter {
  ticket: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class SpoolWriter {
  private pending: SealedEvent[] = [];
  /** The batch whose append failed; always committed before `pending`. */
  private failed: SealedEvent[] | null = null;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private enqueued = 0;
  private committed = 0;
  private waiters: Waiter[] = [];
  private committing = false;
  private closed = false;
  private abandoned: Error | null = null;
  private episode: { since: number; attempts: number } | null = null;
  private readonly maxEvents: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;

  /** Counters for health/metrics. */
  readonly counters = { batches: 0, events: 0, failures: 0 };
  lastError: Error | null = null;
  private readonly now: () => number;
  /** A failing disk retries every few seconds: log once, then counted (docs/architecture.md). */
  private readonly quiet = new LogThrottle();

  constructor(private readonly o: SpoolWriterOptions) {
    this.maxEvents = Math.max(1, Math.floor(o.maxEvents));
    this.retryMinMs = o.retryMinMs ?? 50;
    this.retryMaxMs = o.retryMaxMs ?? 5000;
    this.now = o.now ?? Date.now;
  }

  /**
   * Queue a sealed event; returns its ticket (1, 2, 3 … in enqueue order). When the batch
   * reaches maxEvents it is committed synchronously inside this call.
   */
  enqueue(e: SealedEvent): number {
    if (this.closed) throw new Error('spool writer is closed: event not accepted');
    this.pending.push(e);
    const ticket = ++this.enqueued;
    // While retrying or inside a commit (a callback enqueuing), the running path drains.
    if (this.failed !== null || this.committing) return ticket;
    if (this.pending.length >= this.maxEvents) this.drain();
    else if (this.pending.length === 1) this.arm();
    return ticket;
  }

  /** enqueue() and wait until that event is accepted (one shared Promise per wait, not per event). */
  enqueueAndWait(e: SealedEvent): Promise<void> {
    return this.whenCommitted(this.enqueue(e));
  }

  /** Resolves once every event up to `ticket` has committed. */
  whenCommitted(ticket: number): Promise<void> {
    if (this.committed >= ticket) return Promise.resolve();
    if (this.abandoned) return Promise.reject(this.abandoned);
    return new Promise((resolve, reject) => this.waiters.push({ ticket, resolve, reject }));
  }

  /** Commit what is pending now (shutdown); resolves when all enqueued so far are accepted. */
  flush(): Promise<void> {
    if (this.failed === null && !this.committing && this.pending.length > 0) this.drain();
    return this.whenCommitted(this.enqueued);
  }

  /** flush(), then refuse further events. */
  async close(): Promise<void> {
    const done = this.flush();
    this.closed = true;
    await done;
  }

  /**
   * Give up on what is not committed (shutdown deadline passed with a failing disk):
   * stops retrying and rejects every waiter. Returns how many events were never accepted.
   */
  abandon(reason: string): number {
    this.closed = true;
    this.disarm();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const lost = this.enqueued - this.committed;
    this.pending = [];
    this.failed = null;
    const err = new Error(`spool writer abandoned (${reason}): ${lost} event(s) not accepted`);
    this.abandoned = err;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w.reject(err);
    return lost;
  }

  /** Events held in memory, not yet accepted. */
  get backlog(): number {
    return this.pending.length + (this.failed?.length ?? 0);
  }

  /** True from a failed attempt until the next commit. */
  get failing(): boolean {
    return this.episode !== null;
  }

  get writeState(): WriteState {
    const e = this.lastError;
    return {
      state: this.episode ? 'failing' : 'ok',
      since: this.episode?.since ?? null,
      attempts: this.episode?.attempts ?? 0,
      lastError: e ? { message: e.message, code: errorCode(e) } : null,
      errorsTotal: this.counters.failures,
      backlog: this.backlog,
    };
  }

  /** Retry a failed batch now instead of after the backoff (e.g. space was just freed). */
  retryNow(): void {
    if (this.retryTimer === null || this.closed) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(this.onRetry, 0);
  }

  /** Tickets issued / accepted so far. */
  get enqueuedCount(): number {
    return this.enqueued;
  }
  get committedCount(): number {
    return this.committed;
  }

  private arm(): void {
    if (this.o.maxDelayMs <= 0) this.immediate = setImmediate(this.onTimer);
    else this.timer = setTimeout(this.onTimer, this.o.maxDelayMs);
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.immediate = null;
    this.drain();
  };

  private readonly onRetry = (): void => {
    this.retryTimer = null;
    this.drain();
  };

  /** Commit everything queued, oldest first, in batches of ≤ maxEvents. */
  private drain(): void {
    if (this.committing) return;
    this.disarm();
    this.committing = true;
    try {
      for (;;) {
        let batch: SealedEvent[];
        if (this.failed !== null) {
          batch = this.failed;
        } else if (this.pending.length === 0) {
          return;
        } else if (this.pending.length <= this.maxEvents) {
          batch = this.pending;
          this.pending = [];
        } else {
          // Only after a failure backlog: split in order.
          batch = this.pending.slice(0, this.maxEvents);
          this.pending = this.pending.slice(this.maxEvents);
        }
        let result: AppendResult;
        try {
          result = this.o.spool.append(batch);
        } catch (err) {
          this.failed = batch;
          this.scheduleRetry(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        this.failed = null;
        this.attempt = 0;
        this.committed += batch.length;
        this.counters.batches++;
        this.counters.events += batch.length;
        this.notify(batch, result);
        if (this.episode !== null) this.recovered();
      }
    } finally {
      this.committing = false;
    }
  }

  private recovered(): void {
    const ep = this.episode!;
    this.episode = null;
    const err = this.lastError ?? new Error('unknown');
    const episode: WriteFailureEpisode = { since: ep.since, until: this.now(), attempts: ep.attempts, error: { message: err.message, code: errorCode(err) } };
    this.quiet.resolvedPrefix('spool.append');
    this.o.log?.warn({ ...episode, backlog: this.backlog }, 'spool writes succeed again');
    try {
      this.o.onRecovered?.(episode);
    } catch (cbErr) {
      this.o.log?.error({ err: cbErr }, 'spool writer onRecovered callback threw');
    }
  }

  private scheduleRetry(err: Error): void {
    if (this.episode === null) this.episode = { since: this.now(), attempts: 0 };
    this.episode.attempts++;
    this.attempt++;
    this.counters.failures++;
    this.lastError = err;
    const delay = Math.min(this.retryMaxMs, this.retryMinMs * 2 ** Math.min(this.attempt - 1, 30));
    if (this.o.log) this.quiet.log(this.o.log, 'error', errorKey('spool.append', err), { err, attempt: this.attempt, retryInMs: delay, backlog: this.backlog }, 'spool append failed: batch kept, retrying');
    try {
      this.o.onError?.(err, this.attempt);
    } catch (cbErr) {
      this.o.log?.error({ err: cbErr }, 'spool writer onError callback threw');
    }
    this.retryTimer = setTimeout(this.onRetry, delay);
  }

  private notify(batch: SealedEvent[], result: AppendResult): void {
    // Callbacks run after the commit: an exception here must never look like an append
    // failure (re-appending a committed batch would store its seqs twice).
    try {
      if (result.dropped.length > 0) this.o.onDropped?.(result.dropped);
    } catch (err) {
      this.o.log?.error({ err }, 'spool writer onDropped callback threw');
    }
    try {
      this.o.onCommitted?.({ events: batch, result, ticket: this.committed });
    } catch (err) {
      this.o.log?.error({ err }, 'spool writer onCommitted callback threw');
    }
    if (this.waiters.length > 0) {
      const still: Waiter[] = [];
      for (const w of this.waiters) {
        if (w.ticket <= this.committed) w.resolve();
        else still.push(w);
      }
      this.waiters = still;
    }
  }
}

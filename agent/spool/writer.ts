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
// (`backlog` tells the pipeline how much memory that holds).
import type { Logger } from 'pino';
import type { SealedEvent } from '../chain/chain.js';
import type { AppendResult, DroppedRange, Spool } from './types.js';

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
  log?: Logger;
  /** First retry delay (default 50 ms), doubled per failure up to retryMaxMs (default 5 s). */
  retryMinMs?: number;
  retryMaxMs?: number;
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
  private readonly maxEvents: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;

  /** Counters for health/metrics. */
  readonly counters = { batches: 0, events: 0, failures: 0 };
  lastError: Error | null = null;

  constructor(private readonly o: SpoolWriterOptions) {
    this.maxEvents = Math.max(1, Math.floor(o.maxEvents));
    this.retryMinMs = o.retryMinMs ?? 50;
    this.retryMaxMs = o.retryMaxMs ?? 5000;
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
      }
    } finally {
      this.committing = false;
    }
  }

  private scheduleRetry(err: Error): void {
    this.attempt++;
    this.counters.failures++;
    this.lastError = err;
    const delay = Math.min(this.retryMaxMs, this.retryMinMs * 2 ** Math.min(this.attempt - 1, 30));
    this.o.log?.error({ err, attempt: this.attempt, retryInMs: delay, backlog: this.backlog }, 'spool append failed: batch kept, retrying');
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

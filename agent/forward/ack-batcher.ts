// Batches Spool.markSent (docs/contracts.md §Spool: a row leaves only after its PUBACK): one spool
// transaction per `maxBatch` acks or per `delayMs` after the first unflushed ack, so
// marking costs a fraction of a transaction per event. Owned by the forwarder, which
// flushes before every rewind so acknowledged rows are not resent.
import type { Logger } from 'pino';
import type { Spool } from '../spool/types.js';
import { errorKey, LogThrottle } from '../log-throttle.js';

export class AckBatcher {
  private pending: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** A failing disk fails every flush: once, then counted (docs/architecture.md). */
  private readonly quiet = new LogThrottle();

  constructor(
    private readonly spool: Spool,
    private readonly log: Logger,
    private readonly maxBatch = 500,
    private readonly delayMs = 25,
  ) {}

  add(rowid: number): void {
    this.pending.push(rowid);
    if (this.pending.length >= this.maxBatch) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.delayMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    try {
      this.spool.markSent(rows);
    } catch (err) {
      // Kept for the next flush; if never flushed, the rows are resent (a duplicate, not a loss).
      this.pending = rows.concat(this.pending);
      this.quiet.log(this.log, 'error', errorKey('markSent', err), { err: (err as Error).message, rows: rows.length }, 'spool markSent failed');
      return;
    }
    this.quiet.resolvedPrefix('markSent');
  }
}

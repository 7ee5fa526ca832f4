// Keeps the refusal ledger (agent/spool/refusal-ledger.ts) in step with the event path:
// while the spool cannot write, the failure episode in progress (its refusals, window,
// error) is saved at once and then at most once a second when it changed; when writes
// succeed again the signed system.spool.write_failed takes it over and the ledger holds
// that record (epoch, seq) until the writer has committed it, then it is cleared. At
// start, what a previous process left is declared again with `recovered` set. A kill -9
// therefore loses at most the refusals of the last second, never a declared one.
import type { Logger } from 'pino';
import type { SealedEvent } from './chain/chain.js';
import type { JsonObject } from './events/types.js';
import type { LedgerContent, OwedRecord, RefusalLedger } from './spool/refusal-ledger.js';

export interface RefusalKeeperOptions {
  ledger: RefusalLedger;
  /** `data` of the write-failure record for the episode in progress (until = now); null while writes succeed. */
  episodeData: () => JsonObject | null;
  /** What changes when the episode's record would (refusal count, attempts). */
  episodeKey: () => string;
  /** Events sealed so far by this process (Pipeline counters.sealed). */
  sealedCount: () => number;
  /** Events committed so far by this process (SpoolWriter.committedCount). */
  committedCount: () => number;
  log: Logger;
  /** Spacing of saves while failing (default 1000 ms). */
  intervalMs?: number;
}

interface Owed extends OwedRecord {
  /** Committed once committedCount reaches this (Infinity: never sealed, left for the next start). */
  ticket: number;
}

export class RefusalKeeper {
  private owed: Owed[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastKey = '';

  constructor(private readonly o: RefusalKeeperOptions) {}

  /** A spool append failed: save the episode now, then keep it saved while writes fail. */
  onFailure(): void {
    if (this.timer) return;
    this.save();
    this.timer = setInterval(() => {
      if (this.o.episodeKey() !== this.lastKey) this.save();
    }, this.o.intervalMs ?? 1000);
    this.timer.unref();
  }

  /**
   * Writes succeed again and the episode's record was sealed (null: it could not be, it
   * stays owed for the next start). Saved at once: the record is owed until committed.
   */
  onDeclared(sealed: SealedEvent | null, data: JsonObject): void {
    this.stopTimer();
    this.owed.push(sealed ? { epoch: sealed.body.epoch, seq: sealed.body.seq, data, ticket: this.o.sealedCount() } : { epoch: null, seq: null, data, ticket: Infinity });
    this.save();
  }

  /** After each commit: records now committed leave the ledger (cheap when nothing is owed). */
  onCommitted(): void {
    if (this.owed.length === 0 || this.o.committedCount() < this.owed[0].ticket) return;
    const done = this.o.committedCount();
    this.owed = this.owed.filter((r) => r.ticket > done);
    this.save();
  }

  /**
   * Declare what a previous process left: each record it owed that the spool does not
   * show committed is sealed again with `recovered` (the process that counted it ended
   * before its declaration committed). Returns how many records were sealed.
   */
  recover(left: LedgerContent | null, isCommitted: (epoch: string, seq: number) => boolean, seal: (data: JsonObject) => SealedEvent | null): number {
    if (!left || left.records.length === 0) return 0;
    let n = 0;
    for (const r of left.records) {
      if (r.epoch !== null && r.seq !== null && isCommitted(r.epoch, r.seq)) continue;
      const data: JsonObject = { ...r.data, recovered: { afterCrash: true, pid: left.pid, savedAt: new Date(left.savedAt).toISOString() } };
      const sealed = seal(data);
      this.owed.push(sealed ? { epoch: sealed.body.epoch, seq: sealed.body.seq, data, ticket: this.o.sealedCount() } : { epoch: null, seq: null, data, ticket: Infinity });
      if (sealed) n += 1;
    }
    this.o.log.warn({ records: left.records.length, declared: n, pid: left.pid, savedAt: new Date(left.savedAt).toISOString() }, 'refusals a previous process counted while the spool could not write are declared now (system.spool.write_failed, recovered)');
    this.save();
    return n;
  }

  stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.stopTimer();
    this.o.ledger.close();
  }

  private save(): void {
    const records: OwedRecord[] = this.owed.map(({ epoch, seq, data }) => ({ epoch, seq, data }));
    const ep = this.o.episodeData();
    if (ep) records.push({ epoch: null, seq: null, data: ep });
    this.lastKey = this.o.episodeKey();
    this.o.ledger.save(records);
  }
}

// An in-memory implementation of the Spool contract (agent/spool/types.ts) for forwarder
// tests: a real implementation of the interface, not a mock (docs/contracts.md §Practices). No quota
// or retention; append keeps rows in rowid order.
import type { ChainHead, SealedEvent } from '../../agent/chain/chain.js';
import type { AppendResult, Spool, SpoolRow, SpoolStats } from '../../agent/spool/types.js';

interface MemRow extends SpoolRow {
  sent: boolean;
}

export class MemorySpool implements Spool {
  private rows: MemRow[] = [];
  private readonly byId = new Map<number, MemRow>();
  private nextRowid = 1;
  private h: ChainHead | null = null;
  private readonly meta = new Map<string, string>();
  private sentTotal = 0;
  /** Every rowid passed to markSent, in call order (duplicates kept). */
  readonly markSentCalls: number[][] = [];

  constructor(private readonly clock: () => number = Date.now) {}

  append(events: SealedEvent[]): AppendResult {
    const now = this.clock();
    for (const e of events) {
      const row: MemRow = {
        rowid: this.nextRowid++,
        epoch: e.body.epoch,
        seq: e.body.seq,
        family: e.family,
        type: e.body.type,
        severity: e.body.severity,
        payload: e.payload,
        acceptedAt: now,
        sent: false,
      };
      this.rows.push(row);
      this.byId.set(row.rowid, row);
      this.h = { epoch: e.body.epoch, seq: e.body.seq, hash: e.hash };
    }
    return { dropped: [], evictedSent: 0 };
  }

  /** Test hook: set acceptedAt of every row (to exercise historicalAfterMs). */
  backdate(ms: number): void {
    for (const r of this.rows) r.acceptedAt -= ms;
  }

  head(): ChainHead | null {
    return this.h ? { ...this.h } : null;
  }

  readUnsent(afterRowid: number, limit: number): SpoolRow[] {
    const out: SpoolRow[] = [];
    // rows are in rowid order: binary search the start.
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rows[mid].rowid <= afterRowid) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.rows.length && out.length < limit; i++) {
      const r = this.rows[i];
      if (!r.sent) out.push(r);
    }
    return out;
  }

  markSent(rowids: readonly number[]): void {
    this.markSentCalls.push([...rowids]);
    for (const id of rowids) {
      const r = this.byId.get(id);
      if (r && !r.sent) {
        r.sent = true;
        this.sentTotal++;
      }
    }
  }

  maxRowid(): number {
    return this.nextRowid - 1;
  }

  readRange(epoch: string, fromSeq: number, limit: number): SpoolRow[] {
    return this.rows.filter((r) => r.epoch === epoch && r.seq >= fromSeq).slice(0, limit);
  }

  prune(): number {
    const before = this.rows.length;
    this.rows = this.rows.filter((r) => !r.sent);
    for (const [id, r] of this.byId) if (r.sent) this.byId.delete(id);
    return before - this.rows.length;
  }

  stats(now = this.clock()): SpoolStats {
    let unsent = 0;
    let oldest: number | null = null;
    let bytes = 0;
    for (const r of this.rows) {
      bytes += r.payload.length;
      if (!r.sent) {
        unsent++;
        if (oldest === null) oldest = r.acceptedAt;
      }
    }
    return {
      depth: this.rows.length,
      unsent,
      oldestUnsentAgeMs: oldest === null ? null : now - oldest,
      head: this.head(),
      bytes,
      quotaBytes: Number.MAX_SAFE_INTEGER,
      fileBytes: 0,
      droppedEvents: 0,
      sentTotal: this.sentTotal,
    };
  }

  /** Rows marked sent so far (O(1), for polling in benchmarks). */
  get sentCount(): number {
    return this.sentTotal;
  }

  /** Rowids still unsent, in order. */
  unsentRowids(): number[] {
    return this.rows.filter((r) => !r.sent).map((r) => r.rowid);
  }

  getMeta(key: string): string | undefined {
    return this.meta.get(key);
  }

  setMeta(key: string, value: string): void {
    this.meta.set(key, value);
  }

  close(): void {}
}

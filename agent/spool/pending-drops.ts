// The spool's table of owed declarations (`pending_drops`, schema.ts): seq ranges that left
// the spool undelivered and that no committed `system.spool.overflow` declares yet. Rows
// are written in the same transaction as the eviction (or orphan removal) that dropped the
// events and cleared by the append that commits the declaring record, so a kill -9 at any
// moment leaves every missing seq declared or owed (docs/architecture.md, "Evidence classes
// and the quota"). Every method runs inside the caller's transaction.
import type Database from 'better-sqlite3';
import { subtractRanges } from './evict.js';
import type { DroppedRange, PendingDrops } from './types.js';

interface PendingRow {
  rowid: number;
  reason: PendingDrops['reason'];
  epoch: string;
  from_seq: number;
  to_seq: number;
}

export class PendingDropsTable {
  private readonly insert: Database.Statement<[string, string, number, number]>;
  private readonly rows: Database.Statement<[], PendingRow>;
  private readonly remove: Database.Statement<[number]>;
  private readonly quotaRows: Database.Statement<[], { epoch: string; from_seq: number; to_seq: number }>;
  private readonly removeQuota: Database.Statement<[]>;

  constructor(db: Database.Database) {
    this.insert = db.prepare('INSERT INTO pending_drops(reason, epoch, from_seq, to_seq) VALUES (?, ?, ?, ?)');
    this.rows = db.prepare('SELECT rowid, reason, epoch, from_seq, to_seq FROM pending_drops ORDER BY rowid');
    this.remove = db.prepare('DELETE FROM pending_drops WHERE rowid = ?');
    this.quotaRows = db.prepare<[], { epoch: string; from_seq: number; to_seq: number }>("SELECT epoch, from_seq, to_seq FROM pending_drops WHERE reason = 'quota' ORDER BY rowid");
    this.removeQuota = db.prepare<[]>("DELETE FROM pending_drops WHERE reason = 'quota'");
  }

  /** Owe a declaration for these ranges. */
  add(reason: PendingDrops['reason'], ranges: readonly DroppedRange[]): void {
    for (const r of ranges) this.insert.run(reason, r.epoch, r.from, r.to);
  }

  /** Everything owed, grouped by reason. */
  all(): PendingDrops[] {
    const by = new Map<PendingDrops['reason'], DroppedRange[]>();
    for (const p of this.rows.all()) {
      const list = by.get(p.reason) ?? [];
      list.push({ epoch: p.epoch, from: p.from_seq, to: p.to_seq });
      by.set(p.reason, list);
    }
    return [...by].map(([reason, ranges]) => ({ reason, ranges }));
  }

  /** An overflow record in the batch declares `declared`: those seqs are no longer owed. */
  settle(declared: readonly DroppedRange[]): void {
    if (declared.length === 0) return;
    for (const p of this.rows.all()) {
      const rest = subtractRanges([{ epoch: p.epoch, from: p.from_seq, to: p.to_seq }], declared);
      if (rest.length === 1 && rest[0].from === p.from_seq && rest[0].to === p.to_seq) continue;
      this.remove.run(p.rowid);
      for (const r of rest) this.insert.run(p.reason, r.epoch, r.from, r.to);
    }
  }

  /** Take every owed quota range out (a consolidation re-declares them in one merged set). */
  takeQuota(): DroppedRange[] {
    const out = this.quotaRows.all().map((o) => ({ epoch: o.epoch, from: o.from_seq, to: o.to_seq }));
    this.removeQuota.run();
    return out;
  }
}

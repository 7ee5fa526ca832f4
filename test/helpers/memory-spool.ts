// An in-memory implementation of the Spool contract (agent/spool/types.ts, docs/contracts.md
// §Spool) for forwarder tests: a real implementation of the interface, not a mock
// (docs/contracts.md §Practices). test/unit/spool-contract.test.ts runs it through the same
// suite as SqliteSpool. What it shares with the SQLite spool it imports rather than copies:
// the byte count per row (rowBytes), the eviction order's predicates and range arithmetic
// (agent/spool/evict.ts), the spool-owned meta keys. What it has no equivalent of: files
// (integrity check, move-aside, migration, read-only readers, fsync) and the filesystem's
// free space (agent/spool/space.ts): its quota is spool.quotaBytes alone.
import type { ChainHead, SealedEvent } from '../../agent/chain/chain.js';
import { isEvidence, severityRank } from '../../agent/events/types.js';
import {
  DECLARATION_HEADROOM, DECLARATION_SHARE, consolidationDue, declarationBytes, declaredBy, dropRanges, isCompactable, isDeclaration, readRanges, subtractRanges,
  type Consolidate, type DroppedRow,
} from '../../agent/spool/evict.js';
import { RESERVED_META_KEYS, rowBytes } from '../../agent/spool/schema.js';
import type { AppendResult, DroppedRange, PendingDrops, Spool, SpoolRow, SpoolStats } from '../../agent/spool/types.js';

interface MemRow extends SpoolRow {
  sentAt: number | null;
  bytes: number;
}

/**
 * What a memory spool keeps between close() and the next open: the stand-in for the spool
 * file. Only what a committed append, markSent or prune left is in it.
 */
export class MemorySpoolStore {
  /** In rowid order (rowids only grow). */
  rows: MemRow[] = [];
  readonly byId = new Map<number, MemRow>();
  /** `epoch \0 seq` of stored rows: the SQLite spool's unique (epoch, seq) index. */
  readonly bySeq = new Set<string>();
  /** Highest rowid ever assigned: survives prune and eviction, so rowids are never reused. */
  hw = 0;
  head: ChainHead | null = null;
  bytes = 0;
  droppedEvents = 0;
  sentTotal = 0;
  readonly meta = new Map<string, string>();
  /** Dropped ranges no stored overflow record declares yet (SqliteSpool's pending_drops). */
  pending: Array<{ reason: PendingDrops['reason']; range: DroppedRange }> = [];
}

export interface MemorySpoolOptions {
  now?: () => number;
  /** Logical byte quota, counted as SqliteSpool counts it (rowBytes); default: none to speak of. */
  quotaBytes?: number;
  /** Sent rows older than this leave at prune(); default 24. */
  retentionHours?: number;
  /** Reopen what an earlier MemorySpool committed; default: a fresh store. */
  store?: MemorySpoolStore;
}

const seqKey = (epoch: string, seq: number): string => `${epoch}\0${seq}`;

export class MemorySpool implements Spool {
  readonly store: MemorySpoolStore;
  private readonly clock: () => number;
  private readonly quota: number;
  private readonly retentionMs: number;
  private closed = false;
  /** declarationBytes of what the last consolidation left owed (SqliteSpool keeps it in memory too). */
  private lastUnion = 0;
  /** Every rowid passed to markSent, in call order (duplicates kept). */
  readonly markSentCalls: number[][] = [];

  constructor(o: MemorySpoolOptions = {}) {
    const quota = o.quotaBytes ?? Number.MAX_SAFE_INTEGER;
    if (!(quota > 0)) throw new Error(`memory spool quotaBytes must be > 0 (got ${quota})`);
    this.quota = quota;
    this.clock = o.now ?? Date.now;
    this.retentionMs = Math.max(0, o.retentionHours ?? 24) * 3_600_000;
    this.store = o.store ?? new MemorySpoolStore();
  }

  /**
   * All or nothing, as one SQLite transaction: everything that can refuse the batch (a seq
   * already stored) is checked before anything changes. Quota eviction in the order of
   * agent/spool/evict.ts and SqliteSpool.appendInTx.
   */
  append(events: SealedEvent[]): AppendResult {
    this.assertOpen();
    if (events.length === 0) return { dropped: [], evictedSent: 0 };
    const st = this.store;
    const keys = new Set<string>();
    for (const e of events) {
      const k = seqKey(e.body.epoch, e.body.seq);
      if (st.bySeq.has(k) || keys.has(k)) throw new Error(`memory spool: seq ${e.body.seq} of epoch ${e.body.epoch} is already stored (unique epoch+seq)`);
      keys.add(k);
    }
    const at = this.clock();
    const sizes = events.map((e) => rowBytes(e.payload));
    const batchBytes = sizes.reduce((n, b) => n + b, 0);
    let batchDecl = 0;
    let declOnly = true;
    events.forEach((e, i) => {
      if (!isDeclaration(e.body.type)) declOnly = false;
      if (!isCompactable(e.body.type)) return;
      batchDecl += sizes[i];
      if (e.body.type === 'system.spool.overflow') this.clearPending(readRanges(e.body.data.dropped));
    });
    const limit = declOnly ? this.quota * (1 + DECLARATION_HEADROOM) : this.quota;
    const ev = { freed: 0, evictedSent: 0, dropped: [] as DroppedRow[], redeclared: [] as DroppedRange[], consolidated: false };
    const over = st.bytes + batchBytes - limit;
    if (over > 0) {
      const declBytes = this.unsent().filter((r) => isCompactable(r.type)).reduce((n, r) => n + r.bytes, 0);
      const mode: Consolidate = consolidationDue(declBytes + batchDecl, declBytes, this.quota, this.lastUnion) ? 'first' : declBytes > 2 * this.lastUnion ? 'if-needed' : 'never';
      this.evict(ev, over, mode);
    }
    // The batch itself, oldest first, only when nothing else is left; never its declarations.
    const skip = new Set<number>();
    let kept = batchBytes;
    for (let i = 0; i < events.length && st.bytes + kept > limit; i++) {
      const b = events[i].body;
      if (isDeclaration(b.type)) continue;
      skip.add(i);
      ev.dropped.push({ rowid: st.hw + 1 + i, epoch: b.epoch, seq: b.seq });
      kept -= sizes[i];
    }
    events.forEach((e, i) => {
      if (skip.has(i)) return;
      const b = e.body;
      const row: MemRow = { rowid: st.hw + 1 + i, epoch: b.epoch, seq: b.seq, family: e.family, type: b.type, severity: b.severity, payload: e.payload, acceptedAt: at, sentAt: null, bytes: sizes[i] };
      st.rows.push(row);
      st.byId.set(row.rowid, row);
      st.bySeq.add(seqKey(b.epoch, b.seq));
    });
    st.bytes += kept;
    st.hw += events.length;
    const last = events[events.length - 1];
    st.head = { epoch: last.body.epoch, seq: last.body.seq, hash: last.hash };
    st.droppedEvents += ev.dropped.length;
    if (ev.consolidated) {
      // SqliteSpool.appendInTx: everything owed for quota joins one merged set that replaces it.
      ev.redeclared.push(...st.pending.filter((p) => p.reason === 'quota').map((p) => p.range));
      st.pending = st.pending.filter((p) => p.reason !== 'quota');
    }
    const dropped = dropRanges(ev.dropped, ev.redeclared);
    for (const range of dropped) st.pending.push({ reason: 'quota', range });
    if (ev.consolidated) this.lastUnion = declarationBytes(dropped);
    return { dropped, evictedSent: ev.evictedSent };
  }

  /** evictForQuota (agent/spool/evict.ts) over the rows in memory: same phases, same order. */
  private evict(out: { freed: number; evictedSent: number; dropped: DroppedRow[]; redeclared: DroppedRange[]; consolidated: boolean }, need: number, mode: Consolidate): void {
    const consolidate = (): void => {
      for (const r of this.unsent().filter((x) => isCompactable(x.type))) {
        this.remove(r);
        out.freed += r.bytes;
        out.dropped.push(r);
        out.consolidated = true;
        if (r.type === 'system.spool.overflow') out.redeclared.push(...declaredBy(r.payload));
      }
    };
    if (mode === 'first') consolidate();
    const sent = this.store.rows.filter((r) => r.sentAt !== null && this.store.byId.has(r.rowid)).sort((a, b) => a.sentAt! - b.sentAt! || a.rowid - b.rowid);
    for (const r of sent) {
      if (out.freed >= need) break;
      this.remove(r);
      out.freed += r.bytes;
      out.evictedSent++;
    }
    const ev = (r: MemRow): number => (isEvidence(r.type) ? 1 : 0);
    const unsent = this.unsent().filter((r) => !isDeclaration(r.type));
    unsent.sort((a, b) => ev(a) - ev(b) || severityRank(a.severity) - severityRank(b.severity) || a.rowid - b.rowid);
    for (const r of unsent) {
      if (out.freed >= need) break;
      this.remove(r);
      out.freed += r.bytes;
      out.dropped.push(r);
    }
    if (out.freed < need && mode === 'if-needed') consolidate();
    this.store.rows = this.store.rows.filter((r) => this.store.byId.has(r.rowid));
  }

  private remove(r: MemRow): void {
    this.store.byId.delete(r.rowid);
    this.store.bySeq.delete(seqKey(r.epoch, r.seq));
    this.store.bytes -= r.bytes;
  }

  private unsent(): MemRow[] {
    return this.store.rows.filter((r) => r.sentAt === null && this.store.byId.has(r.rowid));
  }

  private clearPending(declared: DroppedRange[]): void {
    if (declared.length === 0) return;
    this.store.pending = this.store.pending.flatMap((p) => subtractRanges([p.range], declared).map((range) => ({ reason: p.reason, range })));
  }

  /** Drops no stored overflow record declares yet, by reason (SqliteSpool.pendingDrops). */
  pendingDrops(): PendingDrops[] {
    this.assertOpen();
    const by = new Map<PendingDrops['reason'], DroppedRange[]>();
    for (const p of this.store.pending) by.set(p.reason, [...(by.get(p.reason) ?? []), { ...p.range }]);
    return [...by].map(([reason, ranges]) => ({ reason, ranges }));
  }

  /** Test hook: set acceptedAt of every row (to exercise historicalAfterMs). */
  backdate(ms: number): void {
    for (const r of this.store.rows) r.acceptedAt -= ms;
  }

  head(): ChainHead | null {
    return this.store.head ? { ...this.store.head } : null;
  }

  readUnsent(afterRowid: number, limit: number): SpoolRow[] {
    this.assertOpen();
    const rows = this.store.rows;
    // rows are in rowid order: binary search the start.
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (rows[mid].rowid <= afterRowid) lo = mid + 1;
      else hi = mid;
    }
    const out: SpoolRow[] = [];
    for (let i = lo; i < rows.length && out.length < limit; i++) if (rows[i].sentAt === null) out.push(toRow(rows[i]));
    return out;
  }

  markSent(rowids: readonly number[]): void {
    this.assertOpen();
    this.markSentCalls.push([...rowids]);
    const at = this.clock();
    for (const id of rowids) {
      const r = this.store.byId.get(id);
      if (r && r.sentAt === null) {
        r.sentAt = at;
        this.store.sentTotal++;
      }
    }
  }

  maxRowid(): number {
    this.assertOpen();
    return this.store.rows.at(-1)?.rowid ?? 0;
  }

  readRange(epoch: string, fromSeq: number, limit: number): SpoolRow[] {
    this.assertOpen();
    return this.store.rows.filter((r) => r.epoch === epoch && r.seq >= fromSeq).sort((a, b) => a.seq - b.seq).slice(0, limit).map(toRow);
  }

  readByType(type: string, limit: number): SpoolRow[] {
    this.assertOpen();
    return this.store.rows.filter((r) => r.type === type).slice(0, limit).map(toRow);
  }

  prune(now: number = this.clock()): number {
    this.assertOpen();
    const cutoff = now - this.retentionMs;
    const gone = this.store.rows.filter((r) => r.sentAt !== null && r.sentAt < cutoff);
    for (const r of gone) this.remove(r);
    if (gone.length > 0) this.store.rows = this.store.rows.filter((r) => this.store.byId.has(r.rowid));
    return gone.length;
  }

  stats(now = this.clock()): SpoolStats {
    this.assertOpen();
    let unsent = 0;
    let oldest: number | null = null;
    for (const r of this.store.rows) {
      if (r.sentAt !== null) continue;
      unsent++;
      oldest ??= r.acceptedAt;
    }
    return {
      depth: this.store.rows.length,
      unsent,
      oldestUnsentAgeMs: oldest === null ? null : Math.max(0, now - oldest),
      head: this.head(),
      bytes: this.store.bytes,
      quotaBytes: this.quota,
      fileBytes: 0,
      droppedEvents: this.store.droppedEvents,
      sentTotal: this.store.sentTotal,
    };
  }

  /** Rows marked sent so far (O(1), for polling in benchmarks). */
  get sentCount(): number {
    return this.store.sentTotal;
  }

  /** Rowids still unsent, in order. */
  unsentRowids(): number[] {
    return this.store.rows.filter((r) => r.sentAt === null).map((r) => r.rowid);
  }

  getMeta(key: string): string | undefined {
    this.assertOpen();
    return this.store.meta.get(key);
  }

  /** Free-form keys only; the spool's own (agent/spool/schema.ts META) are refused, as SqliteSpool does. */
  setMeta(key: string, value: string): void {
    this.assertOpen();
    if (RESERVED_META_KEYS.has(key)) throw new Error(`spool meta key "${key}" is owned by the spool`);
    this.store.meta.set(key, value);
  }

  /** Idempotent; the store keeps what was committed for the next `new MemorySpool({ store })`. */
  close(): void {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('memory spool is closed');
  }
}

function toRow(r: MemRow): SpoolRow {
  return { rowid: r.rowid, epoch: r.epoch, seq: r.seq, family: r.family, type: r.type, severity: r.severity, payload: r.payload, acceptedAt: r.acceptedAt };
}

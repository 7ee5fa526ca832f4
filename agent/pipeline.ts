// The single path every event takes (docs/contracts.md §Pipeline): validate → (correlate) → seal into the
// chain → hand to the spool's group-commit writer. Synchronous up to the writer so that
// seq order is exactly ingest order; durability is the writer's job.
import type { Logger } from 'pino';
import type { Chain, ChainHead, SealedEvent } from './chain/chain.js';
import { checkObservation, type JsonObject, type Observation, type Severity } from './events/types.js';
import type { DroppedRange } from './spool/types.js';
import { ObservationRefusedError, type SpoolAdmission } from './admission.js';
import { LogThrottle } from './log-throttle.js';

/** Where sealed events go: the spool writer (or a test sink). */
export interface EventSink {
  enqueue(event: SealedEvent): void;
}

/** Sees every sealed event; may return follow-up observations (correlation → incidents). */
export type EventListener = (event: SealedEvent) => Observation[] | void;

export interface PipelineOptions {
  chain: Chain;
  sink: EventSink;
  log: Logger;
  gw: string;
  checkpoint: { everyEvents: number; everySeconds: number };
  /** Minimum spacing of `system.spool.overflow` announcements (default 1000 ms). */
  overflowCoalesceMs?: number;
  /** Bounds what waits uncommitted while the spool cannot write (agent/admission.ts); none = unbounded. */
  admission?: SpoolAdmission;
}

/**
 * Why unsent events left the spool undelivered: `quota` (eviction, docs/contracts.md §Spool) or
 * `payload-missing` (rows found at start without their payload, SqliteSpool.removeOrphans).
 */
export type DropReason = 'quota' | 'payload-missing';

/** Keeps one overflow event well under typical broker message limits (~40 bytes a range). */
export const OVERFLOW_RANGES_PER_EVENT = 256;

/** Merge ranges per epoch into sorted, non-overlapping, non-adjacent runs. */
export function mergeDropped(ranges: DroppedRange[]): DroppedRange[] {
  const sorted = [...ranges].sort((a, b) => (a.epoch === b.epoch ? a.from - b.from : a.epoch < b.epoch ? -1 : 1));
  const out: DroppedRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && last.epoch === r.epoch && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else out.push({ ...r });
  }
  return out;
}

export interface PipelineCounters {
  ingested: number;
  rejected: number;
  sealed: number;
  checkpoints: number;
  overflowEvents: number;
  /** Observations and agent records refused before sealing (spool could not write). */
  refused: number;
}

export class Pipeline {
  readonly counters: PipelineCounters = { ingested: 0, rejected: 0, sealed: 0, checkpoints: 0, overflowEvents: 0, refused: 0 };
  private sinceCheckpoint = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: EventListener[] = [];
  private depth = 0;
  private closed = false;
  private readonly pendingDrops = new Map<DropReason, DroppedRange[]>();
  private lastOverflowAt = 0;
  private overflowTimer: NodeJS.Timeout | undefined;
  private readonly overflowCoalesceMs: number;
  /** Sustained quota pressure announces every second: log once, then counted (docs/architecture.md). */
  private readonly quiet = new LogThrottle();

  constructor(private readonly o: PipelineOptions) {
    this.overflowCoalesceMs = o.overflowCoalesceMs ?? 1000;
  }

  get head(): ChainHead {
    return this.o.chain.head;
  }

  addListener(l: EventListener): void {
    this.listeners.push(l);
  }

  /**
   * Entry for drivers (through the supervisor). Throws on a contract breach, and throws
   * ObservationRefusedError (before any seq is taken) while the spool cannot write and
   * the in-memory backlog is full.
   */
  ingest(driver: string, obs: Observation): SealedEvent {
    if (this.closed) throw new Error('pipeline closed');
    try {
      checkObservation(obs);
    } catch (e) {
      this.counters.rejected += 1;
      throw e;
    }
    const adm = this.o.admission;
    if (adm && !adm.admits('observation')) {
      this.counters.refused += 1;
      throw adm.refuse(driver, obs.type);
    }
    this.counters.ingested += 1;
    return this.sealAndSink(() => this.o.chain.seal({ ...obs, driver }));
  }

  get hasPendingDrops(): boolean {
    return this.pendingDrops.size > 0;
  }

  /**
   * Agent-originated event (start, stop, config, command results). Allowed after close():
   * shutdown records. While the spool cannot write, agent records have a reserve above
   * the observation limit; beyond it they are refused too (counted, declared later) and
   * null is returned.
   */
  system(type: string, severity: Severity, data: JsonObject): SealedEvent | null {
    const adm = this.o.admission;
    if (adm && !adm.admits('agent')) {
      this.counters.refused += 1;
      adm.refuse('agent', type);
      return null;
    }
    return this.sealAndSink(() => this.o.chain.seal({ driver: 'agent', device: this.o.gw, type, severity, data }));
  }

  /** Seal and sink an event produced by the chain itself (epoch announcements). */
  sinkSealed(event: SealedEvent): void {
    this.counters.sealed += 1;
    this.o.sink.enqueue(event);
  }

  checkpoint(reason: 'count' | 'interval' | 'shutdown' | 'start'): SealedEvent {
    this.sinceCheckpoint = 0;
    this.counters.checkpoints += 1;
    const e = this.o.chain.checkpoint(reason);
    this.sinkSealed(e);
    return e;
  }

  /**
   * Called by the spool writer after a commit that evicted unsent events for quota, and
   * by the daemon at start for events the spool found without a payload (`reason`) and
   * for drops a previous process left undeclared. Coalescing here is safe across a
   * kill -9: the spool keeps every drop in `pending_drops`, written in the evicting
   * transaction and cleared by the one that commits the overflow record declaring it
   * (agent/spool/schema.ts). The spool never evicts an overflow record unless a later
   * one re-declares its ranges (agent/spool/evict.ts): a consolidation hands back one
   * merged set that covers pieces already held here, and the merge at announce time
   * (mergeDropped) declares each of them once. Drops are coalesced (at most one announcement per `overflowCoalesceMs`) so
   * that sustained pressure — where each announcement may itself push out more rows —
   * cannot turn into a stream of overflow events; long lists are split into several
   * events of at most OVERFLOW_RANGES_PER_EVENT exact ranges each.
   */
  onDropped(ranges: DroppedRange[], reason: DropReason = 'quota'): void {
    if (ranges.length === 0) return;
    const pending = this.pendingDrops.get(reason) ?? [];
    pending.push(...ranges);
    this.pendingDrops.set(reason, pending);
    if (this.closed) return;
    const wait = this.lastOverflowAt + this.overflowCoalesceMs - Date.now();
    if (wait <= 0) this.announceDrops();
    else this.overflowTimer ??= setTimeout(() => this.announceDrops(), wait);
  }

  /** Announce coalesced drops now; also used at shutdown after the final flush. */
  announceDrops(): void {
    clearTimeout(this.overflowTimer);
    this.overflowTimer = undefined;
    if (this.pendingDrops.size === 0) return;
    this.lastOverflowAt = Date.now();
    const all = [...this.pendingDrops];
    this.pendingDrops.clear();
    for (const [reason, pending] of all) this.announce(reason, mergeDropped(pending));
  }

  private announce(reason: DropReason, ranges: DroppedRange[]): void {
    const count = ranges.reduce((n, r) => n + (r.to - r.from + 1), 0);
    const msg = reason === 'quota' ? 'spool over quota: unsent events dropped' : 'unsent events lost from the spool';
    this.quiet.log(this.o.log, 'error', `drops ${reason}`, { reason, ranges: ranges.slice(0, 20), rangeCount: ranges.length, count }, msg, ['count', 'rangeCount']);
    const refused: DroppedRange[] = [];
    for (let i = 0; i < ranges.length; i += OVERFLOW_RANGES_PER_EVENT) {
      const part = ranges.slice(i, i + OVERFLOW_RANGES_PER_EVENT);
      const sealed = this.system('system.spool.overflow', 'alarm', {
        reason,
        count: part.reduce((n, r) => n + (r.to - r.from + 1), 0),
        part: Math.floor(i / OVERFLOW_RANGES_PER_EVENT) + 1,
        parts: Math.ceil(ranges.length / OVERFLOW_RANGES_PER_EVENT),
        dropped: part.map((r) => ({ epoch: r.epoch, from: r.from, to: r.to })),
      });
      if (sealed) this.counters.overflowEvents += 1;
      else refused.push(...part);
    }
    // Refused while the spool cannot write: still owed (and still in the spool's
    // pending_drops), so try again after the coalescing interval.
    if (refused.length > 0) {
      const pending = this.pendingDrops.get(reason) ?? [];
      pending.push(...refused);
      this.pendingDrops.set(reason, pending);
      if (!this.closed) this.overflowTimer ??= setTimeout(() => this.announceDrops(), this.overflowCoalesceMs);
    }
  }

  startTimers(): void {
    const ms = this.o.checkpoint.everySeconds * 1000;
    this.timer = setInterval(() => {
      // A checkpoint restates the head; while the spool cannot write it would only add to the backlog.
      if (!this.closed && !this.o.admission?.writerFailing) this.checkpoint('interval');
    }, ms);
    this.timer.unref();
  }

  /** No more events after this (pending drop announcements go out first); the caller flushes the writer. */
  close(): void {
    this.announceDrops();
    this.quiet.flush();
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
  }

  private sealAndSink(make: () => SealedEvent): SealedEvent {
    const e = make();
    this.sinkSealed(e);
    this.sinceCheckpoint += 1;
    if (this.sinceCheckpoint >= this.o.checkpoint.everyEvents) this.checkpoint('count');
    // Listeners may emit follow-ups (incidents); bound recursion so a rule that reacts to
    // its own output cannot loop forever.
    if (this.listeners.length > 0 && this.depth < 4) {
      this.depth += 1;
      try {
        for (const l of this.listeners) {
          const more = l(e);
          if (more) {
            for (const m of more) {
              try {
                this.ingest('correlate', m);
              } catch (err) {
                // Refused follow-ups are counted by admission; the event that caused them was accepted.
                if (!(err instanceof ObservationRefusedError)) throw err;
              }
            }
          }
        }
      } finally {
        this.depth -= 1;
      }
    }
    return e;
  }
}

// The single path every event takes (DESIGN §1): validate → (correlate) → seal into the
// chain → hand to the spool's group-commit writer. Synchronous up to the writer so that
// seq order is exactly ingest order; durability is the writer's job.
import type { Logger } from 'pino';
import type { Chain, ChainHead, SealedEvent } from './chain/chain.js';
import { checkObservation, type JsonObject, type Observation, type Severity } from './events/types.js';
import type { DroppedRange } from './spool/types.js';

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
}

export interface PipelineCounters {
  ingested: number;
  rejected: number;
  sealed: number;
  checkpoints: number;
  overflowEvents: number;
}

export class Pipeline {
  readonly counters: PipelineCounters = { ingested: 0, rejected: 0, sealed: 0, checkpoints: 0, overflowEvents: 0 };
  private sinceCheckpoint = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: EventListener[] = [];
  private depth = 0;
  private closed = false;

  constructor(private readonly o: PipelineOptions) {}

  get head(): ChainHead {
    return this.o.chain.head;
  }

  addListener(l: EventListener): void {
    this.listeners.push(l);
  }

  /** Entry for drivers (through the supervisor). Throws on a contract breach. */
  ingest(driver: string, obs: Observation): SealedEvent {
    if (this.closed) throw new Error('pipeline closed');
    try {
      checkObservation(obs);
    } catch (e) {
      this.counters.rejected += 1;
      throw e;
    }
    this.counters.ingested += 1;
    return this.sealAndSink(() => this.o.chain.seal({ ...obs, driver }));
  }

  /** Agent-originated event (start, stop, config, command results). */
  system(type: string, severity: Severity, data: JsonObject): SealedEvent {
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
   * Called by the spool writer after a commit that evicted unsent events for quota.
   * The overflow event is itself evidence-class, so the spool keeps it over what it dropped.
   */
  onDropped(ranges: DroppedRange[]): void {
    if (ranges.length === 0 || this.closed) return;
    const count = ranges.reduce((n, r) => n + (r.to - r.from + 1), 0);
    this.counters.overflowEvents += 1;
    this.o.log.error({ ranges, count }, 'spool over quota: unsent events dropped');
    this.system('system.spool.overflow', 'alarm', {
      reason: 'quota',
      count,
      dropped: ranges.map((r) => ({ epoch: r.epoch, from: r.from, to: r.to })),
    });
  }

  startTimers(): void {
    const ms = this.o.checkpoint.everySeconds * 1000;
    this.timer = setInterval(() => {
      if (!this.closed) this.checkpoint('interval');
    }, ms);
    this.timer.unref();
  }

  /** No more events after this; the caller flushes the writer. */
  close(): void {
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
          if (more) for (const m of more) this.ingest('correlate', m);
        }
      } finally {
        this.depth -= 1;
      }
    }
    return e;
  }
}

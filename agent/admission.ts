// Admission in front of the chain: while the spool writer cannot commit, at most a bounded
// number of sealed events wait in memory (config `spool.maxBacklogEvents`, counting those
// still in the signing stage). Beyond it a new observation is refused *before* it gets a
// seq, so memory stays bounded and no seq is ever handed out that might have to be taken
// back. Agent records (command evidence, config changes, the write-failure declaration)
// have a small reserve above the limit. Every refusal is tallied per driver and type with
// its first and last time; the tally of one failure episode goes into the signed
// `system.spool.write_failed` record once writes succeed again (agent/event-path.ts).

/** Thrown by Pipeline.ingest when an observation is refused for lack of room to commit it. */
export class ObservationRefusedError extends Error {
  readonly code = 'SPOOL_BACKLOG_FULL';
  constructor(
    readonly driver: string,
    readonly type: string,
    readonly backlog: number,
    readonly limit: number,
  ) {
    super(`observation ${type} from ${driver} refused: the spool cannot write and ${backlog} events already wait in memory (spool.maxBacklogEvents ${limit})`);
    this.name = 'ObservationRefusedError';
  }
}

/** One driver's refusals of one event type. Times are wall ms. */
export interface RefusalTally {
  driver: string;
  type: string;
  count: number;
  first: number;
  last: number;
}

export interface RefusalSummary {
  count: number;
  first: number | null;
  last: number | null;
  byDriverType: RefusalTally[];
}

export interface AdmissionOptions {
  /** Sealed but uncommitted events allowed while the writer fails (observations). */
  maxBacklogEvents: number;
  /** Extra room for agent records above maxBacklogEvents. */
  reserveEvents?: number;
  /** Sealed events not yet committed (signing stage + writer). */
  uncommitted: () => number;
  /** True while the spool writer cannot commit. */
  failing: () => boolean;
  now?: () => number;
}

/** Room for agent records above the observation limit. */
export const AGENT_RESERVE_EVENTS = 256;

export class SpoolAdmission {
  readonly maxBacklogEvents: number;
  readonly reserveEvents: number;
  /** Refusals since the last write-failure declaration. */
  private episode = new Map<string, RefusalTally>();
  /** Refusals since start (metrics). */
  private readonly totals = new Map<string, RefusalTally>();
  private readonly now: () => number;
  refusedTotal = 0;

  constructor(private readonly o: AdmissionOptions) {
    this.maxBacklogEvents = Math.max(1, Math.floor(o.maxBacklogEvents));
    this.reserveEvents = Math.max(0, Math.floor(o.reserveEvents ?? AGENT_RESERVE_EVENTS));
    this.now = o.now ?? Date.now;
  }

  get writerFailing(): boolean {
    return this.o.failing();
  }

  get uncommitted(): number {
    return this.o.uncommitted();
  }

  /** May an event of this kind be sealed now? Always yes while the writer commits. */
  admits(kind: 'observation' | 'agent'): boolean {
    if (!this.o.failing()) return true;
    const limit = kind === 'observation' ? this.maxBacklogEvents : this.maxBacklogEvents + this.reserveEvents;
    return this.o.uncommitted() < limit;
  }

  /** Count one refusal; returns the error the caller throws (observations) or logs. */
  refuse(driver: string, type: string): ObservationRefusedError {
    const at = this.now();
    this.refusedTotal += 1;
    for (const m of [this.episode, this.totals]) {
      const k = `${driver}\u0000${type}`;
      const t = m.get(k);
      if (t) {
        t.count += 1;
        t.last = at;
      } else m.set(k, { driver, type, count: 1, first: at, last: at });
    }
    return new ObservationRefusedError(driver, type, this.o.uncommitted(), this.maxBacklogEvents);
  }

  /** Refusals since the last call (what the next write-failure record declares), then reset. */
  takeEpisode(): RefusalSummary {
    const s = summarise(this.episode);
    this.episode = new Map();
    return s;
  }

  /** Refusals not yet declared, without resetting. */
  pendingEpisode(): RefusalSummary {
    return summarise(this.episode);
  }

  /** Refusals since start, per driver and type. */
  totalsByDriverType(): RefusalTally[] {
    return [...this.totals.values()].map((t) => ({ ...t }));
  }
}

function summarise(m: Map<string, RefusalTally>): RefusalSummary {
  const byDriverType = [...m.values()].map((t) => ({ ...t })).sort((a, b) => b.count - a.count);
  let count = 0;
  let first: number | null = null;
  let last: number | null = null;
  for (const t of byDriverType) {
    count += t.count;
    if (first === null || t.first < first) first = t.first;
    if (last === null || t.last > last) last = t.last;
  }
  return { count, first, last, byDriverType };
}

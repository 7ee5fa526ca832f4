// The spool's effective quota: never more than its filesystem can hold. A configured
// spool.quotaBytes larger than the free space would only be reached by failing writes
// (bounded and declared, docs/architecture.md "Full disk", but every observation refused
// meanwhile is lost); evicting early keeps the newest events instead and declares the
// old ones by signed overflow records like any quota eviction.
//
//   effective = min(spool.quotaBytes, spool bytes + reusable bytes − margin)
//   reusable  = free bytes on the filesystem (statfs, unprivileged)
//             + free pages inside the SQLite file (its freelist: eviction frees pages the
//               file reuses, without the filesystem seeing them come back)
//             − what the WAL may still grow before a checkpoint lets it restart from its
//               beginning (wal_autocheckpoint pages, less the size it already has)
//   margin    = max(spool.reserveBytes, 1 MiB): room for a batch and the declarations
//
// The spool counts logical bytes (payload + per-row overhead) and the file holds a bit
// more per logical byte, so as the spool grows the effective quota falls faster than it
// grows: eviction starts when about `margin` bytes are left free, and stays there.
// statfs is re-read at most every `intervalMs` (default 1 s) from the append path, and at
// once after a failed append, never per event.
import { statfsSync } from 'node:fs';

export interface FsSpace {
  /** Blocks available to an unprivileged writer. */
  bavail: number;
  bsize: number;
}

export type StatFs = (dir: string) => FsSpace;

export interface SpaceOptions {
  /** Directory of the spool file (its filesystem is the one that fills). */
  dir: string;
  /** spool.reserveBytes; the margin kept free is at least MIN_MARGIN_BYTES. */
  reserveBytes: number;
  /** Injectable for tests (default fs.statfsSync). */
  statfs?: StatFs;
  /** Minimum spacing of statfs reads (default 1000 ms). */
  intervalMs?: number;
}

export const MIN_MARGIN_BYTES = 1024 * 1024;

export interface QuotaReading {
  /** The quota eviction applies now. */
  effective: number;
  /** Free bytes on the filesystem at the last read. */
  freeBytes: number;
  /** True when the filesystem, not spool.quotaBytes, sets the quota. */
  limited: boolean;
}

export class EffectiveQuota {
  readonly margin: number;
  private readonly statfs: StatFs;
  private readonly intervalMs: number;
  private readAt = -Infinity;
  private free = Infinity;
  private last: QuotaReading;

  constructor(
    private readonly configured: number,
    private readonly o: SpaceOptions,
  ) {
    this.margin = Math.max(MIN_MARGIN_BYTES, o.reserveBytes);
    this.statfs = o.statfs ?? statfsSync;
    this.intervalMs = o.intervalMs ?? 1000;
    this.last = { effective: configured, freeBytes: Infinity, limited: false };
  }

  /** The next reading re-reads the filesystem (a write just failed, space may have gone). */
  invalidate(): void {
    this.readAt = -Infinity;
  }

  /** Whether a reading at `now` would re-read the filesystem. */
  due(now: number): boolean {
    return now - this.readAt >= this.intervalMs;
  }

  /**
   * The effective quota for a spool holding `spoolBytes` logical bytes; `inFiles` is the
   * space its own files can still give (free pages) or will still take (WAL growth), in
   * bytes. Re-reads statfs when due; an unreadable filesystem leaves the configured quota.
   */
  read(now: number, spoolBytes: number, inFiles: () => number): QuotaReading {
    if (!this.due(now)) return this.last;
    this.readAt = now;
    try {
      const s = this.statfs(this.o.dir);
      this.free = Math.max(0, s.bavail * s.bsize);
    } catch {
      this.free = Infinity;
    }
    const room = Number.isFinite(this.free) ? spoolBytes + this.free + inFiles() - this.margin : Infinity;
    const effective = Math.max(0, Math.min(this.configured, Math.floor(room)));
    this.last = { effective, freeBytes: this.free, limited: effective < this.configured };
    return this.last;
  }

  /** The last reading (no filesystem access). */
  get current(): QuotaReading {
    return this.last;
  }
}

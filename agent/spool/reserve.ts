// Space held back for the spool on its own filesystem (config `spool.reserveBytes`): a
// ballast file `spool.reserve` beside the spool, written with real blocks at start. When an
// append fails because the filesystem is full (SQLITE_FULL, ENOSPC) the writer's error
// hook releases it and retries at once: the batch that failed, the backlog behind it and
// the signed `system.spool.write_failed` declaration commit into the space it held, so the
// platform learns of the full disk while the gateway can still say so. The ballast is laid
// again once the filesystem has room for it twice over (docs/architecture.md, "Full disk").
import { closeSync, fsyncSync, openSync, rmSync, statfsSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

export const RESERVE_FILE = 'spool.reserve';
const CHUNK = 64 * 1024;

export interface SpaceReserveOptions {
  /** Directory of the spool file (the ballast must share its filesystem). */
  dir: string;
  bytes: number;
  log?: Logger;
}

/** True for the errors a ballast can help with. */
export function isDiskFull(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || /disk is full|no space left/i.test(err.message);
}

/** Free bytes for an unprivileged writer on the filesystem holding `dir`. */
export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

export class SpaceReserve {
  readonly path: string;
  private isHeld = false;
  /** Times the ballast was released since start. */
  releases = 0;

  constructor(private readonly o: SpaceReserveOptions) {
    this.path = join(o.dir, RESERVE_FILE);
  }

  get bytes(): number {
    return this.o.bytes;
  }

  get held(): boolean {
    return this.isHeld;
  }

  /**
   * Lay the ballast if it is missing or short and the filesystem has room for it twice
   * over (never fill a disk to make a reserve). Returns whether it is held.
   */
  ensure(): boolean {
    if (this.o.bytes <= 0) return false;
    let have = 0;
    try {
      have = statSync(this.path).size;
    } catch {
      have = 0;
    }
    if (have >= this.o.bytes) return (this.isHeld = true);
    const need = this.o.bytes - have;
    try {
      if (freeBytes(this.o.dir) < need * 2) return (this.isHeld = false);
    } catch {
      return (this.isHeld = false);
    }
    const fd = openSync(this.path, 'a', 0o600);
    try {
      // Real zero blocks (not a sparse truncate): the space must be allocated now.
      const buf = Buffer.alloc(CHUNK);
      for (let done = 0; done < need; ) {
        const n = Math.min(CHUNK, need - done);
        writeSync(fd, buf, 0, n);
        done += n;
      }
      fsyncSync(fd);
      this.isHeld = true;
    } catch (err) {
      this.o.log?.warn({ err, path: this.path }, 'spool reserve could not be laid; continuing without it');
      rmSync(this.path, { force: true });
      this.isHeld = false;
    } finally {
      closeSync(fd);
    }
    return this.isHeld;
  }

  /** Give the space back (the filesystem is full). Returns true if there was something to free. */
  release(): boolean {
    let existed = false;
    try {
      existed = statSync(this.path).size > 0;
    } catch {
      existed = false;
    }
    rmSync(this.path, { force: true });
    this.isHeld = false;
    if (existed) this.releases += 1;
    return existed;
  }
}

// Snapshot retention: bounded disk use for alarm images (a Pi's SD card that fills up
// also stops the spool). The writer (snapshot.ts) and the pruner share one file-name
// pattern, and the pruner deletes only regular files of that pattern found directly in
// `<dir>/<camera>/` — never symlinks, never other files, never anything outside `dir`.
// Order is oldest first by the time in the name (the gateway clock at write time).
// Deleting an image does not weaken the evidence: the signed event carries its SHA-256
// and size, so a copy kept elsewhere still verifies.
import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

export interface RetentionLimits {
  maxFilesPerCamera: number;
  maxTotalBytes: number;
  maxAgeHours: number;
}

export interface PruneResult {
  deleted: number;
  freedBytes: number;
  keptFiles: number;
  keptBytes: number;
  /** Deleted images per camera directory. */
  perCamera: Record<string, number>;
  /** Files that could not be deleted or inspected (path: reason). */
  errors: string[];
}

const STAMP = '(\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}-\\d{3}Z)-[0-9a-f]{8}\\.[a-z0-9]{1,16}';
/** `<time>-<sha8>.<ext>`, e.g. `2026-11-27T21-49-03-123Z-1a2b3c4d.jpg`. */
export const SNAPSHOT_FILE = new RegExp(`^${STAMP}$`, 'i');
/** A write interrupted by a crash: `<name>.tmp-<pid>`. */
const SNAPSHOT_TMP = new RegExp(`^${STAMP}\\.tmp-\\d+$`, 'i');
/** A temp file older than this is debris: a snapshot write is bounded by timeoutMs ≤ 60 s. */
const TMP_STALE_MS = 3600_000;

/** The file name of an image written at `now` (ms) with this content hash and extension. */
export function snapshotFileName(now: number, sha256: string, ext: string): string {
  return `${new Date(now).toISOString().replace(/[:.]/g, '-')}-${sha256.slice(0, 8)}.${ext}`;
}

/** Write time encoded in a snapshot (or temp) file name; null when it is not one of ours. */
export function snapshotTime(name: string): number | null {
  const m = SNAPSHOT_FILE.exec(name) ?? SNAPSHOT_TMP.exec(name);
  if (!m) return null;
  const iso = m[1].replace(/T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z$/, 'T$1:$2:$3.$4Z');
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : null;
}

interface Entry {
  camera: string;
  path: string;
  name: string;
  t: number;
  size: number;
}

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

/**
 * One pass over `dir`: delete images older than maxAgeHours, then all but the newest
 * maxFilesPerCamera per camera, then the oldest overall until the total fits maxTotalBytes;
 * plus stale temp files. A missing `dir` is an empty one. Per-file failures are collected
 * in `errors`, never thrown; only an unreadable `dir` itself throws.
 */
export async function pruneSnapshots(dir: string, limits: RetentionLimits, now: number): Promise<PruneResult> {
  const res: PruneResult = { deleted: 0, freedBytes: 0, keptFiles: 0, keptBytes: 0, perCamera: {}, errors: [] };
  let cams;
  try {
    cams = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (code(e) === 'ENOENT') return res;
    throw e;
  }
  const images: Entry[] = [];
  const debris: Entry[] = [];
  for (const cam of cams) {
    if (!cam.isDirectory()) continue; // symlinks are not followed
    const camDir = join(dir, cam.name);
    let files;
    try {
      files = await readdir(camDir, { withFileTypes: true });
    } catch (e) {
      if (code(e) !== 'ENOENT') res.errors.push(`${camDir}: ${(e as Error).message}`);
      continue;
    }
    for (const f of files) {
      if (!f.isFile()) continue;
      const t = snapshotTime(f.name);
      if (t === null) continue;
      const path = join(camDir, f.name);
      try {
        const st = await lstat(path);
        if (!st.isFile()) continue;
        (SNAPSHOT_FILE.test(f.name) ? images : debris).push({ camera: cam.name, path, name: f.name, t, size: st.size });
      } catch (e) {
        if (code(e) !== 'ENOENT') res.errors.push(`${path}: ${(e as Error).message}`);
      }
    }
  }
  const doomed = new Set<Entry>(debris.filter((d) => now - d.t > TMP_STALE_MS));
  const newestFirst = (a: Entry, b: Entry): number => b.t - a.t || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0);
  const cutoff = now - limits.maxAgeHours * 3600_000;
  for (const e of images) if (e.t < cutoff) doomed.add(e);
  const byCamera = new Map<string, Entry[]>();
  for (const e of images) {
    if (doomed.has(e)) continue;
    const list = byCamera.get(e.camera);
    if (list) list.push(e);
    else byCamera.set(e.camera, [e]);
  }
  for (const list of byCamera.values()) list.sort(newestFirst).slice(limits.maxFilesPerCamera).forEach((e) => doomed.add(e));
  const kept = images.filter((e) => !doomed.has(e)).sort(newestFirst);
  let total = kept.reduce((n, e) => n + e.size, 0);
  while (total > limits.maxTotalBytes && kept.length > 0) {
    const oldest = kept.pop()!;
    doomed.add(oldest);
    total -= oldest.size;
  }
  const isImage = new Set(images);
  for (const e of doomed) {
    try {
      await unlink(e.path);
    } catch (err) {
      if (code(err) !== 'ENOENT') {
        res.errors.push(`${e.path}: ${(err as Error).message}`);
        if (isImage.has(e)) {
          res.keptFiles += 1;
          res.keptBytes += e.size;
        }
        continue;
      }
    }
    if (!isImage.has(e)) continue; // debris is not counted as a pruned image
    res.deleted += 1;
    res.freedBytes += e.size;
    res.perCamera[e.camera] = (res.perCamera[e.camera] ?? 0) + 1;
  }
  res.keptFiles += kept.length;
  res.keptBytes += total;
  return res;
}

/**
 * Runs pruneSnapshots for one driver instance: requests coalesce (at most one pass running
 * and one queued), a failure is logged and reported, never thrown, and never delays the
 * event whose snapshot triggered it (callers do not await `request`).
 */
export class SnapshotPruner {
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly o: {
      dir: string;
      limits: RetentionLimits;
      now: () => number;
      log: Logger;
      onPruned?: (r: PruneResult) => void;
      onError?: (err: Error) => void;
    },
  ) {}

  request(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run();
  }

  /** Resolves when no pass is running (used by stop: wait for in-flight I/O). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle();
  }

  private async run(): Promise<void> {
    try {
      do {
        this.again = false;
        try {
          const r = await pruneSnapshots(this.o.dir, this.o.limits, this.o.now());
          if (r.deleted > 0) this.o.log.debug({ dir: this.o.dir, deleted: r.deleted, freedBytes: r.freedBytes, keptFiles: r.keptFiles, keptBytes: r.keptBytes }, 'snapshots pruned');
          if (r.errors.length > 0) {
            const err = new Error(`snapshot retention: ${r.errors.length} file(s) could not be pruned under ${this.o.dir}: ${r.errors.slice(0, 3).join('; ')}`);
            this.o.log.warn({ dir: this.o.dir, errors: r.errors.slice(0, 10) }, 'snapshot pruning incomplete');
            this.o.onError?.(err);
          }
          this.o.onPruned?.(r);
        } catch (e) {
          const err = new Error(`snapshot retention: cannot prune ${this.o.dir}: ${(e as Error).message}`);
          this.o.log.warn({ dir: this.o.dir, err: err.message }, 'snapshot pruning failed');
          this.o.onError?.(err);
        }
      } while (this.again && !this.stopped);
    } finally {
      this.running = null;
    }
  }
}

// Small files kept in the state dir (baselines, correlation state, reader keys, COMSET
// records, the PIN key, seen command ids). A write is atomic and durable: temp file →
// fsync → rename → fsync of the directory, so a crash leaves either the old or the new
// file, never a torn one, and a returned write survives power loss.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Write `data` to `path` atomically and durably; the file gets `mode` (default 0600). */
export function writeFileAtomic(path: string, data: string, mode = 0o600): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/** JSON.stringify(value) (pretty, with a final newline, when `pretty`) written with writeFileAtomic. */
export function writeJsonAtomic(path: string, value: unknown, pretty = false): void {
  writeFileAtomic(path, pretty ? `${JSON.stringify(value, null, 2)}\n` : JSON.stringify(value));
}

/** The parsed file, or null when absent. A corrupt file is reported through onError and treated as absent. */
export function readJson(path: string, onError?: (err: Error) => void): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') onError?.(e as Error);
    return null;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    onError?.(e as Error);
    return null;
  }
}

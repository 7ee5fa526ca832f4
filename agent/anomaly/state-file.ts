// Baselines and correlation state persisted in the state dir (DESIGN §8). A write is
// atomic and durable: temp file → fsync → rename → fsync of the directory, so a crash
// leaves either the old or the new file, never a torn one.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export function writeJsonAtomic(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(value));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dfd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
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

// Helpers of the full-disk tests (test/integration/full-disk*.test.ts): a real tmpfs in a
// private mount namespace (unshare -m) that ends with its holder process, a filler that
// keeps it full, and a spool reader living inside the namespace.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { SpoolRecord } from '../../agent/spool/sqlite-spool.js';

export function skipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (mount namespace, tmpfs)';
  try {
    execFileSync('unshare', ['-m', '--propagation', 'private', 'true'], { stdio: 'ignore' });
    return null;
  } catch (e) {
    return `unshare -m unavailable: ${(e as Error).message}`;
  }
}

/** A private mount namespace holding a tmpfs at `at`; ends (and unmounts) when its holder dies. */
export async function tmpfsNamespace(at: string, size: string): Promise<{ pid: number; path: (p: string) => string; destroy(): Promise<void> }> {
  const holder: ChildProcess = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=${size},mode=0755 gw-full-disk ${at} && echo ready && exec sleep 3600`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    holder.once('exit', (code) => reject(new Error(`mount namespace holder exited (${code})`)));
  });
  const pid = holder.pid!;
  return {
    pid,
    // The namespace's view of a path, from the host: through the holder's root.
    path: (p) => `/proc/${pid}/root${p}`,
    destroy: async () => {
      if (holder.exitCode === null) {
        const gone = new Promise((r) => holder.once('exit', r));
        holder.kill('SIGKILL');
        await gone;
      }
    },
  };
}

export function hostHasMount(at: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === at);
}

/** Appends to `file` until the filesystem says ENOSPC; returns bytes written. */
export function topUp(file: string): number {
  const fd = openSync(file, 'a');
  const buf = Buffer.alloc(64 * 1024, 0x61);
  let n = 0;
  try {
    for (;;) {
      try {
        n += writeSync(fd, buf);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOSPC') {
          // Fill the last partial chunk too.
          for (const size of [4096, 512]) {
            try {
              for (;;) n += writeSync(fd, buf, 0, size);
            } catch {
              /* full at this granularity */
            }
          }
          return n;
        }
        throw e;
      }
    }
  } finally {
    closeSync(fd);
  }
}

const READER = new URL('./spool-reader-child.ts', import.meta.url).pathname;

/** A spool reader living in the namespace (test/helpers/spool-reader-child.ts). */
export function spoolReader(prefix: string[], spoolPath: string) {
  const c = spawn(prefix[0], [...prefix.slice(1), process.execPath, '--import', 'tsx', READER, spoolPath], { stdio: ['pipe', 'pipe', 'inherit'] });
  const rl = createInterface({ input: c.stdout! });
  const waiting: Array<(line: string) => void> = [];
  rl.on('line', (l) => waiting.shift()?.(l));
  const ask = <T>(op: string): Promise<T> =>
    new Promise((resolve, reject) => {
      waiting.push((line) => {
        const r = JSON.parse(line) as T & { error?: string };
        if (r.error) reject(new Error(`spool reader: ${r.error}`));
        else resolve(r);
      });
      c.stdin!.write(`${JSON.stringify({ op })}\n`);
    });
  return {
    head: async () => (await ask<{ head: { epoch: string; seq: number; hash: string } | null }>('head')).head,
    rows: async () => (await ask<{ rows: SpoolRecord[] }>('rows')).rows,
    close: () => c.kill('SIGKILL'),
  };
}

export async function waitForAsync(cond: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

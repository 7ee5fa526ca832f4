// Runs the real daemon (`gatewarden run`) as a child process against a generated config,
// exactly as systemd would, so crash tests can SIGKILL a real process.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { keyFilePath, rawPublicKey } from '../../agent/chain/keys.js';
import { openSpoolReadOnly, type SpoolRecord } from '../../agent/spool/sqlite-spool.js';

const MAIN = new URL('../../agent/cli/main.ts', import.meta.url).pathname;
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export function writeDaemonConfig(dir: string, cfg: Record<string, unknown>): string {
  const file = join(dir, 'config.yaml');
  writeFileSync(file, stringify({ site: 'site-t', gateway: 'gw-t', stateDir: join(dir, 'state'), log: { level: 'info', format: 'json' }, ...cfg }));
  return file;
}

export interface DaemonProcess {
  child: ChildProcess;
  /** Everything written to stdout (JSON log lines) so far. */
  out(): string;
  /** Resolves when a log line matching `re` appears. */
  waitLog(re: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

/**
 * `prefix` runs the daemon through a command that execs it in place (same PID, so SIGKILL
 * reaches the daemon), e.g. `['nsenter', '-t', PID, '-m', '--']` for another mount namespace.
 */
export function spawnDaemon(configFile: string, opts: { prefix?: string[] } = {}): DaemonProcess {
  const argv = [process.execPath, '--import', 'tsx', MAIN, 'run', '--config', configFile];
  const [cmd, ...args] = [...(opts.prefix ?? []), ...argv];
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, sig) => {
      live.delete(child);
      resolve(code ?? sig ?? 'unknown');
    }),
  );
  return {
    child,
    out: () => out,
    exited,
    waitLog: async (re, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(out)) {
        if (child.exitCode !== null) throw new Error(`daemon exited (${child.exitCode}) before ${re}:\n${out.slice(-3000)}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}:\n${out.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

export function gatewayPubkey(stateDir: string): string {
  return rawPublicKey(createPublicKey(readFileSync(keyFilePath(stateDir), 'utf8'))).toString('base64url');
}

/** Every row of a spool (sent and unsent), in rowid order. */
export function allSpoolRows(spoolPath: string): SpoolRecord[] {
  const ro = openSpoolReadOnly(spoolPath);
  try {
    const rows: SpoolRecord[] = [];
    for (let batch = ro.readAfter(0, 5000); batch.length > 0; batch = ro.readAfter(batch[batch.length - 1].rowid, 5000)) rows.push(...batch);
    return rows;
  } finally {
    ro.close();
  }
}

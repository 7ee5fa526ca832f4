// Runs the real daemon (`gatewarden run`) as a child process against a generated config,
// exactly as systemd would, so crash tests can SIGKILL a real process.
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { stringify } from 'yaml';
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { keyFilePath, rawPublicKey } from '../../agent/chain/keys.js';
import { openSpoolReadOnly, type SpoolRecord } from '../../agent/spool/sqlite-spool.js';
import { spawnCli } from './cli-child.js';

export function writeDaemonConfig(dir: string, cfg: Record<string, unknown>): string {
  const file = join(dir, 'config.yaml');
  writeFileSync(file, stringify({ site: 'site-t', gateway: 'gw-t', stateDir: join(dir, 'state'), log: { level: 'info', format: 'json' }, ...cfg }));
  return file;
}

export interface DaemonProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr (JSON log lines) so far. */
  out(): string;
  /** Resolves when a log line matching `re` appears. */
  waitLog(re: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

/** `gatewarden run --config FILE`; `prefix` as in spawnCli (e.g. nsenter into another mount namespace). */
export function spawnDaemon(configFile: string, opts: { prefix?: string[] } = {}): DaemonProcess {
  const { child, all, exited } = spawnCli(['run', '--config', configFile], opts);
  return {
    child,
    out: all,
    exited,
    waitLog: async (re, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(all())) {
        if (child.exitCode !== null) throw new Error(`daemon exited (${child.exitCode}) before ${re}:\n${all().slice(-3000)}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}:\n${all().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/**
 * writeDaemonConfig + spawnDaemon, resolved once the daemon is connected to its broker; when
 * the test ends a daemon still running gets `stop` (default SIGTERM) and is awaited.
 */
export async function startDaemon(t: TestContext, dir: string, cfg: Record<string, unknown>, o: { stop?: NodeJS.Signals } = {}): Promise<{ d: DaemonProcess; config: string }> {
  const config = writeDaemonConfig(dir, cfg);
  const d = spawnDaemon(config);
  t.after(async () => {
    if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill(o.stop ?? 'SIGTERM');
    await d.exited;
  });
  await d.waitLog(/connected to MQTT broker/);
  return { d, config };
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

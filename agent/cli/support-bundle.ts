// `gatewarden support-bundle [-o FILE]`: a tar.gz for the vendor's support desk:
// diag report (JSON), the config with every secret replaced, recent logs, spool stats,
// daemon status and versions. Never private keys or passwords: the key file is never
// packed, secrets are redacted where the config schema marks them (config/secrets.ts, so
// a new secret field is covered when it is declared), and every file is scrubbed of the
// literal secret values — those of the config, the contents of secret files it names, and
// the gateway's own key files — and of PEM private-key blocks before it is packed. The
// archive is created 0600: it describes the site.
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, release, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { loadConfigFile, type LoadedConfig } from '../../config/loader.js';
import { redactConfig } from '../../config/redact.js';
import { fileSecrets, REDACTED, scrubSecrets } from '../../config/secrets.js';
import { keyFilePath } from '../chain/keys.js';
import { controlRequest, controlSocketPath } from '../control/client.js';
import { runDiag } from '../diag/run.js';
import { openSpoolReadOnly } from '../spool/readonly.js';
import { spoolPathOf } from '../spool/path.js';
import { VERSION } from '../version.js';
import { DEFAULT_CONFIG } from './run.js';

export { REDACTED };

/** Files under the state dir whose content is secret: the gateway's signing key, the keypad PIN key, installed SCBKs. */
function stateSecretFiles(stateDir: string): string[] {
  return [keyFilePath(stateDir), join(stateDir, 'osdp-pin.key'), join(stateDir, 'osdp-keys.json')];
}

function journal(lines: number): Promise<string> {
  return new Promise((resolve) => {
    execFile('journalctl', ['-u', 'gatewarden', '-n', String(lines), '--no-pager', '-o', 'short-iso'], { timeout: 15_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve(err ? `journalctl not available or failed: ${(err as Error).message.split('\n')[0]} ${stderr}`.trim() + '\n' : stdout);
    });
  });
}

export interface BundleOptions {
  configFile: string;
  out: string;
  logLines?: number;
  /** Passed through to diag (tests). */
  clockSyncFile?: string;
  /** Log text to include instead of journalctl (tests, or a daemon run by hand). */
  logFile?: string;
}

export async function writeSupportBundle(o: BundleOptions): Promise<{ file: string; entries: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bundle-'));
  const root = join(dir, 'gatewarden-support');
  execFileSync('mkdir', ['-p', root]);
  const secrets = new Set<string>();
  const put = (name: string, content: string): void => writeFileSync(join(root, name), content);
  const entries: string[] = [];
  try {
    let loaded: LoadedConfig | null = null;
    try {
      loaded = await loadConfigFile(o.configFile);
    } catch {
      loaded = null;
    }
    if (loaded) for (const f of stateSecretFiles(loaded.config.stateDir)) for (const v of fileSecrets(f)) secrets.add(v);
    try {
      const raw = parse(readFileSync(o.configFile, 'utf8')) as unknown;
      const { redacted, values } = await redactConfig(raw);
      for (const v of values) secrets.add(v);
      put('config.redacted.json', JSON.stringify(redacted, null, 2));
    } catch (e) {
      put('config.redacted.json', JSON.stringify({ error: `cannot read config: ${(e as Error).message}` }));
    }
    entries.push('config.redacted.json');

    const report = await runDiag({ configFile: o.configFile, clockSyncFile: o.clockSyncFile });
    put('diag.json', JSON.stringify(report, null, 2));
    entries.push('diag.json');

    if (loaded) {
      const sock = controlSocketPath(loaded.config);
      const status = await controlRequest(sock, 'status', 10_000).catch((e: Error) => ({ error: e.message }));
      put('status.json', JSON.stringify(status, null, 2));
      let stats: unknown;
      try {
        const ro = openSpoolReadOnly(spoolPathOf(loaded));
        try {
          stats = ro.stats();
        } finally {
          ro.close();
        }
      } catch (e) {
        stats = await controlRequest(sock, 'spool-stats', 10_000).catch(() => ({ error: (e as Error).message }));
      }
      put('spool-stats.json', JSON.stringify(stats, null, 2));
      entries.push('status.json', 'spool-stats.json');
    }
    const logs = o.logFile ? readFileSync(o.logFile, 'utf8').split('\n').slice(-(o.logLines ?? 5000)).join('\n') : await journal(o.logLines ?? 5000);
    put('logs.txt', logs);
    entries.push('logs.txt');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies?: Record<string, string> };
    put('versions.json', JSON.stringify({ gatewarden: VERSION, node: process.versions, os: { host: hostname(), release: release(), platform: process.platform, arch: process.arch }, dependencies: pkg.dependencies ?? {} }, null, 2));
    entries.push('versions.json');

    for (const e of entries) put(e, scrubSecrets(readFileSync(join(root, e), 'utf8'), secrets));
    const out = resolve(o.out);
    // Created 0600 before tar writes into it (tar truncates, keeping the mode); chmod
    // as well in case the file existed with a wider mode.
    closeSync(openSync(out, 'w', 0o600));
    chmodSync(out, 0o600);
    execFileSync('tar', ['-czf', out, '-C', dir, basename(root)]);
    return { file: out, entries };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function registerSupportBundle(program: Command): void {
  program
    .command('support-bundle')
    .description('write a tar.gz for support: diag, redacted config, recent logs, spool stats, versions (no keys, no passwords)')
    .option('-c, --config <file>', 'config file', process.env.GATEWARDEN_CONFIG ?? DEFAULT_CONFIG)
    .option('-o, --out <file>', 'output file (default gatewarden-support-<host>-<time>.tar.gz)')
    .option('--log-lines <n>', 'journal lines to include', '5000')
    .option('--log-file <file>', 'include this log file instead of the journal')
    .option('--clock-sync-file <file>', 'file that exists once NTP has synchronised', process.env.GATEWARDEN_CLOCK_SYNC_FILE)
    .action(async (o: { config: string; out?: string; logLines: string; logFile?: string; clockSyncFile?: string }) => {
      const out = o.out ?? `gatewarden-support-${hostname()}-${new Date().toISOString().replace(/[:.]/g, '-')}.tar.gz`;
      const r = await writeSupportBundle({ configFile: o.config, out, logLines: Number(o.logLines), logFile: o.logFile, clockSyncFile: o.clockSyncFile });
      console.log(`wrote ${r.file} (${r.entries.join(', ')})`);
    });
}

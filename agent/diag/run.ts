// `gatewarden diag` as a function: config → daemon (control socket) → key → clock →
// disk → spool → broker → devices. Returns a report; rendering and the exit code are
// the CLI's job (agent/cli/diag.ts). Never throws for a broken gateway: that is a row.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { openSpoolReadOnly } from '../spool/readonly.js';
import { ConfigError, loadConfigFile, type LoadedConfig } from '../../config/loader.js';
import { logSecretsOf } from '../../config/redact.js';
import { scrubSecrets } from '../../config/secrets.js';
import { controlRequest, controlSocketPath, ControlUnavailableError } from '../control/client.js';
import type { SpoolStats } from '../spool/types.js';
import { spoolPathOf } from '../spool/path.js';
import { VERSION } from '../version.js';
import { checkBroker } from './broker-checks.js';
import { checkDelivery } from './delivery.js';
import { driverChecksFromDaemon, driverChecksStandalone, type DaemonDiag } from './driver-checks.js';
import { checkClock, checkDisk, checkKey, checkSpool } from './local-checks.js';
import { checkSpoolWrite } from './spool-write.js';
import type { SpoolWriteHealth } from '../metrics.js';
import { lookupUser, selfIdentity, type Identity } from './perms.js';
import { pass, problem, summarize, type DiagCheck, type DiagReport } from './types.js';

export interface DiagOptions {
  configFile: string;
  /** Check file permissions as this user (name or uid); default: the daemon's user, else `gatewarden` when it exists, else the caller. */
  user?: string;
  /** File whose presence means "NTP synchronised" (agent/clock-sync.ts); injectable for tests. */
  clockSyncFile?: string;
  rtcDevice?: string;
  brokerTimeoutMs?: number;
  /** Progress callback (the CLI prints section names to stderr). */
  onSection?(name: string): void;
}

interface DaemonStatus {
  identity?: Identity & { pid: number };
  forwarder?: { connected: boolean; lastError: string | null; reconnects: number };
  version?: string;
  netwatch?: { baselineLearned?: boolean; blind?: boolean; detail?: string };
  /** The config file the daemon runs. */
  config?: string;
  spool?: { write?: SpoolWriteHealth };
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return a === b;
  }
}

/** Logical bytes of the spool file without the daemon (undefined when it cannot be read). */
function spoolBytesOf(path: string): number | undefined {
  try {
    const ro = openSpoolReadOnly(path);
    try {
      return ro.stats().bytes;
    } finally {
      ro.close();
    }
  } catch {
    return undefined;
  }
}

function finish(checks: DiagCheck[], daemon: DiagReport['daemon']): DiagReport {
  return { version: VERSION, host: hostname(), ts: new Date().toISOString(), daemon, checks, ...summarize(checks) };
}

function configChecks(loaded: LoadedConfig): DiagCheck[] {
  const c = loaded.config;
  const out: DiagCheck[] = [pass('config', 'config valid', `${loaded.source}: site ${c.site}, gateway ${c.gateway}, ${loaded.drivers.length} driver instance(s)`)];
  try {
    const st = statSync(loaded.source);
    if ((st.mode & 0o007) !== 0 && (c.mqtt.password !== undefined)) {
      out.push(problem('config', 'warn', 'config permissions', `${loaded.source} is world-readable (mode ${(st.mode & 0o777).toString(8)}) and holds mqtt.password`, `chmod 640 ${loaded.source} (root:gatewarden), or move the password to mqtt.passwordFile`));
    }
  } catch {
    /* read just now; a race is not worth a row */
  }
  if (c.mqtt.passwordFile) {
    try {
      readFileSync(c.mqtt.passwordFile, 'utf8');
      out.push(pass('config', 'password file', `${c.mqtt.passwordFile} readable`));
    } catch (e) {
      out.push(problem('config', 'fail', 'password file', `${c.mqtt.passwordFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, `create ${c.mqtt.passwordFile} (mode 0640, group gatewarden) or fix mqtt.passwordFile`));
    }
  }
  return out;
}

function password(c: LoadedConfig['config']): string | undefined {
  if (!c.mqtt.passwordFile) return c.mqtt.password;
  try {
    return readFileSync(c.mqtt.passwordFile, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** netwatch's diagnose() in this process, unstarted (it reads /proc now; nothing is emitted or saved). */
async function netwatchChecksStandalone(c: LoadedConfig['config']): Promise<DiagCheck[]> {
  const [{ Netwatch }, { default: pino }, { systemClock }] = await Promise.all([import('../anomaly/netwatch.js'), import('pino'), import('../clock.js')]);
  try {
    const nw = new Netwatch({ config: c.netwatch, stateDir: c.stateDir, emit: () => undefined, log: pino({ level: 'silent' }), clock: systemClock });
    return (await nw.diagnose()).map((r) => ({ ...r, section: 'netwatch' as const, instance: 'netwatch', check: `netwatch: ${r.check}` }));
  } catch (e) {
    return [problem('netwatch', 'fail', 'netwatch: diagnose', (e as Error).message, 'see docs/netwatch.md')];
  }
}

export async function runDiag(o: DiagOptions): Promise<DiagReport> {
  const section = o.onSection ?? (() => undefined);
  section('config');
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfigFile(o.configFile);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const checks = e.problems.map((p) => problem('config', 'fail', 'config valid', `${e.source}: ${p}`, `fix this key in ${e.source}, then: gatewarden config check ${e.source}`));
    return finish(checks.length ? checks : [problem('config', 'fail', 'config valid', e.message, 'gatewarden config check FILE lists the problems')], 'not running');
  }
  const c = loaded.config;
  const checks = configChecks(loaded);

  section('daemon');
  const sock = controlSocketPath(c);
  let daemonDiag: DaemonDiag | null = null;
  let status: DaemonStatus | null = null;
  try {
    status = await controlRequest<DaemonStatus>(sock, 'status', 10_000);
    daemonDiag = await controlRequest<DaemonDiag>(sock, 'diag', 60_000);
    checks.push(pass('daemon', 'daemon running', `pid ${status.identity?.pid ?? '?'}, version ${status.version ?? '?'}, control socket ${sock}`));
    // A diag of another file beside the running daemon checks a broker and devices the daemon does not use.
    if (status.config && !sameFile(status.config, loaded.source)) {
      checks.push(problem('daemon', 'warn', 'daemon runs this config', `the daemon on ${sock} runs ${status.config}; this diag checks ${loaded.source}: the broker and device checks below are of this file, the daemon's view is of the other`, `gatewarden diag --config ${status.config} checks what runs; or apply this file: install it as ${status.config}, then gatewarden reload`));
    }
    const f = status.forwarder;
    if (f) {
      checks.push(f.connected
        ? pass('daemon', 'daemon connected to broker', `${f.reconnects} reconnect(s) since start`)
        : problem('daemon', 'fail', 'daemon connected to broker', `not connected${f.lastError ? `: ${f.lastError}` : ''}`, 'see the broker checks below for the broken layer'));
    }
  } catch (e) {
    if (!(e instanceof ControlUnavailableError)) checks.push(problem('daemon', 'fail', 'daemon running', (e as Error).message, 'check the control socket permissions, or restart: systemctl restart gatewarden'));
    else checks.push(problem('daemon', 'warn', 'daemon running', (e as Error).message, 'start it: systemctl start gatewarden (journalctl -u gatewarden says why it stopped)'));
  }

  const who: Identity =
    (o.user ? lookupUser(o.user) : null) ??
    daemonDiag?.identity ??
    ((process.getuid?.() === 0 ? lookupUser('gatewarden') : null) ?? selfIdentity());
  if (o.user && !lookupUser(o.user)) checks.push(problem('config', 'warn', 'service user', `user ${o.user} not found`, 'create it: scripts/install.sh creates gatewarden, or pass --user with an existing user'));

  section('key');
  checks.push(...checkKey(c.stateDir, who));
  section('clock');
  checks.push(...(await checkClock({ syncFile: o.clockSyncFile, rtcDevice: o.rtcDevice })));

  section('spool');
  let stats: SpoolStats | undefined;
  if (daemonDiag) stats = await controlRequest<SpoolStats>(sock, 'spool-stats', 10_000).catch(() => undefined);
  const spoolDir = dirname(spoolPathOf(loaded));
  checks.push(...checkDisk({ dir: spoolDir, quotaBytes: c.spool.quotaBytes, reserveBytes: c.spool.reserveBytes, spoolBytes: stats?.bytes ?? spoolBytesOf(spoolPathOf(loaded)) }));
  checks.push(...checkSpoolWrite(status?.spool?.write, spoolDir));
  checks.push(...checkSpool({ path: spoolPathOf(loaded), who, stats }));

  section('broker');
  checks.push(...checkDelivery(c.mqtt));
  checks.push(...(await checkBroker({ config: c, password: password(c), timeoutMs: o.brokerTimeoutMs })));

  section('devices');
  checks.push(...(daemonDiag ? await driverChecksFromDaemon(daemonDiag, loaded.drivers, loaded.config.stateDir) : await driverChecksStandalone(loaded.drivers, loaded.config.stateDir)));

  // netwatch (agent/anomaly): its own checks come with the daemon's `diag` answer (above,
  // section netwatch); without a daemon they run here, in this process's /proc view.
  if (!daemonDiag && c.netwatch.enabled) {
    section('netwatch');
    checks.push(...(await netwatchChecksStandalone(c)));
  }
  const nw = status?.netwatch;
  if (nw) {
    checks.push(nw.blind
      ? problem('netwatch', 'fail', 'LAN baseline learned', nw.detail ?? 'netwatch sees no interface', 'give the service /proc/net: remove ProcSubset=pid from the unit (systemctl edit gatewarden: [Service] ProcSubset=all), then systemctl restart gatewarden')
      : nw.baselineLearned
        ? pass('netwatch', 'LAN baseline learned', nw.detail ?? 'baseline complete')
        : problem('netwatch', 'warn', 'LAN baseline learned', nw.detail ?? 'still learning the LAN baseline', 'wait for the learning window to end; new-device alarms are held until then'));
  }
  // A check's detail may quote a URL, an error from a device or broker: none may carry a
  // secret of the config out to the terminal or a support bundle.
  const { secrets } = await logSecretsOf(loaded);
  return JSON.parse(scrubSecrets(JSON.stringify(finish(checks, daemonDiag ? 'running' : 'not running')), secrets)) as DiagReport;
}

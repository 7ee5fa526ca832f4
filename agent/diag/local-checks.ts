// Host-side checks of `gatewarden diag` that need no peer: signing key, clock, disk and
// spool. Each returns DiagChecks; none throws for an expected failure.
import { existsSync, readFileSync, statSync, statfsSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { keyFilePath } from '../chain/keys.js';
import { detectClockSync, type ClockSyncSources } from '../clock-sync.js';
import type { SpoolStats } from '../spool/types.js';
import { openSpoolReadOnly } from '../spool/readonly.js';
import { MIN_MARGIN_BYTES } from '../spool/space.js';
import { canAccess, describeIdentity, type Identity } from './perms.js';
import { pass, problem, type DiagCheck } from './types.js';

const MiB = 1024 * 1024;

export function checkKey(stateDir: string, who: Identity): DiagCheck[] {
  const file = keyFilePath(stateDir);
  let st;
  try {
    st = statSync(file);
  } catch {
    return [problem('key', 'fail', 'signing key present', `${file} does not exist`, 'create it: gatewarden init (or start the daemon once)')];
  }
  const out: DiagCheck[] = [];
  const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
  if ((st.mode & 0o077) !== 0) {
    out.push(problem('key', 'fail', 'key permissions', `${file} is mode ${mode}: readable by group/others; the daemon refuses to start`, `chmod 600 ${file}; if it may have been copied, rotate the key`));
  } else if (!canAccess(st, who, ['r'])) {
    out.push(problem('key', 'fail', 'key permissions', `${file} (mode ${mode}, uid ${st.uid}) is not readable by ${describeIdentity(who)}`, `chown ${who.name ?? who.uid} ${file}`));
  } else {
    out.push(pass('key', 'key permissions', `${file} mode ${mode}`));
  }
  try {
    const k = createPrivateKey(readFileSync(file, 'utf8'));
    out.push(k.asymmetricKeyType === 'ed25519'
      ? pass('key', 'key readable', 'ed25519 private key')
      : problem('key', 'fail', 'key readable', `${k.asymmetricKeyType} key, expected ed25519`, `move ${file} aside and run gatewarden init`));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES') out.push(problem('key', 'skip', 'key readable', 'diag cannot read the key as this user', 'run diag as root or the gatewarden user'));
    else out.push(problem('key', 'fail', 'key readable', `cannot parse: ${(e as Error).message}`, `move ${file} aside and run gatewarden init (new identity: re-enrol)`));
  }
  return out;
}

/**
 * Clock: the same sources the daemon's ts.sync asks (agent/clock-sync.ts): chrony,
 * systemd-timesyncd, the kernel's NTP flag, ntpd; then the RTC.
 */
export async function checkClock(o: ClockSyncSources = {}): Promise<DiagCheck[]> {
  const d = await detectClockSync({ chronySocket: process.env.GATEWARDEN_CHRONY_SOCKET || undefined, ...o });
  const off = d.offsetSeconds === null ? 'offset not reported' : `offset ${(d.offsetSeconds * 1000).toFixed(1)} ms`;
  const now = new Date().toISOString();
  if (d.sync === 'ntp') {
    if (d.offsetSeconds !== null && Math.abs(d.offsetSeconds) > 1) {
      return [problem('clock', 'warn', 'clock synced', `NTP synchronised (${d.detail}) but ${off}`, d.via === 'chrony' ? 'check the NTP server and network latency (chronyc sources -v)' : 'check the NTP server and network latency (timedatectl timesync-status)')];
    }
    return [pass('clock', 'clock synced', `NTP synchronised (${d.detail}), ${off}; now ${now}`)];
  }
  const fix = d.detail.startsWith('chrony:')
    ? 'chronyd runs but has no usable source: chronyc sources -v shows why; allow UDP 123 to the NTP servers in /etc/chrony/chrony.conf'
    : d.detail.startsWith('ntpd:')
      ? 'ntpd runs but is not synchronised: ntpq -p shows its peers; allow UDP 123 to them'
      : 'enable NTP: timedatectl set-ntp true (or install chrony), and allow UDP 123 to the NTP server';
  if (d.sync === 'rtc') return [problem('clock', 'warn', 'clock synced', `not NTP-synchronised (${d.detail}); running on the hardware RTC; now ${now}`, fix)];
  return [problem('clock', 'fail', 'clock synced', `not synchronised (${d.detail}): event times may be wrong (ts.sync "none"); now ${now}`, fix)];
}

function nearestExisting(p: string): string {
  let d = p;
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  return d;
}

export interface DiskCheckOptions {
  /** Directory of the spool file (the state directory by default). */
  dir: string;
  /** spool.quotaBytes and spool.reserveBytes as configured. */
  quotaBytes: number;
  reserveBytes: number;
  /** Logical bytes the spool holds now (running daemon or the file), when known. */
  spoolBytes?: number;
  statfs?: (dir: string) => { bavail: number; bsize: number; blocks: number };
}

/**
 * The spool's filesystem against its quota: warn when spool.quotaBytes exceeds the free
 * space (what the spool holds already counts as its own), fail when less than the margin
 * the spool keeps free is left (agent/spool/space.ts). The daemon applies the smaller
 * effective quota either way; the warning says the configured one cannot be reached.
 */
export function checkDisk(o: DiskCheckOptions): DiagCheck[] {
  const at = nearestExisting(o.dir);
  const s = (o.statfs ?? statfsSync)(at);
  const free = s.bavail * s.bsize;
  const total = s.blocks * s.bsize;
  const held = o.spoolBytes ?? 0;
  const margin = Math.max(MIN_MARGIN_BYTES, o.reserveBytes);
  const mib = (n: number): string => `${(n / MiB).toFixed(n < 10 * MiB ? 1 : 0)} MiB`;
  const detail = `${mib(free)} free of ${mib(total)} at ${at}; spool.quotaBytes ${mib(o.quotaBytes)}${o.spoolBytes !== undefined ? `, the spool holds ${mib(held)}` : ''}`;
  if (free < margin) {
    return [problem('disk', 'fail', 'disk space', `${detail}: less than the ${mib(margin)} the spool keeps free; appends fail or evict`, `free space on this filesystem now (df -h ${at}; journalctl --vacuum-size=50M, old spool.db.corrupt-* files)`)];
  }
  if (o.quotaBytes - held > free) {
    const fits = Math.max(0, free + held - margin);
    return [problem('disk', 'warn', 'disk space', `${detail}: spool.quotaBytes exceeds the free space; the daemon evicts early at about ${mib(fits)} (effective quota)`,
      `lower spool.quotaBytes to at most ${mib(fits)}, or free space on this filesystem (df -h ${at}), or put the state directory on a larger one`)];
  }
  return [pass('disk', 'disk space', detail)];
}

export interface SpoolCheckOptions {
  path: string;
  who: Identity;
  /** Stats from the running daemon (control socket); read from the file otherwise. */
  stats?: SpoolStats;
  /** Oldest unsent age that earns a warning; default 15 min. */
  staleMs?: number;
}

export function checkSpool(o: SpoolCheckOptions): DiagCheck[] {
  const out: DiagCheck[] = [];
  const { path, who } = o;
  const dir = dirname(path);
  if (!existsSync(path)) {
    out.push(problem('spool', 'warn', 'spool file', `${path} does not exist yet`, 'start the daemon once (systemctl start gatewarden); it creates the spool'));
  }
  // SQLite in WAL mode writes the file and creates -wal/-shm beside it: both need write access.
  const targets = existsSync(path) ? [path, dir] : [nearestExisting(dir)];
  const denied = targets.filter((t) => !canAccess(statSync(t), who, statSync(t).isDirectory() ? ['w', 'x'] : ['r', 'w']));
  if (denied.length > 0) {
    const st = statSync(denied[0]);
    out.push(problem('spool', 'fail', 'spool writable', `${denied.join(', ')} not writable by ${describeIdentity(who)} (mode ${(st.mode & 0o777).toString(8)}, uid ${st.uid})`,
      `chown -R ${who.name ?? who.uid} ${dir} && chmod u+rw ${path}, then restart the daemon`));
  } else if (existsSync(path)) {
    out.push(pass('spool', 'spool writable', `writable by ${describeIdentity(who)}`));
  }
  if (!existsSync(path)) return out;
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true, timeout: 5000 });
    try {
      const r = db.pragma('quick_check', { simple: true }) as string;
      out.push(r === 'ok' ? pass('spool', 'spool integrity', 'quick_check ok') : problem('spool', 'fail', 'spool integrity', `quick_check: ${r}`, 'restart the daemon: it moves a corrupt spool aside and starts a new epoch'));
    } finally {
      db.close();
    }
  } catch (e) {
    out.push(problem('spool', 'warn', 'spool integrity', `cannot open read-only: ${(e as Error).message}`, 'run diag as root or the gatewarden user'));
    if (!o.stats) return out;
  }
  let s = o.stats;
  if (!s) {
    try {
      const ro = openSpoolReadOnly(path);
      try {
        s = ro.stats();
      } finally {
        ro.close();
      }
    } catch (e) {
      out.push(problem('spool', 'fail', 'spool readable', (e as Error).message, 'restart the daemon: it checks and repairs the spool at start-up'));
      return out;
    }
  }
  const age = s.oldestUnsentAgeMs;
  const depth = `${s.depth} events, ${s.unsent} unsent, ${(s.bytes / MiB).toFixed(1)} of ${(s.quotaBytes / MiB).toFixed(0)} MiB`;
  if (age !== null && age > (o.staleMs ?? 15 * 60_000)) {
    out.push(problem('spool', 'warn', 'spool backlog', `${depth}; oldest unsent ${(age / 60_000).toFixed(1)} min old`, 'forwarding is stalled: see the broker checks below'));
  } else {
    out.push(pass('spool', 'spool backlog', `${depth}; oldest unsent ${age === null ? '-' : `${(age / 1000).toFixed(1)} s`}`));
  }
  out.push(s.droppedEvents > 0
    ? problem('spool', 'warn', 'spool drops', `${s.droppedEvents} events dropped under quota (announced by system.spool.overflow)`, 'raise spool.quotaBytes or restore the uplink sooner')
    : pass('spool', 'spool drops', 'none'));
  return out;
}

// ts.sync of every event and diag's clock check: is the wall clock trustworthy?
// Asked of whichever time daemon the gateway runs, first answer wins:
//   chrony     `chronyc -n -c tracking`: leap status Normal = synchronised (offset = system time)
//   timesyncd  /run/systemd/timesync/synchronized exists (created once it synchronised)
//   kernel     `timedatectl show -p NTPSynchronized --value` = yes (any NTP daemon that
//              disciplines the kernel clock: timesyncd, chrony, ntpd)
//   ntpd       `ntpq -c "rv 0 leap,offset"`: leap 00/01/10 = synchronised (11 = not)
// With no NTP but a hardware RTC the clock survived power loss ('rtc'); otherwise it may
// be 1970 ('none'). The daemon's stamp must stay synchronous: the probe answers from its
// last result and refreshes in the background (a child process per source, 2 s timeout).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { ClockSync } from './events/types.js';

export type ClockSyncVia = 'chrony' | 'timesyncd' | 'kernel' | 'ntpd' | 'rtc' | null;

export interface ClockSyncDetail {
  sync: ClockSync;
  /** Which source decided: the NTP daemon that answered, the RTC, or nothing. */
  via: ClockSyncVia;
  /** Local clock minus NTP time in seconds (positive = fast), when the source reports it. */
  offsetSeconds: number | null;
  /** One line for people: what was asked and what it said. */
  detail: string;
  checkedAt: string;
}

export interface ClockSyncSources {
  /** Exists once systemd-timesyncd synchronised. */
  syncFile?: string;
  rtcDevice?: string;
  /** chronyd's command socket (`chronyc -h PATH`); default: chronyc's own default. */
  chronySocket?: string;
  /** Program names; tests point them elsewhere, `false` skips a source. */
  chronyc?: string | false;
  timedatectl?: string | false;
  ntpq?: string | false;
  timeoutMs?: number;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout) => resolve(err ? null : stdout));
  });
}

/** `chronyc -c tracking`: 14 CSV fields; [4] system time offset (s, positive = fast), [13] leap status. */
export function parseChronyTracking(csv: string): { synced: boolean; offsetSeconds: number | null; leap: string; stratum: number } | null {
  const f = csv.trim().split('\n')[0]?.split(',') ?? [];
  if (f.length < 14) return null;
  const leap = f[13]!.trim();
  const off = Number(f[4]);
  return { synced: leap === 'Normal' || leap === 'Insert second' || leap === 'Delete second', offsetSeconds: Number.isFinite(off) ? off : null, leap, stratum: Number(f[2]) };
}

/** `ntpq -c "rv 0 leap,offset"`: `leap=00, offset=-0.123` (offset in ms). */
export function parseNtpqLeap(out: string): { synced: boolean; offsetSeconds: number | null; leap: string } | null {
  const leap = /leap=(\d\d)/.exec(out)?.[1];
  if (!leap) return null;
  const off = /offset=([+-]?[\d.]+)/.exec(out)?.[1];
  return { synced: leap !== '11', offsetSeconds: off === undefined ? null : Number(off) / 1000, leap };
}

/** timesyncd's offset (`timedatectl timesync-status`), when it answers. */
async function timesyncdOffset(cmd: string, timeoutMs: number): Promise<number | null> {
  const out = await run(cmd, ['timesync-status'], timeoutMs);
  const m = out ? /Offset:\s*([+-]?[\d.]+)(us|ms|s)/.exec(out) : null;
  return m ? Number(m[1]) * (m[2] === 'us' ? 1e-6 : m[2] === 'ms' ? 1e-3 : 1) : null;
}

export async function detectClockSync(o: ClockSyncSources = {}): Promise<ClockSyncDetail> {
  const t = o.timeoutMs ?? 2000;
  const checkedAt = new Date().toISOString();
  const done = (sync: ClockSync, via: ClockSyncVia, offsetSeconds: number | null, detail: string): ClockSyncDetail => ({ sync, via, offsetSeconds, detail, checkedAt });
  const syncFile = o.syncFile ?? '/run/systemd/timesync/synchronized';
  const rtc = o.rtcDevice ?? '/dev/rtc0';
  const fallback = (why: string): ClockSyncDetail =>
    existsSync(rtc) ? done('rtc', 'rtc', null, `${why}; hardware RTC ${rtc} present`) : done('none', null, null, `${why}; no hardware RTC (${rtc})`);

  if (o.chronyc !== false) {
    const out = await run(o.chronyc ?? 'chronyc', [...(o.chronySocket ? ['-h', o.chronySocket] : []), '-n', '-c', 'tracking'], t);
    const c = out ? parseChronyTracking(out) : null;
    if (c?.synced) return done('ntp', 'chrony', c.offsetSeconds, `chrony: leap status ${c.leap}, stratum ${c.stratum}`);
    // chronyd runs but is not synchronised: it is the time daemon here, nothing else will say yes.
    if (c) return fallback(`chrony: leap status ${c.leap} (not synchronised)`);
  }
  if (existsSync(syncFile)) {
    const off = o.timedatectl === false ? null : await timesyncdOffset(o.timedatectl ?? 'timedatectl', t);
    return done('ntp', 'timesyncd', off, `systemd-timesyncd: ${syncFile} exists`);
  }
  if (o.timedatectl !== false) {
    const out = await run(o.timedatectl ?? 'timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], t);
    if (out?.trim() === 'yes') return done('ntp', 'kernel', await timesyncdOffset(o.timedatectl ?? 'timedatectl', t), 'timedatectl: NTPSynchronized=yes');
  }
  if (o.ntpq !== false) {
    const out = await run(o.ntpq ?? 'ntpq', ['-c', 'rv 0 leap,offset'], t);
    const n = out ? parseNtpqLeap(out) : null;
    if (n?.synced) return done('ntp', 'ntpd', n.offsetSeconds, `ntpd: leap ${n.leap}`);
    if (n) return fallback(`ntpd: leap ${n.leap} (not synchronised)`);
  }
  return fallback('no NTP daemon reports synchronisation (asked chrony, systemd-timesyncd, ntpd)');
}

export interface ClockSyncProbe {
  (): ClockSync;
  /** The last full result (source, offset); the first one is the quick file check. */
  detail(): ClockSyncDetail;
  /** Ask the sources again now; resolves with the new result. */
  refresh(): Promise<ClockSyncDetail>;
  stop(): void;
}

/**
 * The daemon's synchronous answer for ts.sync. It starts from what the files say (the
 * timesyncd stamp, the RTC) and asks the NTP daemons in the background at once and every
 * `refreshMs`; a slow or missing daemon never delays an event.
 */
export function createClockSyncProbe(opts: ClockSyncSources & { refreshMs?: number } = {}): ClockSyncProbe {
  const o: ClockSyncSources = { chronySocket: process.env.GATEWARDEN_CHRONY_SOCKET || undefined, ...opts };
  const syncFile = o.syncFile ?? '/run/systemd/timesync/synchronized';
  const rtc = o.rtcDevice ?? '/dev/rtc0';
  const quick = existsSync(syncFile) ? 'ntp' : existsSync(rtc) ? 'rtc' : 'none';
  let last: ClockSyncDetail = { sync: quick, via: quick === 'ntp' ? 'timesyncd' : quick === 'rtc' ? 'rtc' : null, offsetSeconds: null, detail: 'first look (files only)', checkedAt: new Date().toISOString() };
  let running: Promise<ClockSyncDetail> | null = null;
  const refresh = (): Promise<ClockSyncDetail> => {
    running ??= detectClockSync(o)
      .then((d) => (last = d))
      .catch(() => last)
      .finally(() => (running = null));
    return running;
  };
  void refresh();
  const t = setInterval(() => void refresh(), opts.refreshMs ?? 60_000);
  t.unref();
  const probe = (() => last.sync) as ClockSyncProbe;
  probe.detail = () => last;
  probe.refresh = refresh;
  probe.stop = () => clearInterval(t);
  return probe;
}

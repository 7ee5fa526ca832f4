// ts.sync of every event: is the wall clock trustworthy? systemd-timesyncd creates
// /run/systemd/timesync/synchronized once NTP has synchronised; chrony users get the same
// from `chronyc waitsync` hooks or by pointing `syncFile` elsewhere. With no NTP but a
// hardware RTC the clock survived power loss ('rtc'); otherwise it may be 1970 ('none').
import { existsSync } from 'node:fs';
import type { ClockSync } from './events/types.js';

export interface ClockSyncProbe {
  (): ClockSync;
  refresh(): void;
}

export function createClockSyncProbe(opts: { syncFile?: string; rtcDevice?: string; refreshMs?: number } = {}): ClockSyncProbe {
  const syncFile = opts.syncFile ?? '/run/systemd/timesync/synchronized';
  const rtc = opts.rtcDevice ?? '/dev/rtc0';
  let value: ClockSync = 'none';
  const refresh = (): void => {
    value = existsSync(syncFile) ? 'ntp' : existsSync(rtc) ? 'rtc' : 'none';
  };
  refresh();
  const t = setInterval(refresh, opts.refreshMs ?? 60_000);
  t.unref();
  const probe = (() => value) as ClockSyncProbe;
  probe.refresh = refresh;
  return probe;
}

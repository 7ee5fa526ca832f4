// Weekly schedules in one IANA time zone (`access.timezone`). A window is local wall-clock
// time: `07:00`–`19:00` stays 07:00–19:00 across daylight-saving changes. A window whose
// `to` is not after `from` runs over midnight into the next day (22:00–06:00).
import { z } from 'zod';

export const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'expected HH:MM (00:00–24:00)');

export const windowSchema = z.strictObject({
  days: z.array(z.enum(DAYS)).min(1),
  from: hhmm,
  to: hhmm,
});
export const scheduleSchema = z.array(windowSchema).max(64);
export type Schedule = z.infer<typeof scheduleSchema>;

const minutes = (s: string): number => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));

/** Local day of week (0 = Sunday) and minute of day of `at` in `timeZone`. */
export class LocalTime {
  private readonly fmt: Intl.DateTimeFormat;
  constructor(readonly timeZone: string) {
    this.fmt = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  }

  at(ms: number): { day: number; minute: number } {
    let wd = 'Sun';
    let h = 0;
    let m = 0;
    for (const p of this.fmt.formatToParts(ms)) {
      if (p.type === 'weekday') wd = p.value;
      else if (p.type === 'hour') h = Number(p.value);
      else if (p.type === 'minute') m = Number(p.value);
    }
    return { day: DAYS.indexOf(wd.toLowerCase() as (typeof DAYS)[number]), minute: h * 60 + m };
  }
}

/** Whether local time `t` falls in any window of `s`. */
export function inSchedule(s: Schedule, t: { day: number; minute: number }): boolean {
  const today = DAYS[t.day];
  const yesterday = DAYS[(t.day + 6) % 7];
  for (const w of s) {
    const from = minutes(w.from);
    const to = minutes(w.to);
    if (from < to) {
      if (w.days.includes(today) && t.minute >= from && t.minute < to) return true;
    } else {
      // Over midnight: the evening part today, the morning part belongs to yesterday's window.
      if (w.days.includes(today) && t.minute >= from) return true;
      if (w.days.includes(yesterday) && t.minute < to) return true;
    }
  }
  return false;
}

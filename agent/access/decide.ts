// The decision for one card read, as a pure function of what is known at that moment
// (docs/access.md "The decision"). Order: lockdown → lookup → validity window → door
// permission → schedule → zero-trust rules (reader not secure, tamper, network incident)
// → PIN. A rule set to `alarm` grants and adds the rule to `alarms`.
import type { AccessDoor, DoorRules } from './config.js';
import type { Policy } from './credentials.js';
import { inSchedule } from './schedule.js';
import type { StoredCredential } from './store.js';

export const DENY_REASONS = [
  'unknown',
  'expired',
  'not-yet-valid',
  'not-permitted',
  'outside-schedule',
  'pin-missing',
  'pin-wrong',
  'reader-not-secure',
  'lockdown',
  'tamper-recent',
  'network-incident',
] as const;
export type DenyReason = (typeof DENY_REASONS)[number];
export type AlarmReason = 'reader-not-secure' | 'tamper-recent' | 'network-incident';

export interface DecisionInput {
  now: number;
  local: { day: number; minute: number };
  door: AccessDoor;
  rules: DoorRules;
  cred: StoredCredential | null;
  policy: Policy;
  /** The read came over OSDP Secure Channel. */
  secure: boolean;
  /** Wall ms of the reader's last tamper report, if any. */
  tamperAt: number | null;
  incidentOpen: boolean;
  lockdown: boolean;
  emergencyGroup: string;
}

export type Verdict =
  | { granted: true; alarms: AlarmReason[]; needPin: boolean; groups: string[] }
  | { granted: false; reason: DenyReason };

export function decide(i: DecisionInput): Verdict {
  if (i.lockdown) return { granted: false, reason: 'lockdown' };
  const c = i.cred;
  if (!c) return { granted: false, reason: 'unknown' };
  if (c.validTo !== null && i.now >= c.validTo) return { granted: false, reason: 'expired' };
  if (c.validFrom !== null && i.now < c.validFrom) return { granted: false, reason: 'not-yet-valid' };
  const doorNames = new Set([i.door.id, ...i.door.groups]);
  const permitting = c.groups.filter((g) => i.policy.groups[g]?.doors.some((d) => doorNames.has(d)));
  if (permitting.length === 0) return { granted: false, reason: 'not-permitted' };
  const now = permitting.filter((g) => {
    const s = i.policy.groups[g].schedule;
    return s === undefined || inSchedule(i.policy.schedules[s] ?? [], i.local);
  });
  if (now.length === 0) return { granted: false, reason: 'outside-schedule' };
  const alarms: AlarmReason[] = [];
  const r = i.rules;
  if (!i.secure && r.nonSecureRead !== 'allow') {
    if (r.nonSecureRead === 'deny') return { granted: false, reason: 'reader-not-secure' };
    alarms.push('reader-not-secure');
  }
  if (i.tamperAt !== null && i.now - i.tamperAt < r.tamperMinutes * 60_000 && r.tamperRecent !== 'allow') {
    if (r.tamperRecent === 'deny') return { granted: false, reason: 'tamper-recent' };
    alarms.push('tamper-recent');
  }
  if (i.incidentOpen && r.networkIncident !== 'ignore') {
    if (r.networkIncident === 'deny-except-emergency') {
      if (!c.groups.includes(i.emergencyGroup)) return { granted: false, reason: 'network-incident' };
    } else alarms.push('network-incident');
  }
  return { granted: true, alarms, needPin: c.pin !== null, groups: now };
}

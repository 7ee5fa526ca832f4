// ONVIF notification → gatewarden observation (docs/contracts.md §Event, family `video.*`). A table of
// topic rules (ONVIF Core Annex / Event §9.10 topic set, as real cameras use them) with the
// vendor field-name variants each needs. Property events (PropertyOperation Initialized /
// Changed / Deleted, Event §9.4.3) are turned into edges: the normaliser keeps the last
// state per (rule, source) and emits only on change, so a re-subscription's "Initialized"
// snapshot does not repeat an edge already reported. Unknown topics are never dropped:
// they become `video.event.other` with the raw topic and items.
import type { JsonObject, Severity } from '../../agent/events/types.js';
import type { NotificationMessage } from './client.js';

export type EdgeKind = 'motion' | 'tamper' | 'signal' | 'input';

interface Rule {
  kind: EdgeKind;
  match: RegExp;
  /** Data item names carrying the boolean, first present wins (vendors differ). */
  fields: string[];
}

export const RULES: readonly Rule[] = [
  { kind: 'motion', match: /^VideoSource\/MotionAlarm$/, fields: ['State', 'IsMotion', 'Motion'] },
  { kind: 'motion', match: /^RuleEngine\/CellMotionDetector\/Motion$/, fields: ['IsMotion', 'State', 'Motion'] },
  { kind: 'motion', match: /^RuleEngine\/MotionRegionDetector\/Motion$/, fields: ['State', 'IsMotion'] },
  { kind: 'tamper', match: /^VideoSource\/GlobalSceneChange\/[^/]+$/, fields: ['State', 'IsTamper', 'Value'] },
  { kind: 'tamper', match: /^VideoSource\/ImageToo(Blurry|Dark|Bright)\/[^/]+$/, fields: ['State', 'Value'] },
  { kind: 'tamper', match: /^RuleEngine\/TamperDetector\/Tamper$/, fields: ['IsTamper', 'State'] },
  { kind: 'signal', match: /^VideoSource\/SignalLoss$/, fields: ['State', 'Value'] },
  { kind: 'input', match: /^Device\/Trigger\/DigitalInput$/, fields: ['LogicalState', 'State', 'Level', 'Value'] },
];

/** Event type for [state true, state false]. Tamper uses detected/cleared (a condition, not an act). */
const TYPES: Record<EdgeKind, [string, string]> = {
  motion: ['video.motion.start', 'video.motion.end'],
  tamper: ['video.tamper.detected', 'video.tamper.cleared'],
  signal: ['video.signal.lost', 'video.signal.restored'],
  input: ['video.input.active', 'video.input.inactive'],
};
const SEVERITY: Record<EdgeKind, [Severity, Severity]> = {
  motion: ['notice', 'info'],
  tamper: ['alarm', 'notice'],
  signal: ['alarm', 'notice'],
  input: ['notice', 'info'],
};

/** Vendor spellings of a boolean: true/false, 1/0, active/inactive, high/low, on/off. */
export function parseBool(v: string | undefined): boolean | null {
  if (v === undefined) return null;
  const s = v.trim().toLowerCase();
  if (['true', '1', 'active', 'high', 'on', 'yes', 'closed'].includes(s)) return true;
  if (['false', '0', 'inactive', 'low', 'off', 'no', 'open'].includes(s)) return false;
  return null;
}

export interface Normalised {
  type: string;
  severity: Severity;
  kind: EdgeKind | 'other';
  data: JsonObject;
  /** Camera's UtcTime as sent (ISO), when present and parseable. */
  cameraTime: Date | null;
}

export class EventNormaliser {
  private readonly last = new Map<string, boolean>();

  /** Returns the observation to emit, or null when the message repeats a known state. */
  normalise(m: NotificationMessage): Normalised | null {
    const t = m.utcTime ? Date.parse(m.utcTime) : NaN;
    const cameraTime = Number.isFinite(t) ? new Date(t) : null;
    const base: JsonObject = {
      topic: m.topic,
      source: m.source,
      ...(Object.keys(m.key).length ? { key: m.key } : {}),
      ...(m.utcTime ? { cameraUtcTime: m.utcTime } : {}),
      ...(m.operation ? { operation: m.operation } : {}),
    };
    const rule = m.onvifPath ? RULES.find((r) => r.match.test(m.onvifPath)) : undefined;
    const field = rule?.fields.find((f) => f in m.data);
    const state = field ? parseBool(m.data[field]) : null;
    if (!rule || state === null) {
      return { type: 'video.event.other', severity: 'info', kind: 'other', data: { ...base, data: m.data }, cameraTime };
    }
    if (m.operation === 'Deleted') return null;
    const id = `${rule.kind}|${m.onvifPath}|${JSON.stringify(Object.entries(m.source).sort())}`;
    const prev = this.last.get(id);
    this.last.set(id, state);
    if (prev === state) return null;
    // An Initialized "false" with no history is the idle baseline, not an "end" edge.
    if (prev === undefined && !state && m.operation === 'Initialized') return null;
    return {
      type: TYPES[rule.kind][state ? 0 : 1],
      severity: SEVERITY[rule.kind][state ? 0 : 1],
      kind: rule.kind,
      data: { ...base, state, field: field!, ...(sourceName(m) ? { input: sourceName(m)! } : {}) },
      cameraTime,
    };
  }

  /** Forget states (after a camera restart its Initialized snapshot is the truth again). */
  reset(): void {
    this.last.clear();
  }
}

function sourceName(m: NotificationMessage): string | null {
  return m.source.InputToken ?? m.source.VideoSourceConfigurationToken ?? m.source.VideoSourceToken ?? m.source.Source ?? null;
}

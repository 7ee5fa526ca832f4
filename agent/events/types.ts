// The event contract v1 (docs/contracts.md §Event). This file is the single TypeScript statement of
// the signed body; docs/events.schema.json is its JSON Schema twin and the two must
// change together.

export const EVENT_VERSION = 1 as const;

export const SEVERITIES = ['debug', 'info', 'notice', 'warning', 'alarm', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Numeric rank of a severity: debug 0 … critical 5. Used by the spool's eviction order. */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export type ClockSync = 'ntp' | 'rtc' | 'none';

export interface EventTimestamp {
  /** RFC 3339 UTC with milliseconds. */
  wall: string;
  /** Milliseconds since boot (CLOCK_MONOTONIC); survives wall-clock jumps. */
  mono: number;
  /** Kernel boot id; `mono` is only comparable within one boot. */
  boot: string;
  sync: ClockSync;
}

export interface EventSource {
  driver: string;
  device: string;
  [key: string]: string | number | boolean;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** The signed body. Every field is covered by the signature and by the next body's `prev`. */
export interface EventBody {
  v: typeof EVENT_VERSION;
  id: string;
  site: string;
  gw: string;
  kid: string;
  epoch: string;
  seq: number;
  prev: string;
  ts: EventTimestamp;
  type: string;
  severity: Severity;
  src: EventSource;
  data: JsonObject;
}

/** What travels on `evt/{family}`: `{"body": {...}, "sig": "<base64url Ed25519>"}`. */
export interface SignedEvent {
  body: EventBody;
  sig: string;
}

/**
 * What a driver (or the agent itself) hands to the pipeline. Everything the chain adds
 * (ids, seq, prev, epoch, kid, timestamps) is absent: drivers cannot forge chain fields.
 */
export interface Observation {
  /** family.object.action, e.g. `access.card.read`. */
  type: string;
  severity: Severity;
  /** Device id from the config (`src.device`); the driver name is filled in by the context. */
  device: string;
  data: JsonObject;
  /** Extra source attributes (reader address, channel…). */
  src?: Record<string, string | number | boolean>;
  /** When the observation happened, if the device says so; default: now. */
  at?: Date;
}

/** Event families of docs/contracts.md §Event; the first segment of `type` and the `evt/{family}` topic. */
export const FAMILIES = ['access', 'video', 'sensor', 'network', 'incident', 'system'] as const;
export type Family = (typeof FAMILIES)[number];

export function familyOf(type: string): Family {
  const f = type.slice(0, type.indexOf('.'));
  if ((FAMILIES as readonly string[]).includes(f)) return f as Family;
  throw new Error(`event type "${type}": family must be one of ${FAMILIES.join(', ')}`);
}

const TYPE_RE = /^[a-z]+(\.[a-z0-9_]+){1,4}$/

/** Evidence classes are kept longest when the spool is over quota (docs/contracts.md §Spool). */
export function isEvidence(type: string): boolean {
  return (
    type.startsWith('access.') ||
    type.startsWith('video.') ||
    type.startsWith('incident.') ||
    type.startsWith('network.') ||
    type.startsWith('system.chain.') ||
    type.startsWith('system.spool.overflow') ||
    type === 'system.spool.write_failed'
  );
}

/** Deepest nesting of objects/arrays inside an observation's `data` (data itself is level 1). */
export const MAX_DATA_DEPTH = 32;

/** Strings in a signed body must be well-formed Unicode: RFC 8785 cannot canonicalise a lone surrogate. */
export function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c > 0xdbff || i + 1 >= s.length) return false;
    const n = s.charCodeAt(i + 1);
    if (n < 0xdc00 || n > 0xdfff) return false;
    i++;
  }
  return true;
}

/** Throws a message naming what is wrong when an observation breaks the contract. */
export function checkObservation(o: Observation): void {
  if (!TYPE_RE.test(o.type)) throw new Error(`event type "${o.type}": expected family.object[.action] in lowercase, e.g. access.card.read`);
  familyOf(o.type);
  if (!(SEVERITIES as readonly string[]).includes(o.severity)) {
    throw new Error(`event ${o.type}: severity must be one of ${SEVERITIES.join(', ')} (got ${JSON.stringify(o.severity)})`);
  }
  if (typeof o.device !== 'string' || o.device.length === 0) throw new Error(`event ${o.type}: device id missing`);
  if (!isWellFormed(o.device)) throw new Error(`event ${o.type}: device id holds a lone surrogate (not well-formed Unicode)`);
  if (o.src) checkJson(o.src, `event ${o.type}: src`, 1);
  checkJson(o.data, `event ${o.type}: data`, 1);
}

/**
 * Every finite IEEE 754 double is allowed: RFC 8785 serialises each exactly (1e20 as
 * 100000000000000000000, FLT_MAX as 3.4028234663852886e+38) and platforms read numbers as
 * doubles (docs/events.schema.json). NaN and ±Infinity have no JSON form; drivers report
 * them as an explicit invalid reading instead (drivers/modbus/README.md).
 */
function checkJson(v: unknown, where: string, depth: number): void {
  if (v === null || typeof v === 'boolean') return;
  if (typeof v === 'string') {
    if (!isWellFormed(v)) throw new Error(`${where}: string holds a lone surrogate (not well-formed Unicode; RFC 8785 cannot canonicalise it)`);
    return;
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`${where}: numbers must be finite (got ${v})`);
    return;
  }
  if (typeof v !== 'object') throw new Error(`${where}: ${typeof v} is not JSON`);
  if (depth > MAX_DATA_DEPTH) throw new Error(`${where}: nested deeper than ${MAX_DATA_DEPTH} levels`);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) checkJson(v[i], `${where}[${i}]`, depth + 1);
    return;
  }
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    if (!isWellFormed(k)) throw new Error(`${where}: a key holds a lone surrogate (not well-formed Unicode)`);
    if (x === undefined) throw new Error(`${where}.${k}: undefined is not JSON`);
    checkJson(x, `${where}.${k}`, depth + 1);
  }
}

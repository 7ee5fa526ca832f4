// The correlation engine: an EventListener for agent/pipeline.ts. It sees every sealed
// event in seq order and returns incident observations, which the pipeline seals right
// after the event that completed them (docs/contracts.md §Pipeline). Lifecycle per incident, one stable id:
//   open   — every step of a rule seen within its window, on a shared join value;
//   update — a further matching event while open (announced up to maxUpdates);
//   close  — no matching event for closeAfterSeconds (checked on each event and by sweep()).
// Restart safety: with a stateDir, the watermark (epoch, seq), the open incidents and the
// recently consumed event refs are persisted (atomic write + fsync) before an incident
// observation is returned. Events at or below the watermark, or flagged historical, only
// rebuild the windows; they never open or update an incident, so a replay cannot fire twice.
// An incident whose observation was lost to a crash between that write and its seal is not
// re-raised (at most once).
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { SealedEvent } from '../chain/chain.js';
import type { EventBody, JsonObject, Observation } from '../events/types.js';
import type { EventListener } from '../pipeline.js';
import { readJson, writeJsonAtomic } from '../state-file.js';
import type { CorrelateConfig, Rule } from './config.js';
import { DEFAULT_RULES } from './default-rules.js';
import { ANY, AssetIndex, compileSteps, getPath, joinValues, meets, stepMatches, type CompiledStep } from './match.js';

export interface EventRef {
  epoch: string;
  seq: number;
  type: string;
  device: string;
  step: string;
}

export interface Incident {
  id: string;
  rule: string;
  key: string;
  opened: number;
  last: number;
  events: EventRef[];
  count: number;
  updates: number;
}

interface Buffered {
  ref: EventRef;
  step: number;
  at: number;
  values: string[];
  same: string | null;
}

interface Persisted {
  v: 1;
  watermark: { epoch: string; seq: number } | null;
  open: Incident[];
  consumed: string[];
}

export interface CorrelatorOptions {
  rules: Rule[];
  assets?: CorrelateConfig['assets'];
  log: Logger;
  clock: Clock;
  /** Events the transport marked as replayed backlog: they rebuild windows only. */
  isHistorical?: (event: SealedEvent) => boolean;
  /** Where `correlate-state.json` lives; without it, state is in memory only. */
  stateDir?: string;
  /** Receives close observations from the periodic sweep (pipeline.ingest('correlate', o)). */
  emit?: (obs: Observation) => void;
  sweepSeconds?: number;
}

export interface Correlator {
  listener: EventListener;
  /** Close quiet incidents now (also run every sweepSeconds when `emit` is given). */
  sweep(): Observation[];
  incidents(): Incident[];
  stop(): void;
}

export const STATE_FILE = 'correlate-state.json';
const CONSUMED_KEEP = 2000;
const REFS_IN_CLOSE = 100;

/** The effective rule list of a config: shipped rules (minus disabled/overridden) + configured ones. */
export function rulesFromConfig(cfg: CorrelateConfig): Rule[] {
  const own = new Set(cfg.rules.map((r) => r.name));
  const shipped = cfg.defaultRules ? DEFAULT_RULES.filter((r) => !own.has(r.name) && !cfg.disable.includes(r.name)) : [];
  return [...shipped, ...cfg.rules].filter((r) => r.enabled);
}

export function createCorrelator(o: CorrelatorOptions): Correlator {
  const rules = o.rules.map((rule) => ({ rule, steps: compileSteps(rule) }));
  const assets = new AssetIndex(o.assets ?? {});
  const path = o.stateDir ? join(o.stateDir, STATE_FILE) : null;
  const buffers = new Map<string, Buffered[]>(rules.map((r) => [r.rule.name, []]));
  const raw = path ? (readJson(path, (e) => o.log.warn({ err: e.message, path }, 'correlate: state unreadable; starting empty')) as Persisted | null) : null;
  const st: Persisted = raw && raw.v === 1 ? raw : { v: 1, watermark: null, open: [], consumed: [] };
  const consumed = new Set(st.consumed);
  let dirty = false;

  const refKey = (r: Pick<EventRef, 'epoch' | 'seq'>): string => `${r.epoch}:${r.seq}`;

  const persist = (): void => {
    if (!path) return;
    st.consumed = [...consumed].slice(-CONSUMED_KEEP);
    try {
      writeJsonAtomic(path, st);
      dirty = false;
    } catch (e) {
      o.log.error({ err: (e as Error).message, path }, 'correlate: state not saved');
    }
  };

  const ruleOf = (name: string): Rule | undefined => rules.find((r) => r.rule.name === name)?.rule;

  const observation = (rule: Rule, inc: Incident, phase: 'open' | 'update' | 'close', refs: EventRef[], extra: JsonObject = {}): Observation => ({
    type: rule.type,
    severity: phase === 'close' ? 'notice' : rule.severity,
    device: rule.name,
    src: { incident: inc.id, phase },
    data: {
      incident: inc.id,
      phase,
      rule: rule.name,
      join: { by: rule.join, value: inc.key },
      opened: new Date(inc.opened).toISOString(),
      lastEvent: new Date(inc.last).toISOString(),
      eventCount: inc.count,
      events: refs.map((r) => ({ ...r })),
      ...extra,
    },
  });

  const closeQuiet = (now: number): Observation[] => {
    const out: Observation[] = [];
    st.open = st.open.filter((inc) => {
      const rule = ruleOf(inc.rule);
      if (rule && now - inc.last < rule.closeAfterSeconds * 1000) return true;
      if (rule) out.push(observation(rule, inc, 'close', inc.events.slice(-REFS_IN_CLOSE), { reason: 'quiet', closeAfterSeconds: rule.closeAfterSeconds }));
      return false;
    });
    return out;
  };

  /** Try to complete every step of `rule` on one join value, with `newest` among the chosen events. */
  const tryOpen = (rule: Rule, steps: CompiledStep[], buf: Buffered[], newest: Buffered): Buffered[] | null => {
    const candidates = newest.values.includes(ANY) ? [...new Set([...buf.flatMap((b) => b.values), ANY])] : newest.values;
    for (const v of candidates) {
      const chosen: Buffered[] = [];
      let ok = true;
      for (const s of steps) {
        let evs = buf.filter((b) => b.step === s.index && meets(b.values, [v]) !== null);
        if (s.step.sameValue) {
          const same = s.index === newest.step ? newest.same : mostCommon(evs.map((b) => b.same));
          evs = evs.filter((b) => b.same !== null && b.same === same);
        }
        if (s.index === newest.step && !evs.includes(newest)) ok = false;
        if (!ok || evs.length < s.step.minCount) {
          ok = false;
          break;
        }
        chosen.push(...evs);
      }
      if (ok) return chosen;
    }
    return null;
  };

  const onEvent = (event: SealedEvent): Observation[] | void => {
    const b: EventBody = event.body;
    if (b.src.driver === 'correlate' || b.type.startsWith('incident.')) return;
    const wm = st.watermark;
    const replay = (o.isHistorical?.(event) ?? false) || (wm !== null && wm.epoch === b.epoch && b.seq <= wm.seq);
    const parsed = Date.parse(b.ts.wall);
    const at = Number.isFinite(parsed) ? parsed : o.clock.now();
    const out: Observation[] = replay ? [] : closeQuiet(at);
    let changed = out.length > 0;
    for (const { rule, steps } of rules) {
      const matching = steps.filter((s) => stepMatches(s, b));
      if (matching.length === 0) continue;
      const buf = buffers.get(rule.name)!;
      const windowMs = rule.windowSeconds * 1000;
      for (let i = buf.length - 1; i >= 0; i--) if (buf[i].at < at - windowMs) buf.splice(i, 1);
      for (const s of matching) {
        const ref: EventRef = { epoch: b.epoch, seq: b.seq, type: b.type, device: b.src.device, step: s.step.name };
        const values = joinValues(b, s.step, rule.join, assets);
        if (replay) {
          if (!consumed.has(refKey(ref))) buf.push({ ref, step: s.index, at, values, same: sameOf(b, s) });
          continue;
        }
        const inc = st.open.find((x) => x.rule === rule.name && meets([x.key], values) !== null);
        if (inc) {
          inc.count += 1;
          inc.last = at;
          inc.events.push(ref);
          consumed.add(refKey(ref));
          changed = true;
          if (inc.updates < rule.maxUpdates) {
            inc.updates += 1;
            out.push(observation(rule, inc, 'update', [ref]));
          }
          break; // one event joins one incident of a rule
        }
        const entry: Buffered = { ref, step: s.index, at, values, same: sameOf(b, s) };
        buf.push(entry);
        const chosen = tryOpen(rule, steps, buf, entry);
        if (!chosen) continue;
        const key = meetAll(chosen.map((c) => c.values));
        const refs = chosen.map((c) => c.ref).sort((x, y) => x.seq - y.seq);
        const opened: Incident = { id: randomUUID(), rule: rule.name, key, opened: Math.min(...chosen.map((c) => c.at)), last: at, events: refs, count: refs.length, updates: 0 };
        for (const c of chosen) {
          buf.splice(buf.indexOf(c), 1);
          consumed.add(refKey(c.ref));
        }
        st.open.push(opened);
        changed = true;
        out.push(observation(rule, opened, 'open', refs));
        o.log.warn({ incident: opened.id, rule: rule.name, seqs: refs.map((r) => r.seq) }, 'correlate: incident opened');
        break;
      }
    }
    if (!replay && (!wm || wm.epoch !== b.epoch || b.seq > wm.seq)) {
      st.watermark = { epoch: b.epoch, seq: b.seq };
      dirty = true;
    }
    if (changed) persist();
    return out.length > 0 ? out : undefined;
  };

  const sweep = (): Observation[] => {
    const out = closeQuiet(o.clock.now());
    if (out.length > 0 || dirty) persist();
    return out;
  };

  const timer = o.emit
    ? setInterval(() => {
        for (const obs of sweep()) o.emit!(obs);
      }, (o.sweepSeconds ?? 30) * 1000)
    : undefined;
  timer?.unref();

  return {
    listener: onEvent,
    sweep,
    incidents: () => st.open.map((i) => ({ ...i, events: [...i.events] })),
    stop: () => {
      clearInterval(timer);
      if (dirty) persist();
    },
  };
}

function sameOf(b: EventBody, s: CompiledStep): string | null {
  if (!s.step.sameValue) return null;
  const v = getPath(b, s.step.sameValue);
  return v === undefined || v === null ? null : String(v);
}

function mostCommon(xs: Array<string | null>): string | null {
  const n = new Map<string, number>();
  for (const x of xs) if (x !== null) n.set(x, (n.get(x) ?? 0) + 1);
  let best: string | null = null;
  for (const [k, c] of n) if (best === null || c > n.get(best)!) best = k;
  return best;
}

/** The concrete value all chosen events share (ANY only when none is concrete). */
function meetAll(sets: string[][]): string {
  const concrete = sets.filter((s) => !s.includes(ANY));
  if (concrete.length === 0) return ANY;
  return concrete[0].find((v) => concrete.every((s) => s.includes(v))) ?? concrete[0][0];
}

// Pure matching helpers of the rule engine: type globs, `where` conditions, and the join
// values an event contributes (site / zone / segment / asset), resolved through the
// configured assets. No state here.
import type { EventBody, JsonValue } from '../events/types.js';
import type { Asset, CorrelateConfig, Rule, Step } from './config.js';

/** The wildcard join value: an event with no known zone/segment joins any. */
export const ANY = '*';

export function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/\./g, '\\.').replace(/\*/g, '[a-z0-9_.]*');
  return new RegExp(`^${body}$`);
}

export function getPath(body: EventBody, path: string): JsonValue | undefined {
  let cur: unknown = body;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur as JsonValue | undefined;
}

export interface CompiledStep {
  step: Step;
  index: number;
  matchers: Array<{ re: RegExp; where: Array<[string, JsonValue]> }>;
}

export function compileSteps(rule: Rule): CompiledStep[] {
  return rule.steps.map((step, index) => ({
    step,
    index,
    matchers: step.match.map((m) => ({ re: globToRegExp(m.type), where: Object.entries(m.where) as Array<[string, JsonValue]> })),
  }));
}

export function stepMatches(s: CompiledStep, body: EventBody): boolean {
  return s.matchers.some((m) => m.re.test(body.type) && m.where.every(([p, v]) => getPath(body, p) === v));
}

/** Index of assets by every identifier they answer to (device id, IPs, MACs). */
export class AssetIndex {
  private readonly byId = new Map<string, Set<string>>();
  private readonly bySegment = new Map<string, Set<string>>();

  constructor(private readonly assets: CorrelateConfig['assets']) {
    for (const [name, a] of Object.entries(assets)) {
      for (const id of [name, ...a.ips, ...a.macs]) this.add(this.byId, id.toLowerCase(), name);
      if (a.segment) this.add(this.bySegment, a.segment, name);
    }
  }

  private add(m: Map<string, Set<string>>, k: string, v: string): void {
    let s = m.get(k);
    if (!s) m.set(k, (s = new Set()));
    s.add(v);
  }

  get(name: string): Asset | undefined {
    return this.assets[name];
  }

  /** Assets an identifier names; an interface name names every asset on that segment. */
  resolve(id: string): string[] {
    return [...(this.byId.get(id.toLowerCase()) ?? []), ...(this.bySegment.get(id) ?? [])];
  }
}

function identifiers(body: EventBody, keys: string[]): string[] {
  const out: string[] = [];
  for (const k of keys) {
    const v = getPath(body, k);
    for (const x of Array.isArray(v) ? v : [v]) if (typeof x === 'string' || typeof x === 'number') out.push(String(x));
  }
  return out;
}

/**
 * The join values of one event for one step. `asset`: resolved asset names plus the raw
 * identifiers (so two events naming the same device id join without an assets entry).
 * `zone`/`segment`: from the assets, src.zone/data.zone, data.interface; none known → ANY.
 */
export function joinValues(body: EventBody, step: Step, join: Rule['join'], assets: AssetIndex): string[] {
  if (join === 'site') return [body.site];
  const ids = identifiers(body, step.keys);
  const resolved = new Set(ids.flatMap((id) => assets.resolve(id)));
  if (join === 'asset') return [...new Set([...resolved, ...ids.map((i) => i.toLowerCase())])];
  const vals = new Set<string>();
  for (const name of resolved) {
    const a = assets.get(name);
    const v = join === 'zone' ? a?.zone : a?.segment;
    if (v) vals.add(v);
  }
  if (join === 'zone') {
    for (const p of ['src.zone', 'data.zone']) {
      const v = getPath(body, p);
      if (typeof v === 'string') vals.add(v);
    }
  } else {
    for (const p of ['src.segment', 'data.interface']) {
      const v = getPath(body, p);
      if (typeof v === 'string') vals.add(v);
    }
  }
  return vals.size > 0 ? [...vals] : [ANY];
}

/** True when two join-value sets meet (ANY meets everything). */
export function meets(a: string[], b: string[]): string | null {
  if (a.includes(ANY)) return b[0] ?? null;
  if (b.includes(ANY)) return a[0] ?? null;
  return a.find((x) => b.includes(x)) ?? null;
}

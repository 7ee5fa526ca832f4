// Reads one YAML file, validates it against config/schema.ts and every driver instance
// against its manifest's schema. Every error names its path, what was expected and what
// was found, e.g. `mqtt.url: expected mqtt://, mqtts://, ws:// or wss:// URL (got "tcp://x")`.
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve, dirname } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';
import { secretPathsOf, shownValue, type SecretPath } from './secrets.js';
import { knownKinds, loadManifest } from '../drivers/registry.js';

/** The instance id and kind netwatch runs under (drivers/netwatch/). */
const NETWATCH = 'netwatch';

export interface DriverInstanceConfig {
  kind: string;
  index: number;
  id: string;
  config: unknown;
}

export interface LoadedConfig {
  config: Config;
  /** Driver instances, validated against their manifests (defaults applied). */
  drivers: DriverInstanceConfig[];
  /** Absolute path of the file, or '<inline>'. */
  source: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n  ${problems.join('\n  ')}`);
  }
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(top level)';
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * zod issues → `path: expected … (got …)` lines, path-prefixed. A value at a path the
 * schema marks secret (config/secrets.ts) is never echoed: a mistyped SCBK or password
 * would otherwise reach the terminal, diag output and the journal.
 */
export function formatIssues(issues: z.core.$ZodIssue[], raw: unknown, prefix: ReadonlyArray<PropertyKey> = [], secrets: readonly SecretPath[] = []): string[] {
  const out: string[] = [];
  for (const is of issues) {
    const path = [...prefix, ...is.path];
    if (is.code === 'unrecognized_keys') {
      for (const k of is.keys) out.push(`${formatPath([...path, k])}: unknown key (typo?)`);
      continue;
    }
    const got = shownValue(secrets, is.path, valueAt(raw, is.path));
    let msg = is.message.replace(/^Invalid input: /, '');
    if (is.code === 'invalid_type' && got === undefined) msg = `required (${msg.replace(/, received undefined$/, '')})`;
    else msg = `${msg.replace(/, received \w+$/, '')} (got ${show(got)})`;
    out.push(`${formatPath(path)}: ${msg}`);
  }
  return out;
}

/** Validate an already-parsed object (tests and `init` use this directly). */
export async function validateConfig(raw: unknown, source = '<inline>'): Promise<LoadedConfig> {
  const parsed = configSchema.safeParse(raw ?? {});
  const problems: string[] = parsed.success ? [] : formatIssues(parsed.error.issues, raw, [], secretPathsOf(configSchema));
  const drivers: DriverInstanceConfig[] = [];
  // Driver instances are checked even when the top level has problems, so one run of
  // `config check` lists every error in the file.
  const rawDrivers = (raw as { drivers?: unknown } | null)?.drivers;
  if (rawDrivers !== undefined && rawDrivers !== null && typeof rawDrivers === 'object' && !Array.isArray(rawDrivers)) {
    const seen = new Map<string, string>();
    for (const [kind, list] of Object.entries(rawDrivers as Record<string, unknown>)) {
      if (!Array.isArray(list)) continue; // reported by the top-level schema
      if (kind === NETWATCH) {
        problems.push(`drivers.${NETWATCH}: netwatch is configured in the top-level \`netwatch:\` section (docs/netwatch.md), not under drivers`);
        continue;
      }
      let manifest;
      try {
        manifest = await loadManifest(kind);
      } catch (e) {
        problems.push(`drivers.${kind}: ${(e as Error).message.replace(/^unknown driver kind "[^"]*"/, 'unknown driver kind')}`);
        continue;
      }
      list.forEach((inst: unknown, index: number) => {
        const r = manifest.configSchema.safeParse(inst);
        if (!r.success) {
          problems.push(...formatIssues(r.error.issues, inst, ['drivers', kind, index], secretPathsOf(manifest.configSchema)));
          return;
        }
        const id = (r.data as { id?: unknown }).id;
        if (typeof id !== 'string') {
          problems.push(`drivers.${kind}[${index}].id: required`);
          return;
        }
        const where = `drivers.${kind}[${index}]`;
        if (id === NETWATCH) {
          problems.push(`${where}.id: "${NETWATCH}" is reserved for the netwatch section's instance; choose another id`);
          return;
        }
        const prev = seen.get(id);
        if (prev) problems.push(`${where}.id: "${id}" is already used by ${prev}`);
        else seen.set(id, where);
        drivers.push({ kind, index, id, config: r.data });
      });
    }
  } else if (rawDrivers !== undefined) {
    problems.push(`drivers: expected a map of kind → list of instances (known kinds: ${knownKinds().join(', ')})`);
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(source, problems);
  return { config: parsed.data, drivers, source };
}

/**
 * Every instance the supervisor runs: the `drivers:` lists, plus netwatch when the top-level
 * `netwatch:` section enables it (docs/netwatch.md). One netwatch per gateway: it watches
 * the network namespace the daemon runs in.
 */
export function supervisedInstances(loaded: Pick<LoadedConfig, 'config' | 'drivers'>): DriverInstanceConfig[] {
  const nw = loaded.config.netwatch;
  return nw.enabled ? [...loaded.drivers, { kind: NETWATCH, index: 0, id: NETWATCH, config: nw }] : loaded.drivers;
}

/** Parse YAML text; syntax errors name line and column. */
export function parseYaml(text: string, source: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => `line ${e.linePos?.[0]?.line ?? '?'}, column ${e.linePos?.[0]?.col ?? '?'}: ${e.message.split('\n')[0]}`),
    );
  }
  return doc.toJS();
}

export async function loadConfigFile(file: string): Promise<LoadedConfig> {
  const source = resolve(file);
  let text: string;
  try {
    text = await readFile(source, 'utf8');
  } catch (e) {
    throw new ConfigError(source, [`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
  }
  const loaded = await validateConfig(parseYaml(text, source), source);
  // Relative paths in the file are relative to the file, not to the daemon's cwd.
  const base = dirname(source);
  const abs = (p: string | undefined): string | undefined => (p === undefined || isAbsolute(p) ? p : resolve(base, p));
  const c = loaded.config;
  c.stateDir = abs(c.stateDir) as string;
  c.spool.path = abs(c.spool.path);
  c.control.socket = abs(c.control.socket);
  c.mqtt.passwordFile = abs(c.mqtt.passwordFile);
  if (c.mqtt.tls) {
    c.mqtt.tls.ca = abs(c.mqtt.tls.ca);
    c.mqtt.tls.cert = abs(c.mqtt.tls.cert);
    c.mqtt.tls.key = abs(c.mqtt.tls.key);
  }
  return loaded;
}

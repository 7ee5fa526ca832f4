// The secret paths of a whole config file: config/schema.ts plus every driver kind's own
// schema under `drivers.<kind>[*]` (config/secrets.ts explains the marks). Used by the
// support bundle, the daemon's logger, diag and the loader's error messages.
import type { LoadedConfig } from './loader.js';
import { configSchema } from './schema.js';
import { ANY, redactSecrets, secretPathsOf, type RedactOptions, type SecretPath } from './secrets.js';
import { knownKinds, loadManifest } from '../drivers/registry.js';

let cached: Promise<SecretPath[]> | null = null;

/** Secret paths of the top-level schema and of every known driver kind (loads each manifest once). */
export function configSecretPaths(): Promise<SecretPath[]> {
  cached ??= (async () => {
    const paths = secretPathsOf(configSchema);
    for (const kind of knownKinds()) {
      const manifest = await loadManifest(kind);
      paths.push(...secretPathsOf(manifest.configSchema, ['drivers', kind, ANY]));
    }
    return paths;
  })();
  return cached;
}

/** A redacted deep copy of a parsed config file and the literal secret values it holds. */
export async function redactConfig<T>(raw: T, o: RedactOptions = {}): Promise<{ redacted: T; values: Set<string> }> {
  return redactSecrets(raw, await configSecretPaths(), o);
}

/** Just the literal secret values of a parsed config (passwords, keys, URL passwords, secret files' contents). */
export async function configSecretValues(raw: unknown, o: RedactOptions = {}): Promise<Set<string>> {
  return (await redactConfig(raw, o)).values;
}

/** What the daemon's logger must keep out of the journal for one loaded config. */
export interface LogSecrets {
  /** Literal values, scrubbed from every line wherever they appear. */
  secrets: string[];
  /** Key names of schema-marked value secrets, censored by pino in any logged object. */
  secretKeys: string[];
}

/** LogSecrets of a validated config (top level plus every driver instance). */
export async function logSecretsOf(loaded: LoadedConfig): Promise<LogSecrets> {
  const drivers: Record<string, unknown[]> = {};
  for (const d of loaded.drivers) (drivers[d.kind] ??= [])[d.index] = d.config;
  const paths = await configSecretPaths();
  const { values } = redactSecrets({ ...loaded.config, drivers }, paths);
  const secretKeys = [...new Set(paths.filter((p) => p.kind === 'value').map((p) => p.path[p.path.length - 1]!))];
  return { secrets: [...values], secretKeys };
}

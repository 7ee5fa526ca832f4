// Secrets are marked once, where the config schema defines them (config/schema.ts and each
// driver's config.ts), with `secret(schema, kind)`. Every redaction — the support bundle,
// the daemon's logs, `config check` and diag output — walks the schema for those marks
// (secretPathsOf) instead of matching key names, so a new secret field is covered the
// moment it is declared. Kinds:
//   value            the whole value is secret (passwords, SCBKs, tokens, private keys);
//   url-credentials  the user:password part of a URL is secret, the rest is not;
//   file             the value is a path (fine to show); the file's content is secret.
// Pure: imports zod only, so schema files can import it without a cycle.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export type SecretKind = 'value' | 'url-credentials' | 'file';

/** Which schema nodes are secret. Keyed by schema instance, so marking clones its argument. */
export const secretRegistry = z.registry<{ secret: SecretKind }>();

/** Mark `schema` as holding a secret; returns a marked copy (a shared base stays unmarked). */
export function secret<T extends z.ZodType>(schema: T, kind: SecretKind = 'value'): T {
  const marked = schema.clone() as T;
  secretRegistry.add(marked, { secret: kind });
  return marked;
}

/** `*` stands for any array index or record key. */
export const ANY = '*';
export interface SecretPath {
  path: readonly string[];
  kind: SecretKind;
}

export const REDACTED = '«redacted»';

interface LooseDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  left?: z.ZodType;
  right?: z.ZodType;
  items?: z.ZodType[];
  rest?: z.ZodType;
  getter?: () => z.ZodType;
}

/** Every path under `schema` that holds a marked secret, with its kind. */
export function secretPathsOf(schema: z.ZodType, prefix: readonly string[] = []): SecretPath[] {
  const found = new Map<string, SecretPath>();
  const onPath = new Set<z.ZodType>(); // recursion guard for lazy / self-referencing schemas
  const walk = (s: z.ZodType | undefined, path: readonly string[]): void => {
    if (!s || onPath.has(s)) return;
    const meta = secretRegistry.get(s);
    if (meta) {
      found.set(`${path.join('\0')}\0${meta.secret}`, { path, kind: meta.secret });
      return;
    }
    onPath.add(s);
    const def = (s as unknown as { _zod: { def: LooseDef } })._zod.def;
    switch (def.type) {
      case 'object':
        for (const [k, v] of Object.entries(def.shape ?? {})) walk(v, [...path, k]);
        walk(def.catchall, [...path, ANY]);
        break;
      case 'pipe':
        walk(def.in, path);
        walk(def.out, path);
        break;
      case 'array':
        walk(def.element, [...path, ANY]);
        break;
      case 'record':
      case 'map':
        walk(def.valueType, [...path, ANY]);
        break;
      case 'union':
        for (const o of def.options ?? []) walk(o, path);
        break;
      case 'intersection':
        walk(def.left, path);
        walk(def.right, path);
        break;
      case 'tuple':
        (def.items ?? []).forEach((it, i) => walk(it, [...path, String(i)]));
        walk(def.rest, [...path, ANY]);
        break;
      case 'lazy':
        walk(def.getter?.(), path);
        break;
      default:
        walk(def.innerType, path); // optional, nullable, default, prefault, catch, readonly, …
    }
    onPath.delete(s);
  };
  walk(schema, prefix);
  return [...found.values()];
}

/** Does a concrete path (e.g. from a zod issue) fall on or under a secret path? */
export function isSecretPath(paths: readonly SecretPath[], concrete: ReadonlyArray<PropertyKey>, kinds: SecretKind[] = ['value', 'url-credentials']): boolean {
  return paths.some((p) => kinds.includes(p.kind) && p.path.length <= concrete.length && p.path.every((seg, i) => seg === ANY || seg === String(concrete[i])));
}

/** `v` as it may be shown for the concrete path (an error message): secrets redacted, URL credentials cut out. */
export function shownValue(paths: readonly SecretPath[], concrete: ReadonlyArray<PropertyKey>, v: unknown): unknown {
  const hit = paths.find((p) => p.path.length <= concrete.length && p.path.every((seg, i) => seg === ANY || seg === String(concrete[i])));
  if (!hit || hit.kind === 'file') return v;
  if (hit.kind === 'url-credentials') return typeof v === 'string' ? v.replace(URL_USERINFO, (_m, scheme: string) => `${scheme}${REDACTED}@`) : v;
  return REDACTED;
}

/** Call `fn` for every value in `root` that sits at `path` (wildcards expand). */
function visit(root: unknown, path: readonly string[], fn: (holder: Record<string, unknown>, key: string) => void): void {
  if (path.length === 0 || root === null || typeof root !== 'object') return;
  const [head, ...rest] = path;
  const holder = root as Record<string, unknown>;
  const keys = head === ANY ? Object.keys(holder) : Object.prototype.hasOwnProperty.call(holder, head!) ? [head!] : [];
  for (const k of keys) {
    if (rest.length === 0) fn(holder, k);
    else visit(holder[k], rest, fn);
  }
}

const URL_USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i;

/** The secret strings a file holds: its trimmed text, and every long string of it when it is JSON (none when unreadable). */
export function fileSecrets(path: string, read: (p: string) => string = (p) => readFileSync(p, 'utf8')): string[] {
  let text: string;
  try {
    text = read(path);
  } catch {
    return []; // unreadable here: nothing to scrub
  }
  const out = [text.trim()];
  try {
    const walk = (v: unknown): void => {
      if (typeof v === 'string' && v.length >= 8) out.push(v);
      else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(JSON.parse(text));
  } catch {
    /* not JSON */
  }
  return out.filter((s) => s.length > 0);
}

export interface RedactOptions {
  /** Reads `file` secrets; default readFileSync (tests inject). */
  readFile?: (path: string) => string;
}

/**
 * A deep copy of `root` with every secret replaced (URL credentials cut out; file paths
 * kept), plus the literal secret values found (file contents included), for scrubbing
 * any other text that leaves the gateway.
 */
export function redactSecrets<T>(root: T, paths: readonly SecretPath[], o: RedactOptions = {}): { redacted: T; values: Set<string> } {
  const read = o.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const copy = structuredClone(root);
  const values = new Set<string>();
  for (const { path, kind } of paths) {
    visit(copy, path, (holder, key) => {
      const v = holder[key];
      if (v === undefined || v === null) return;
      if (kind === 'file') {
        if (typeof v === 'string') for (const s of fileSecrets(v, read)) values.add(s);
        return;
      }
      if (kind === 'url-credentials') {
        const m = typeof v === 'string' ? URL_USERINFO.exec(v) : null;
        if (!m) return;
        const pw = m[2]!.includes(':') ? m[2]!.slice(m[2]!.indexOf(':') + 1) : '';
        if (pw) {
          values.add(pw);
          try {
            values.add(decodeURIComponent(pw));
          } catch {
            /* not %-encoded */
          }
        }
        holder[key] = (v as string).replace(m[0], `${m[1]}${REDACTED}@`);
        return;
      }
      if (typeof v === 'string' || typeof v === 'number') values.add(String(v));
      else if (JSON.stringify(v).length > 2) values.add(JSON.stringify(v));
      holder[key] = REDACTED;
    });
  }
  return { redacted: copy, values };
}

const PEM_PRIVATE = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g;

/**
 * Remove literal secrets (as written, JSON-escaped and %-encoded) and PEM private-key
 * blocks from text about to leave the process. Values shorter than 3 characters are not
 * scrubbed: replacing them would destroy the text without protecting anything.
 */
export function scrubSecrets(text: string, secrets: Iterable<string>): string {
  return makeScrubber(secrets)(text);
}

/** scrubSecrets with the forms computed once (the logger calls it per line). */
export function makeScrubber(secrets: Iterable<string>): (text: string) => string {
  const set = new Set<string>();
  for (const s of secrets) {
    if (s.length < 3) continue;
    set.add(s);
    set.add(JSON.stringify(s).slice(1, -1));
    set.add(encodeURIComponent(s));
  }
  // Longest first, so a secret that contains another is removed whole.
  const forms = [...set].sort((a, b) => b.length - a.length);
  return (text) => {
    let t = text.includes('PRIVATE KEY-----') ? text.replace(PEM_PRIVATE, `${REDACTED} (private key block)`) : text;
    for (const f of forms) if (t.includes(f)) t = t.split(f).join(REDACTED);
    return t;
  };
}

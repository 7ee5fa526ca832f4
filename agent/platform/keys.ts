// Gateway keys on the platform side (docs/platform.md "Key enrolment"): an enrolment file
// mapping `site/gw` to the gateway's public key (base64url raw as `gatewarden init` prints
// it and the birth message carries, or PEM), keys learned from verified key rotations, and —
// only with --tofu — the first birth message's key. All are kept in the store's `keys`
// table, so a restart keeps what was learned.
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { kidOf, parsePublicKey, rawPublicKey } from '../chain/keys.js';
import type { KeyRow, PlatformStore } from './store.js';

/** Reads `{ "site/gw": KEY | [KEY, …] }` (JSON or YAML); errors name the file and entry. */
export function readEnrolment(file: string): KeyRow[] {
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`key enrolment file ${file}: ${(e as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`key enrolment file ${file}: expected a mapping "site/gw": public key`);
  const out: KeyRow[] = [];
  for (const [name, v] of Object.entries(doc as Record<string, unknown>)) {
    const m = /^([^/+#]+)\/([^/+#]+)$/.exec(name);
    if (!m) throw new Error(`key enrolment file ${file}: entry "${name}" is not "site/gw"`);
    for (const text of Array.isArray(v) ? v : [v]) {
      if (typeof text !== 'string') throw new Error(`key enrolment file ${file}: entry "${name}": expected a key string`);
      let raw: Buffer;
      try {
        raw = rawPublicKey(parsePublicKey(text));
      } catch (e) {
        throw new Error(`key enrolment file ${file}: entry "${name}": ${(e as Error).message}`);
      }
      out.push({ site: m[1], gw: m[2], kid: kidOf(raw), pubkey: raw.toString('base64url'), source: 'file' });
    }
  }
  return out;
}

/** The keys of each gateway as KeyObjects by kid, cached; `add` persists and invalidates. */
export class KeyBook {
  private cache = new Map<string, Map<string, KeyObject>>();

  constructor(private readonly store: PlatformStore) {}

  get(site: string, gw: string): Map<string, KeyObject> {
    const k = `${site}/${gw}`;
    let m = this.cache.get(k);
    if (!m) {
      m = new Map();
      for (const row of this.store.keys(site, gw)) m.set(row.kid, parsePublicKey(row.pubkey));
      this.cache.set(k, m);
    }
    return m;
  }

  /** Adds a key (base64url raw or PEM); true when it is new for that gateway. */
  add(site: string, gw: string, pubkeyText: string, source: KeyRow['source']): boolean {
    const raw = rawPublicKey(parsePublicKey(pubkeyText));
    const added = this.store.addKey({ site, gw, kid: kidOf(raw), pubkey: raw.toString('base64url'), source });
    this.cache.delete(`${site}/${gw}`);
    return added;
  }

  has(site: string, gw: string): boolean {
    return this.get(site, gw).size > 0;
  }

  /** Forget cached keys (another consumer of the same store may have learned one). */
  refresh(): void {
    this.cache.clear();
  }
}

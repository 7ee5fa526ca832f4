// Secure Channel Base Keys set by install mode (OSDP v2.2 Annex D, osdp_KEYSET), kept in
// one JSON file in the state dir, mode 0600 (docs/contracts.md §Files: keys 0600). Written atomically and
// durably (agent/state-file.ts) so a crash never leaves a half-written key — losing an SCBK after
// the reader accepted it would lock the reader out until it is reset to SCBK-D on site.
import { existsSync, readFileSync } from 'node:fs';
import { writeJsonAtomic } from '../../../agent/state-file.js';

interface KeyFile {
  v: 1;
  /** `<bus id>/<reader id>` → { scbk hex, set: RFC 3339, cuid hex } */
  keys: Record<string, { scbk: string; set: string; cuid?: string }>;
}

export class KeyStore {
  constructor(readonly path: string) {}

  private load(): KeyFile {
    if (!existsSync(this.path)) return { v: 1, keys: {} };
    const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as KeyFile;
    if (parsed?.v !== 1 || typeof parsed.keys !== 'object') throw new Error(`${this.path}: not an OSDP key store (v 1)`);
    return parsed;
  }

  get(bus: string, reader: string): Buffer | undefined {
    const k = this.load().keys[`${bus}/${reader}`];
    return k ? Buffer.from(k.scbk, 'hex') : undefined;
  }

  set(bus: string, reader: string, scbk: Buffer, cuid?: Buffer): void {
    const file = this.load();
    file.keys[`${bus}/${reader}`] = { scbk: scbk.toString('hex'), set: new Date().toISOString(), ...(cuid ? { cuid: cuid.toString('hex') } : {}) };
    writeJsonAtomic(this.path, file, true);
  }
}

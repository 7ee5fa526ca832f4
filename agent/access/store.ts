// The credential store: its own SQLite file (`<stateDir>/access.db`, WAL,
// synchronous=FULL), apart from the spool so the spool's quota, eviction and integrity
// moves never touch the list a door depends on. Every change is one transaction: a full
// list (`put`, staged part by part when it comes in parts) or a delta (`patch`) replaces
// the version together with the rows, so a crash — kill -9 included — leaves the old list
// or the new one, never a mix. Also kept here, so they survive restarts: lockdown and the
// open network incidents the rules look at.
import { chmodSync, existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { checkPolicy, CredentialListError, type CredentialRow, type Policy } from './credentials.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS credentials (
  hash TEXT PRIMARY KEY,
  id TEXT NOT NULL,
  groups TEXT NOT NULL,
  valid_from INTEGER,
  valid_to INTEGER,
  pin TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS credentials_id ON credentials(id);
CREATE TABLE IF NOT EXISTS staged (version INTEGER NOT NULL, part INTEGER NOT NULL, parts INTEGER NOT NULL, policy TEXT NOT NULL, rows TEXT NOT NULL, PRIMARY KEY (version, part));
`;

export interface StoredCredential extends CredentialRow {}

export interface ListInfo {
  version: number;
  count: number;
  updatedAt: string | null;
}

type Raw = { hash: string; id: string; groups: string; valid_from: number | null; valid_to: number | null; pin: string | null };

export class CredentialStore {
  private readonly db: Database.Database;
  private readonly byHash: Database.Statement<[string], Raw>;
  private policyCache: Policy;
  private infoCache: ListInfo;

  constructor(readonly path: string) {
    const fresh = !existsSync(path);
    this.db = new Database(path, { timeout: 5000 });
    if (fresh) chmodSync(path, 0o600);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    this.byHash = this.db.prepare('SELECT hash, id, groups, valid_from, valid_to, pin FROM credentials WHERE hash = ?');
    this.policyCache = this.readPolicy();
    this.infoCache = this.readInfo();
  }

  close(): void {
    this.db.close();
  }

  private meta(k: string): string | undefined {
    return (this.db.prepare('SELECT v FROM meta WHERE k = ?').get(k) as { v: string } | undefined)?.v;
  }

  private setMeta(k: string, v: string): void {
    this.db.prepare('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v').run(k, v);
  }

  private readPolicy(): Policy {
    const v = this.meta('policy');
    return v ? (JSON.parse(v) as Policy) : { schedules: {}, groups: {} };
  }

  private readInfo(): ListInfo {
    return { version: Number(this.meta('version') ?? 0), count: Number(this.meta('count') ?? 0), updatedAt: this.meta('updated_at') ?? null };
  }

  get info(): ListInfo {
    return { ...this.infoCache };
  }

  get policy(): Policy {
    return this.policyCache;
  }

  /** The first stored credential among `hashes` (most specific first). */
  lookup(hashes: readonly string[]): StoredCredential | null {
    for (const h of hashes) {
      const r = this.byHash.get(h);
      if (r) return { hash: r.hash, id: r.id, groups: JSON.parse(r.groups) as string[], validFrom: r.valid_from, validTo: r.valid_to, pin: r.pin };
    }
    return null;
  }

  /**
   * One part of a full list. Parts are staged (hashed rows only); the last part applies the
   * whole list in one transaction. Returns 'staged' or 'applied'.
   */
  put(version: number, part: number, parts: number, policy: Policy, rows: CredentialRow[]): 'staged' | 'applied' {
    const held = this.infoCache.version;
    if (version <= held) throw new CredentialListError('old-version', `version ${version} is not newer than the held version ${held}`);
    const stage = this.db.transaction(() => {
      // A newer list abandons an older one's parts.
      this.db.prepare('DELETE FROM staged WHERE version <> ?').run(version);
      const other = this.db.prepare('SELECT parts FROM staged WHERE version = ? LIMIT 1').get(version) as { parts: number } | undefined;
      if (other && other.parts !== parts) throw new CredentialListError('malformed', `part ${part} of version ${version} says ${parts} parts, earlier parts said ${other.parts}`);
      this.db.prepare('INSERT OR REPLACE INTO staged (version, part, parts, policy, rows) VALUES (?, ?, ?, ?, ?)').run(version, part, parts, JSON.stringify(policy), JSON.stringify(rows));
      const have = (this.db.prepare('SELECT COUNT(*) AS n FROM staged WHERE version = ?').get(version) as { n: number }).n;
      if (have < parts) return 'staged' as const;
      this.applyStaged(version);
      return 'applied' as const;
    });
    const r = stage.immediate();
    if (r === 'applied') this.refresh();
    return r;
  }

  private applyStaged(version: number): void {
    const staged = this.db.prepare('SELECT part, policy, rows FROM staged WHERE version = ? ORDER BY part').all(version) as Array<{ part: number; policy: string; rows: string }>;
    const policy: Policy = { schedules: {}, groups: {} };
    const all = new Map<string, CredentialRow>();
    for (const s of staged) {
      const p = JSON.parse(s.policy) as Policy;
      Object.assign(policy.schedules, p.schedules);
      Object.assign(policy.groups, p.groups);
      for (const r of JSON.parse(s.rows) as CredentialRow[]) {
        const dup = all.get(r.hash);
        if (dup) throw new CredentialListError('malformed', `part ${s.part}: card of "${r.id}" is the same card as "${dup.id}"`);
        all.set(r.hash, r);
      }
    }
    checkPolicy(policy, all.values());
    this.db.prepare('DELETE FROM credentials').run();
    const ins = this.db.prepare('INSERT INTO credentials (hash, id, groups, valid_from, valid_to, pin) VALUES (?, ?, ?, ?, ?, ?)');
    for (const r of all.values()) ins.run(r.hash, r.id, JSON.stringify(r.groups), r.validFrom, r.validTo, r.pin);
    this.db.prepare('DELETE FROM staged').run();
    this.commitMeta(version, all.size, policy);
  }

  private commitMeta(version: number, count: number, policy: Policy): void {
    this.setMeta('version', String(version));
    this.setMeta('count', String(count));
    this.setMeta('policy', JSON.stringify(policy));
    this.setMeta('updated_at', new Date().toISOString());
  }

  /** A delta against `baseVersion` (the held one), applied in one transaction. */
  patch(baseVersion: number, version: number, policyChanges: Partial<Policy>, upsert: CredentialRow[], remove: string[]): void {
    const tx = this.db.transaction(() => {
      const held = Number(this.meta('version') ?? 0);
      if (baseVersion !== held) throw new CredentialListError('version-mismatch', `patch is based on version ${baseVersion}, the gateway holds ${held}`);
      if (version <= held) throw new CredentialListError('old-version', `version ${version} is not newer than the held version ${held}`);
      const policy = this.readPolicy();
      Object.assign(policy.schedules, policyChanges.schedules ?? {});
      Object.assign(policy.groups, policyChanges.groups ?? {});
      const del = this.db.prepare('DELETE FROM credentials WHERE id = ?');
      for (const id of remove) del.run(id);
      // An upsert replaces the credential with that id (its card may have changed).
      for (const r of upsert) del.run(r.id);
      const ins = this.db.prepare('INSERT INTO credentials (hash, id, groups, valid_from, valid_to, pin) VALUES (?, ?, ?, ?, ?, ?)');
      for (const r of upsert) {
        try {
          ins.run(r.hash, r.id, JSON.stringify(r.groups), r.validFrom, r.validTo, r.pin);
        } catch (e) {
          if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new CredentialListError('malformed', `upsert "${r.id}": its card belongs to another credential`);
          throw e;
        }
      }
      // A patch adds or replaces groups and schedules, never removes them: the upserts are all that can name a missing one.
      checkPolicy(policy, upsert);
      const count = (this.db.prepare('SELECT COUNT(*) AS n FROM credentials').get() as { n: number }).n;
      this.commitMeta(version, count, policy);
    });
    tx.immediate();
    this.refresh();
  }

  private refresh(): void {
    this.policyCache = this.readPolicy();
    this.infoCache = this.readInfo();
  }

  /** Small persisted state (lockdown, open incidents): JSON under `state.<key>`. */
  getState<T>(key: string): T | null {
    const v = this.meta(`state.${key}`);
    return v === undefined ? null : (JSON.parse(v) as T);
  }

  setState(key: string, value: unknown): void {
    if (value === null) this.db.prepare('DELETE FROM meta WHERE k = ?').run(`state.${key}`);
    else this.setMeta(`state.${key}`, JSON.stringify(value));
  }
}

// The platform's event store (docs/platform.md "The store"): one SQLite file, WAL,
// synchronous=FULL, busy_timeout so several consumers of one shared-subscription group can
// write the same file. The primary key (site, gw, epoch, seq) is the dedupe: an event is
// stored once whoever receives it, and every later copy is either the same body (a QoS 1
// re-delivery or a replay, ignored) or a conflict (recorded, never stored over the first).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { SignedHeadBody } from '../forward/signed-head.js';

export interface StoredEvent {
  site: string;
  gw: string;
  epoch: string;
  seq: number;
  /** hashJcs(JCS(body)): what the next event's prev and an ack carry. */
  hash: string;
  prev: string;
  type: string;
  severity: string;
  /** body.ts.wall */
  ts: string;
  kid: string;
  /** The exact payload received. */
  payload: string;
  hist: boolean;
}

export interface ChainRow {
  site: string;
  gw: string;
  epoch: string;
  verifiedSeq: number;
  verifiedHash: string;
  ackedSeq: number;
  maxSeq: number;
  lastSeen: number;
}

export interface GapRow {
  site: string;
  gw: string;
  epoch: string;
  from: number;
  to: number;
  /** requested: a spool.replay is out; missing: the gateway no longer holds it; declared: a signed overflow declaration covers it. */
  state: 'requested' | 'missing' | 'declared';
  at: number;
}

export interface KeyRow {
  site: string;
  gw: string;
  kid: string;
  pubkey: string;
  /** file: enrolled; tofu: the birth message's (weaker); rotation: named by a verified key_rotated event. */
  source: 'file' | 'tofu' | 'rotation';
}

/** The last verified signed head of a gateway: its body (agent/forward/signed-head.ts) less type and kid. */
export type HeadRow = Omit<SignedHeadBody, 'type' | 'kid'>;

const DDL = `
CREATE TABLE IF NOT EXISTS events (
  site TEXT NOT NULL, gw TEXT NOT NULL, epoch TEXT NOT NULL, seq INTEGER NOT NULL,
  hash TEXT NOT NULL, prev TEXT NOT NULL, type TEXT NOT NULL, severity TEXT NOT NULL,
  ts TEXT NOT NULL, kid TEXT NOT NULL, received_at INTEGER NOT NULL, hist INTEGER NOT NULL,
  consumer TEXT NOT NULL, payload TEXT NOT NULL,
  PRIMARY KEY (site, gw, epoch, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_type_time ON events (type, ts);
CREATE TABLE IF NOT EXISTS conflicts (
  site TEXT NOT NULL, gw TEXT NOT NULL, epoch TEXT NOT NULL, seq INTEGER NOT NULL,
  hash TEXT NOT NULL, payload TEXT NOT NULL, received_at INTEGER NOT NULL,
  PRIMARY KEY (site, gw, epoch, seq, hash)
);
CREATE TABLE IF NOT EXISTS chains (
  site TEXT NOT NULL, gw TEXT NOT NULL, epoch TEXT NOT NULL,
  verified_seq INTEGER NOT NULL DEFAULT 0, verified_hash TEXT NOT NULL DEFAULT '',
  acked_seq INTEGER NOT NULL DEFAULT 0, max_seq INTEGER NOT NULL DEFAULT 0, last_seen INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (site, gw, epoch)
);
CREATE TABLE IF NOT EXISTS declared (
  site TEXT NOT NULL, gw TEXT NOT NULL, epoch TEXT NOT NULL, from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL,
  source TEXT NOT NULL, PRIMARY KEY (site, gw, epoch, from_seq, to_seq)
);
CREATE TABLE IF NOT EXISTS gaps (
  site TEXT NOT NULL, gw TEXT NOT NULL, epoch TEXT NOT NULL, from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL,
  state TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (site, gw, epoch, from_seq, to_seq)
);
CREATE TABLE IF NOT EXISTS keys (
  site TEXT NOT NULL, gw TEXT NOT NULL, kid TEXT NOT NULL, pubkey TEXT NOT NULL, source TEXT NOT NULL,
  added_at INTEGER NOT NULL, PRIMARY KEY (site, gw, kid)
);
CREATE TABLE IF NOT EXISTS heads (
  site TEXT NOT NULL, gw TEXT NOT NULL, epoch TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL,
  ts TEXT NOT NULL, received_at INTEGER NOT NULL, PRIMARY KEY (site, gw)
);
`;

export type InsertOutcome = 'stored' | 'duplicate' | 'conflict';

export class PlatformStore {
  readonly db: Database.Database;
  private readonly ins: Database.Statement;
  private readonly existing: Database.Statement;
  private readonly touch: Database.Statement;

  constructor(
    readonly path: string,
    private readonly consumer: string,
    private readonly now: () => number = Date.now,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    // A second consumer of the same group may hold the write lock for one batch.
    this.db.pragma('busy_timeout = 10000');
    this.db.exec(DDL);
    this.ins = this.db.prepare(
      `INSERT OR IGNORE INTO events (site, gw, epoch, seq, hash, prev, type, severity, ts, kid, received_at, hist, consumer, payload)
       VALUES (@site, @gw, @epoch, @seq, @hash, @prev, @type, @severity, @ts, @kid, @at, @hist, @consumer, @payload)`,
    );
    this.existing = this.db.prepare('SELECT hash FROM events WHERE site = ? AND gw = ? AND epoch = ? AND seq = ?');
    this.touch = this.db.prepare(
      `INSERT INTO chains (site, gw, epoch, max_seq, last_seen) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (site, gw, epoch) DO UPDATE SET max_seq = max(max_seq, excluded.max_seq), last_seen = excluded.last_seen`,
    );
  }

  /** Stores a batch in one durable transaction (committed, fsynced) and says what became of each. */
  insertBatch(events: readonly StoredEvent[]): InsertOutcome[] {
    const at = this.now();
    const run = this.db.transaction((evs: readonly StoredEvent[]): InsertOutcome[] =>
      evs.map((e) => {
        const r = this.ins.run({ ...e, at, hist: e.hist ? 1 : 0, consumer: this.consumer });
        this.touch.run(e.site, e.gw, e.epoch, e.seq, at);
        if (r.changes === 1) return 'stored';
        const prior = this.existing.get(e.site, e.gw, e.epoch, e.seq) as { hash: string } | undefined;
        if (prior?.hash === e.hash) return 'duplicate';
        this.db
          .prepare('INSERT OR IGNORE INTO conflicts (site, gw, epoch, seq, hash, payload, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(e.site, e.gw, e.epoch, e.seq, e.hash, e.payload, at);
        return 'conflict';
      }),
    );
    return run.immediate(events);
  }

  chains(): ChainRow[] {
    return (
      this.db
        .prepare('SELECT site, gw, epoch, verified_seq, verified_hash, acked_seq, max_seq, last_seen FROM chains ORDER BY site, gw, last_seen')
        .all() as Array<Record<string, string | number>>
    ).map((r) => ({
      site: r.site as string,
      gw: r.gw as string,
      epoch: r.epoch as string,
      verifiedSeq: r.verified_seq as number,
      verifiedHash: r.verified_hash as string,
      ackedSeq: r.acked_seq as number,
      maxSeq: r.max_seq as number,
      lastSeen: r.last_seen as number,
    }));
  }

  /** Stored events of a chain above `afterSeq`, in seq order. */
  eventsAfter(site: string, gw: string, epoch: string, afterSeq: number, limit: number): StoredEvent[] {
    return (
      this.db
        .prepare('SELECT site, gw, epoch, seq, hash, prev, type, severity, ts, kid, payload, hist FROM events WHERE site = ? AND gw = ? AND epoch = ? AND seq > ? ORDER BY seq LIMIT ?')
        .all(site, gw, epoch, afterSeq, limit) as Array<Omit<StoredEvent, 'hist'> & { hist: number }>
    ).map((r) => ({ ...r, hist: r.hist === 1 }));
  }

  /** Moves the verified head forward only (two consumers may verify the same run). */
  setVerified(site: string, gw: string, epoch: string, seq: number, hash: string): void {
    this.db.prepare('UPDATE chains SET verified_seq = ?, verified_hash = ? WHERE site = ? AND gw = ? AND epoch = ? AND verified_seq < ?').run(seq, hash, site, gw, epoch, seq);
  }

  setAcked(site: string, gw: string, epoch: string, seq: number): void {
    this.db.prepare('UPDATE chains SET acked_seq = ? WHERE site = ? AND gw = ? AND epoch = ? AND acked_seq < ?').run(seq, site, gw, epoch, seq);
  }

  addDeclared(site: string, gw: string, epoch: string, from: number, to: number, source: string): void {
    this.db.prepare('INSERT OR IGNORE INTO declared (site, gw, epoch, from_seq, to_seq, source) VALUES (?, ?, ?, ?, ?, ?)').run(site, gw, epoch, from, to, source);
  }

  /** Ranges that need no event: declared by a signed record, or answered `missing`/`declared` by a replay. */
  accounted(site: string, gw: string, epoch: string): Array<{ from: number; to: number }> {
    return this.db
      .prepare(
        `SELECT from_seq AS "from", to_seq AS "to" FROM declared WHERE site = ? AND gw = ? AND epoch = ?
         UNION SELECT from_seq, to_seq FROM gaps WHERE site = ? AND gw = ? AND epoch = ? AND state IN ('missing', 'declared')`,
      )
      .all(site, gw, epoch, site, gw, epoch) as Array<{ from: number; to: number }>;
  }

  gaps(): GapRow[] {
    return (this.db.prepare('SELECT site, gw, epoch, from_seq, to_seq, state, at FROM gaps ORDER BY site, gw, epoch, from_seq').all() as Array<Record<string, string | number>>).map((r) => ({
      site: r.site as string,
      gw: r.gw as string,
      epoch: r.epoch as string,
      from: r.from_seq as number,
      to: r.to_seq as number,
      state: r.state as GapRow['state'],
      at: r.at as number,
    }));
  }

  /**
   * Claims a replay request for a range: true when no request for it is out or the last
   * is older than `retryMs`. One IMMEDIATE transaction, so of two consumers sharing the
   * file exactly one asks.
   */
  claimReplay(site: string, gw: string, epoch: string, from: number, to: number, retryMs: number): boolean {
    const now = this.now();
    return this.db
      .transaction((): boolean => {
        const prior = this.db.prepare('SELECT state, at FROM gaps WHERE site = ? AND gw = ? AND epoch = ? AND from_seq = ? AND to_seq = ?').get(site, gw, epoch, from, to) as
          | { state: string; at: number }
          | undefined;
        if (prior && (prior.state !== 'requested' || now - prior.at < retryMs)) return false;
        this.db.prepare('INSERT OR REPLACE INTO gaps (site, gw, epoch, from_seq, to_seq, state, at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(site, gw, epoch, from, to, 'requested', now);
        return true;
      })
      .immediate();
  }

  /** Records what a replay answered for part of a range (missing / declared). */
  markGap(site: string, gw: string, epoch: string, from: number, to: number, state: GapRow['state']): void {
    this.db.prepare('INSERT OR REPLACE INTO gaps (site, gw, epoch, from_seq, to_seq, state, at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(site, gw, epoch, from, to, state, this.now());
  }

  /** Requests that are out for ranges now entirely stored or verified are done. */
  clearRequested(site: string, gw: string, epoch: string, belowOrAt: number): void {
    this.db.prepare("DELETE FROM gaps WHERE site = ? AND gw = ? AND epoch = ? AND state = 'requested' AND to_seq <= ?").run(site, gw, epoch, belowOrAt);
  }

  addKey(k: KeyRow): boolean {
    return this.db.prepare('INSERT OR IGNORE INTO keys (site, gw, kid, pubkey, source, added_at) VALUES (?, ?, ?, ?, ?, ?)').run(k.site, k.gw, k.kid, k.pubkey, k.source, this.now()).changes === 1;
  }

  keys(site: string, gw: string): KeyRow[] {
    return this.db.prepare('SELECT site, gw, kid, pubkey, source FROM keys WHERE site = ? AND gw = ?').all(site, gw) as KeyRow[];
  }

  setHead(h: HeadRow): void {
    this.db
      .prepare('INSERT OR REPLACE INTO heads (site, gw, epoch, seq, hash, ts, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(h.site, h.gw, h.epoch, h.seq, h.hash, h.ts, this.now());
  }

  head(site: string, gw: string): HeadRow | undefined {
    return this.db.prepare('SELECT site, gw, epoch, seq, hash, ts FROM heads WHERE site = ? AND gw = ?').get(site, gw) as HeadRow | undefined;
  }

  hashAt(site: string, gw: string, epoch: string, seq: number): string | undefined {
    return (this.existing.get(site, gw, epoch, seq) as { hash: string } | undefined)?.hash;
  }

  conflictCount(site: string, gw: string): number {
    return (this.db.prepare('SELECT count(*) AS n FROM conflicts WHERE site = ? AND gw = ?').get(site, gw) as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}

// The spool file as gatewarden wrote it at schema v1 (payload inline in `events`), for the
// migration tests: the DDL verbatim from agent/spool/schema.ts at SCHEMA_VERSION 1, and a
// quick builder of a large v1 file.
import Database from 'better-sqlite3';

/** agent/spool/schema.ts DDL at SCHEMA_VERSION 1, verbatim (the payload inline). */
export const V1_DDL = `
CREATE TABLE IF NOT EXISTS events (
  rowid       INTEGER PRIMARY KEY,
  epoch       TEXT    NOT NULL,
  seq         INTEGER NOT NULL,
  type        TEXT    NOT NULL,
  family      TEXT    NOT NULL,
  severity    INTEGER NOT NULL,
  evidence    INTEGER NOT NULL,
  accepted_at INTEGER NOT NULL,
  bytes       INTEGER NOT NULL,
  payload     TEXT    NOT NULL,
  sent_at     INTEGER
);
CREATE INDEX IF NOT EXISTS events_unsent ON events(rowid) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS events_evict ON events(evidence, severity, rowid) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS events_sent ON events(sent_at, rowid) WHERE sent_at IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS events_seq ON events(epoch, seq);
CREATE TABLE IF NOT EXISTS meta (
  k TEXT PRIMARY KEY,
  v TEXT NOT NULL
) WITHOUT ROWID;
`;

export interface BigV1 {
  rows: number;
  epoch: string;
  head: { epoch: string; seq: number; hash: string };
}

/**
 * A v1 file of `rows` events (seq 1..rows, one epoch, every third sent) with ~`payloadBytes`
 * payloads. Payloads are opaque to the spool, so they are not signed here.
 */
export function buildBigV1(path: string, rows: number, payloadBytes = 1400): BigV1 {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(V1_DDL);
  const epoch = 'EPOCHv1crash';
  const ins = db.prepare('INSERT INTO events(rowid, epoch, seq, type, family, severity, evidence, accepted_at, bytes, payload, sent_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)');
  const pad = 'p'.repeat(Math.max(0, payloadBytes - 60));
  db.transaction(() => {
    for (let i = 1; i <= rows; i++) {
      const payload = `{"body":{"seq":${i},"pad":"${pad}"},"sig":"s${i}"}`;
      ins.run(i, epoch, i, 'sensor.value.reading', 'sensor', 2, 0, 1_000 + i, payload.length + 128, payload, i % 3 === 0 ? 2_000 + i : null);
    }
  })();
  const head = { epoch, seq: rows, hash: 'h'.repeat(43) };
  const meta: [string, string][] = [
    ['schema_version', '1'],
    ['created_at', '2025-01-02T03:04:05.006Z'],
    ['dropped_events', '0'],
    ['sent_total', String(Math.floor(rows / 3))],
    ['rowid_hw', String(rows)],
    ['quota_bytes', String(1e12)],
    ['head', JSON.stringify(head)],
  ];
  const put = db.prepare('INSERT INTO meta(k, v) VALUES (?, ?)');
  for (const [k, v] of meta) put.run(k, v);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { rows, epoch, head };
}

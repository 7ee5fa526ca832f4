// End-to-end acknowledgement (docs/architecture.md "End-to-end acknowledgement",
// docs/mqtt-api.yaml `ack`): with `mqtt.platformAck.enabled` a row counts as delivered
// only once the platform says it stored it, not when the broker PUBACKs it.
//
// How the spool keeps such rows without a schema change: a PUBACK no longer marks the row
// sent (sent_at stays NULL), so prune (sent rows only), early eviction of delivered rows
// (sent rows only) and the quota's declared drops (unsent rows) all treat it as not
// delivered. A valid platform ack `{epoch, seq, hash}` marks every unsent row up to that
// event's rowid sent (rowid order is chain order across epochs, so an ack covers its own
// epoch up to seq and every older epoch entirely) and the mark is kept in the spool's
// meta `platform_ack`. Rows PUBACKed but not acked within `resendAfterSeconds` are sent
// again (historical, hist=1); after a restart every unacked row is sent again anyway
// (the forwarder's cursor starts at 0).
import type { Logger } from 'pino';
import { hashJcs, jcs } from '../chain/jcs.js';
import type { Spool } from '../spool/types.js';
import { LogThrottle } from '../log-throttle.js';

/** Spool meta key of the last platform-acked head (JSON PlatformAckMark). */
export const PLATFORM_ACK_META = 'platform_ack';

export interface PlatformAckMark {
  epoch: string;
  seq: number;
  hash: string;
  /** Rowid of the acked event: every row ≤ it is acked. */
  rowid: number;
  /** ISO time the ack was accepted. */
  at: string;
}

export interface PlatformAckOptions {
  spool: Spool;
  log: Logger;
  resendAfterMs: number;
  now: () => number;
}

/** Rows read per query while marking an ack. */
const MARK_CHUNK = 2000;

function readMark(text: string | undefined): PlatformAckMark | null {
  if (!text) return null;
  try {
    const m = JSON.parse(text) as PlatformAckMark;
    return typeof m.rowid === 'number' && typeof m.epoch === 'string' ? m : null;
  } catch {
    return null;
  }
}

/** The chain hash of a stored payload's body (as Chain.seal computes it), or null. */
export function payloadHash(payload: string): string | null {
  try {
    return hashJcs(jcs((JSON.parse(payload) as { body: unknown }).body));
  } catch {
    return null;
  }
}

export class PlatformAck {
  private mark: PlatformAckMark | null;
  /** Highest rowid the broker PUBACKed. */
  private pubackedMax = 0;
  /** PUBACK times of rows not acked yet: one entry per second, oldest first. */
  private pendingSince: Array<{ rowid: number; at: number }> = [];
  private readonly quiet = new LogThrottle();
  accepted = 0;
  ignored = 0;
  resends = 0;

  constructor(private readonly o: PlatformAckOptions) {
    this.mark = readMark(o.spool.getMeta(PLATFORM_ACK_META));
  }

  get ackedRowid(): number {
    return this.mark?.rowid ?? 0;
  }

  /** The broker acknowledged `rowid` (the row stays unsent in the spool). */
  onPuback(rowid: number): void {
    if (rowid > this.pubackedMax) this.pubackedMax = rowid;
    if (rowid <= this.ackedRowid) return;
    const now = this.o.now();
    const last = this.pendingSince[this.pendingSince.length - 1];
    if (!last || now - last.at >= 1000) this.pendingSince.push({ rowid, at: now });
  }

  /**
   * Rows due for resending: PUBACKed more than resendAfterMs ago and still not acked.
   * Returns the rowid to resume after and the highest rowid to mark historical.
   */
  due(): { after: number; upTo: number } | null {
    const first = this.pendingSince[0];
    if (!first || this.o.now() - first.at < this.o.resendAfterMs) return null;
    this.pendingSince = [];
    this.resends++;
    return { after: this.ackedRowid, upTo: this.pubackedMax };
  }

  /** An `ack` message. Returns true when it advanced the mark. */
  onMessage(payload: Buffer): boolean {
    let a: { epoch?: unknown; seq?: unknown; hash?: unknown };
    try {
      a = JSON.parse(payload.toString('utf8')) as typeof a;
    } catch {
      return this.ignore('not JSON', {});
    }
    if (!a || typeof a.epoch !== 'string' || typeof a.hash !== 'string' || typeof a.seq !== 'number' || !Number.isSafeInteger(a.seq) || a.seq < 1) {
      return this.ignore('expected {epoch, seq, hash}', {});
    }
    const { epoch, seq, hash } = a as { epoch: string; seq: number; hash: string };
    const where = { epoch: epoch.slice(0, 64), seq };
    let rowid: number | null = null;
    const row = this.o.spool.readRange(epoch, seq, 1)[0];
    if (row && row.epoch === epoch && row.seq === seq) {
      if (payloadHash(row.payload) !== hash) return this.ignore('hash does not match the stored event', where);
      rowid = row.rowid;
    } else {
      const h = this.o.spool.head();
      if (!h || h.epoch !== epoch || h.seq !== seq) return this.ignore('no such event in the spool', where);
      if (h.hash !== hash) return this.ignore('hash does not match the committed head', where);
      rowid = this.o.spool.maxRowid();
    }
    if (rowid <= this.ackedRowid) return false; // an older ack: already covered (acks are monotonic)
    this.markThrough(rowid);
    this.mark = { epoch, seq, hash, rowid, at: new Date(this.o.now()).toISOString() };
    this.o.spool.setMeta(PLATFORM_ACK_META, JSON.stringify(this.mark));
    // Buckets wholly acked leave; one that straddles the ack keeps its (older, so conservative) time.
    while (this.pendingSince.length > 0 && this.pendingSince[0].rowid <= rowid) {
      const next = this.pendingSince[1];
      if (next && next.rowid <= rowid + 1) {
        this.pendingSince.shift();
        continue;
      }
      if (this.pubackedMax > rowid) this.pendingSince[0] = { rowid: rowid + 1, at: this.pendingSince[0].at };
      else this.pendingSince.shift();
      break;
    }
    this.accepted++;
    return true;
  }

  /** Mark every unsent row up to `rowid` sent (delivered to the platform). */
  private markThrough(rowid: number): void {
    let after = 0;
    for (;;) {
      const rows = this.o.spool.readUnsent(after, MARK_CHUNK).filter((r) => r.rowid <= rowid);
      if (rows.length === 0) break;
      this.o.spool.markSent(rows.map((r) => r.rowid));
      after = rows[rows.length - 1].rowid;
      if (rows.length < MARK_CHUNK) break;
    }
  }

  private ignore(why: string, where: Record<string, unknown>): boolean {
    this.ignored++;
    this.quiet.log(this.o.log, 'warn', `ack.ignored.${why}`, where, `platform ack ignored: ${why}`);
    return false;
  }

  /** Health `platformAck`: the last platform-acked head. */
  status(): { epoch: string; seq: number; at: string } | null {
    return this.mark ? { epoch: this.mark.epoch, seq: this.mark.seq, at: this.mark.at } : null;
  }
}

// The forwarder's publish window (docs/architecture.md, the forwarder): spool rows → PUBLISH
// QoS 1 in rowid (= seq) order, at most `window` in flight, a row marked sent only after a
// successful PUBACK (batched, ack-batcher.ts) — or, with end-to-end ack, handed to it and
// left unsent. A refused PUBACK pauses publishing until the window drains, then resumes
// from the lowest unacknowledged row after backoff. The forwarder (forwarder.ts) owns the
// connection and tells the pump when it connects, closes and stops (PumpHost is the seam).
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { MqttConfig } from '../../config/schema.js';
import type { Spool, SpoolRow } from '../spool/types.js';
import { Backoff } from '../backoff.js';
import { errorKey, type LogThrottle } from '../log-throttle.js';
import { AckBatcher } from './ack-batcher.js';
import { within } from './incoming.js';
import { HIST0, HIST1, QOS1 } from './publish-options.js';
import type { Topics } from './topics.js';

/** Rows read from the spool per query. */
const READ_BATCH = 1000;

export interface PumpHost {
  mqtt: MqttConfig;
  topics: Topics;
  spool: Spool;
  log: Logger;
  broker: string;
  clock: { now(): number };
  random?: () => number;
  /** The forwarder's throttle, shared so one outage is one episode. */
  quiet: LogThrottle;
  /** The connected client and its generation; null while not connected or stopping. */
  live(): { client: MqttClient; gen: number } | null;
  /** The current client generation: callbacks of older clients are ignored. */
  gen(): number;
  stopping(): boolean;
  /** Sets the forwarder's lastError. */
  setError(msg: string): void;
  /** End-to-end ack: a PUBACKed row goes there instead of being marked sent. */
  platformAck: { onPuback(rowid: number): void } | null;
}

export class EventPump {
  private readonly v5: boolean;
  private readonly backoff: Backoff;
  private readonly acks: AckBatcher;
  window = 1;
  private cursor = 0;
  private buf: SpoolRow[] = [];
  private bufIdx = 0;
  private readonly inflightRows = new Set<number>();
  private pumping = false;
  private pumpQueued = false;
  private histUpTo = 0;
  /** Lowest rowid refused in this round; publishing pauses until the window drains. */
  private failedMin = Infinity;
  private failedInRound = 0;
  private retryRowid = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private drained: (() => void) | null = null;
  private refusal = '';

  published = 0;
  acked = 0;
  /** Wall time (ms) of the last PUBACK that accepted a publish; null before the first. */
  lastAckAt: number | null = null;
  failed = 0;

  constructor(private readonly h: PumpHost) {
    this.v5 = h.mqtt.protocolVersion === 5;
    this.backoff = new Backoff({ minMs: h.mqtt.reconnect.minMs, maxMs: h.mqtt.reconnect.maxMs, random: h.random });
    this.acks = new AckBatcher(h.spool, h.log);
  }

  get inflight(): number {
    return this.inflightRows.size;
  }

  /** A CONNECT succeeded: the window Receive Maximum allows; rows up to the current max are the backlog (historical). */
  onConnect(receiveMax: number): { window: number; backlogUpTo: number } {
    this.window = Math.max(1, Math.min(this.h.mqtt.inflightWindow, receiveMax));
    this.histUpTo = this.h.spool.maxRowid();
    return { window: this.window, backlogUpTo: this.histUpTo };
  }

  /** The connection ended: flush marks, resume from the lowest unacknowledged row next time. */
  onClose(): void {
    this.acks.flush();
    this.rewind();
    if (this.drained) this.drained();
  }

  /** At stop while connected: wait until `deadline` for in-flight PUBACKs, then flush marks. */
  async drain(deadline: number): Promise<void> {
    if (this.inflightRows.size > 0) {
      await within(new Promise<void>((resolve) => (this.drained = resolve)), deadline - Date.now());
      this.drained = null;
    }
    this.acks.flush();
  }

  /** First step of stop: no retry round any more. */
  halt(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** Last step of stop. */
  stop(): void {
    this.halt();
    this.acks.flush();
    this.inflightRows.clear();
  }

  pump(): void {
    if (this.pumping || this.failedMin !== Infinity) return;
    const live = this.h.live();
    if (!live) return;
    const client = live.client;
    this.pumping = true;
    // mqtt-packet writes every PUBLISH as 6–10 separate stream.write calls (header, length,
    // topic, id, properties, payload). Corked for the pump round, a round leaves as one
    // writev instead of one per publish (profiled: writev was a third of the drain's CPU).
    const stream = client.stream as { cork?: () => void; uncork?: () => void } | undefined;
    stream?.cork?.();
    try {
      const gen = live.gen;
      const now = this.h.clock.now();
      const histAge = this.h.mqtt.historicalAfterMs;
      while (this.inflightRows.size < this.window) {
        if (this.bufIdx >= this.buf.length) {
          this.buf = this.h.spool.readUnsent(this.cursor, READ_BATCH);
          this.bufIdx = 0;
          if (this.buf.length === 0) break;
        }
        const row = this.buf[this.bufIdx++];
        this.cursor = row.rowid;
        const rowid = row.rowid;
        // After a resend rewind (end-to-end ack) a row may still be in flight.
        if (this.h.platformAck && this.inflightRows.has(rowid)) continue;
        let opts = QOS1;
        if (this.v5) {
          const hist = rowid <= this.histUpTo || now - row.acceptedAt > histAge;
          opts = hist ? HIST1 : HIST0;
        }
        this.inflightRows.add(rowid);
        this.published++;
        client.publish(this.h.topics.evt(row.family), row.payload, opts, (err) => this.onAck(gen, rowid, err));
      }
    } catch (err) {
      this.h.setError(`spool read: ${(err as Error).message}`);
      this.h.quiet.log(this.h.log, 'error', errorKey('spool.read', err), { err: (err as Error).message }, 'reading the spool failed; retrying on the next notify');
    } finally {
      this.pumping = false;
      stream?.uncork?.();
    }
  }

  /** End-to-end ack's resend (ack-resend.ts): resume after rowid `after`, rows up to `upTo` historical. */
  resendFrom(after: number, upTo: number): void {
    this.histUpTo = Math.max(this.histUpTo, upTo);
    this.cursor = Math.min(this.cursor, after);
    this.buf = [];
    this.bufIdx = 0;
    this.pump();
  }

  /** True until the backlog present at connect time is acknowledged. */
  replaying(connected: boolean): boolean {
    if (!connected || this.histUpTo === 0) return false;
    if (this.cursor < this.histUpTo || this.failedMin <= this.histUpTo) return true;
    for (const r of this.inflightRows) if (r <= this.histUpTo) return true;
    return false;
  }

  private onAck(gen: number, rowid: number, err: (Error & { code?: unknown }) | undefined): void {
    if (gen !== this.h.gen()) return;
    if (err && typeof err.code !== 'number') return; // "Connection closed" etc.: onClose rewinds.
    this.inflightRows.delete(rowid);
    if (err) {
      this.failed++;
      this.failedInRound++;
      if (rowid < this.failedMin) this.failedMin = rowid;
      const code = err.code as number;
      this.refusal = `${this.h.broker}: broker refused event row ${rowid}: ${err.message.replace(/^Publish error: /, '').toLowerCase()} (PUBACK 0x${code.toString(16)})`;
      this.h.setError(this.refusal);
    } else {
      this.acked++;
      this.lastAckAt = this.h.clock.now();
      // With end-to-end ack the row stays unsent until the platform acks it (platform-ack.ts).
      if (this.h.platformAck) this.h.platformAck.onPuback(rowid);
      else this.acks.add(rowid);
      if (rowid === this.retryRowid) {
        this.retryRowid = 0;
        this.backoff.reset();
      }
    }
    if (this.inflightRows.size === 0 && this.drained) this.drained();
    if (this.failedMin !== Infinity) {
      if (this.inflightRows.size === 0) this.scheduleRetry();
    } else if (!this.pumpQueued) {
      // PUBACKs arrive in bursts (many per socket read): refill the window once per burst
      // so that one corked pump round carries many publishes.
      this.pumpQueued = true;
      setImmediate(this.queuedPump);
    }
  }

  private readonly queuedPump = (): void => {
    this.pumpQueued = false;
    this.pump();
  };

  private scheduleRetry(): void {
    if (this.retryTimer || this.h.stopping()) return;
    this.acks.flush();
    const delay = this.backoff.next();
    this.h.quiet.log(
      this.h.log,
      'error',
      errorKey('mqtt.refused', this.refusal),
      { broker: this.h.broker, refused: this.failedInRound, fromRow: this.failedMin, retryInMs: delay },
      `${this.refusal}; event(s) stay unsent and are retried after backoff`,
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.retryRowid = this.failedMin;
      this.rewind();
      this.pump();
    }, delay);
  }

  /** Resume from the lowest row not acknowledged (failed, in flight, or read but unsent). */
  private rewind(): void {
    let low = this.failedMin;
    for (const r of this.inflightRows) if (r < low) low = r;
    if (this.bufIdx < this.buf.length && this.buf[this.bufIdx].rowid < low) low = this.buf[this.bufIdx].rowid;
    if (low !== Infinity) this.cursor = Math.min(this.cursor, low - 1);
    this.inflightRows.clear();
    this.buf = [];
    this.bufIdx = 0;
    this.failedMin = Infinity;
    this.failedInRound = 0;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}

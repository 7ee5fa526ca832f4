// End-to-end acknowledgement as the forwarder sees it (docs/architecture.md "End-to-end
// acknowledgement", docs/mqtt-api.yaml `ack`): the subscription to `ack`, the routing of
// PUBACKs and ack messages to PlatformAck (platform-ack.ts, which owns the spool marks),
// and the resend of rows the broker accepted but the platform has not acked within
// `resendAfterSeconds`. The seam back to the forwarder is one call, `resend(after, upTo)`:
// rewind the publish cursor to `after` and publish rows up to `upTo` as historical.
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { MqttConfig } from '../../config/schema.js';
import type { Spool } from '../spool/types.js';
import { PlatformAck } from './platform-ack.js';

/** True when a publish the broker denies is acknowledged and dropped unseen: MQTT 3.1.1 without end-to-end ack. */
export function silentLossRisk(mqtt: Pick<MqttConfig, 'protocolVersion' | 'platformAck'>): boolean {
  return mqtt.protocolVersion === 4 && !mqtt.platformAck.enabled;
}

export const SILENT_LOSS_WARNING =
  'MQTT 3.1.1 without end-to-end ack: a publish the broker denies (ACL) is acknowledged and silently lost; use protocolVersion 5 or mqtt.platformAck.enabled';

export interface EndToEndAckOptions {
  spool: Spool;
  log: Logger;
  resendAfterSeconds: number;
  now: () => number;
  /** The `ack` topic of this gateway. */
  topic: string;
  /** Whether a resend may start now (connected, not stopping). */
  canResend: () => boolean;
  /** Rewind to rowid `after` and publish again, historical, every row up to `upTo`. */
  resend: (after: number, upTo: number) => void;
}

export class EndToEndAck {
  private readonly ack: PlatformAck;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: EndToEndAckOptions) {
    this.ack = new PlatformAck({ spool: o.spool, log: o.log, resendAfterMs: o.resendAfterSeconds * 1000, now: o.now });
  }

  /** Checks for due rows a few times per resendAfterSeconds (between 250 ms and 10 s). */
  start(): void {
    const every = Math.max(250, Math.min(this.o.resendAfterSeconds * 250, 10_000));
    this.timer = setInterval(() => this.resendDue(), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** After each CONNECT. */
  subscribe(client: MqttClient, broker: string): void {
    client.subscribe(this.o.topic, { qos: 1 }, (err) => {
      if (err) this.o.log.warn({ broker, err: err.message }, 'subscribing to platform acks failed');
    });
  }

  /** True when the message was an ack (handled here). */
  onMessage(topic: string, payload: Buffer): boolean {
    if (topic !== this.o.topic) return false;
    this.ack.onMessage(payload);
    return true;
  }

  /** The broker acknowledged `rowid`: it stays unsent in the spool until the platform acks it. */
  onPuback(rowid: number): void {
    this.ack.onPuback(rowid);
  }

  /** Health `platformAck`: the last platform-acked head. */
  status(): { epoch: string; seq: number; at: string } | null {
    return this.ack.status();
  }

  private resendDue(): void {
    if (!this.o.canResend()) return;
    const due = this.ack.due();
    if (!due) return;
    this.o.log.warn({ after: due.after, upTo: due.upTo, resendAfterSeconds: this.o.resendAfterSeconds }, 'platform has not acked events the broker accepted; sending them again (historical)');
    this.o.resend(due.after, due.upTo);
  }
}

// Public types of the forwarder (agent/forward/forwarder.ts): its options, status
// (also published on the health topic) and the command hook.
import type { Logger } from 'pino';
import type { MqttConfig } from '../../config/schema.js';
import type { Spool } from '../spool/types.js';

export interface ForwarderIdentity {
  kid: string;
  pubkey: string;
  version: string;
  /** Current chain epoch, read at each birth. */
  epoch: () => string;
}

export interface ForwarderOptions {
  mqtt: MqttConfig;
  site: string;
  gw: string;
  spool: Spool;
  log: Logger;
  identity: ForwarderIdentity;
  /** Agent health (spool depth, head seq, clock sync …), merged into the health topic. */
  health: () => Record<string, unknown>;
  clock?: { now(): number };
  /** Password read by the caller from mqtt.passwordFile; wins over mqtt.password. */
  password?: string;
  /** The signed committed head `{body, sig}` for the retained `head` topic (agent/forward/signed-head.ts); absent → not published. */
  signedHead?: () => string | null;
  /** Uniform [0,1) for the backoff jitter; tests pin it. */
  random?: () => number;
}

export interface ForwarderStatus {
  connected: boolean;
  inflight: number;
  /** Event publishes issued (resends included). */
  published: number;
  /** Successful PUBACKs of events. */
  acked: number;
  /** Last PUBACK that accepted a publish (ISO), null before the first. */
  lastAckAt: string | null;
  /** Refused PUBACKs (reason ≥ 0x80) of events. */
  failed: number;
  /** Connection attempts after the first (after a failure or a drop). */
  reconnects: number;
  lastError: string | null;
  /** True until the backlog present at connect time is acknowledged. */
  replaying: boolean;
  /** Unsent rows in the spool (in flight included). */
  backlog: number;
  bdSeq: number;
  /** End-to-end ack (mqtt.platformAck.enabled): the last platform-acked head, null before the first ack. Absent when off. */
  platformAck?: { epoch: string; seq: number; at: string } | null;
}

export interface IncomingCommand {
  name: string;
  topic: string;
  payload: Buffer;
  /** MQTT 5 response topic and correlation data, to be honoured by the result. */
  responseTopic?: string;
  correlationData?: Buffer;
}

export type CommandHandler = (cmd: IncomingCommand) => void;

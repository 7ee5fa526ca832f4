// What the forwarder announces besides events (docs/contracts.md §Topics, docs/mqtt-api.yaml):
// the retained birth on `state`, retained device states on `dev/{device}` (the latest per
// device, re-sent after each reconnect), the periodic `health`, the retained signed
// committed head on `head`, and at shutdown the last head and the clean `{online:false}`.
// The forwarder owns the connection and bdSeq and hands in the connected client.
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { ForwarderIdentity, ForwarderStatus } from './forwarder-types.js';
import { within } from './incoming.js';
import { QOS1, QOS1_RETAIN } from './publish-options.js';
import type { Topics } from './topics.js';

export interface AnnouncerOptions {
  topics: Topics;
  identity: ForwarderIdentity;
  /** ISO time the forwarder was created (birth `started`). */
  started: string;
  log: Logger;
  /** Agent health, merged into the health message. */
  health: () => Record<string, unknown>;
  /** The forwarder's status; `knownBacklog` saves a COUNT when the agent has just counted. */
  status: (knownBacklog?: number) => ForwarderStatus;
  signedHead?: () => string | null;
}

const ignoreErr = (): void => {};

export class Announcer {
  private readonly devices = new Map<string, string>();

  constructor(private readonly o: AnnouncerOptions) {}

  /** Device states and head after a CONNECT (the birth went first). */
  afterConnect(client: MqttClient): void {
    for (const [device, payload] of this.devices) client.publish(this.o.topics.dev(device), payload, QOS1_RETAIN, ignoreErr);
    this.head(client);
  }

  /** Retained birth; published again after a key rotation (it names the new kid and pubkey). */
  birth(client: MqttClient, bdSeq: number): void {
    const id = this.o.identity;
    const birth = { online: true, bdSeq, epoch: id.epoch(), kid: id.kid, pubkey: id.pubkey, version: id.version, started: this.o.started };
    client.publish(this.o.topics.state, JSON.stringify(birth), QOS1_RETAIN, ignoreErr);
  }

  /** Keeps the latest state of `device`; published now when connected. */
  device(client: MqttClient | null, device: string, state: Record<string, unknown>): void {
    const payload = JSON.stringify(state);
    this.devices.set(device, payload);
    if (client) client.publish(this.o.topics.dev(device), payload, QOS1_RETAIN, ignoreErr);
  }

  /** One health message (agent snapshot + forwarder status), then the signed head. */
  health(client: MqttClient): void {
    let agent: Record<string, unknown> = {};
    try {
      agent = this.o.health();
    } catch (err) {
      agent = { healthError: (err as Error).message };
    }
    // The agent's snapshot has just counted the spool; reuse its unsent count.
    const unsent = (agent.spool as { unsent?: unknown } | undefined)?.unsent;
    const forward = this.o.status(typeof unsent === 'number' ? unsent : undefined);
    client.publish(this.o.topics.health, JSON.stringify({ ...agent, forward }), QOS1, ignoreErr);
    this.head(client);
  }

  /** Retained signed committed head (docs/mqtt-api.yaml `head`). */
  head(client: MqttClient): void {
    const head = this.headPayload();
    if (head) client.publish(this.o.topics.head, head, QOS1_RETAIN, ignoreErr);
  }

  /** At shutdown: the committed head, then the retained clean `{online:false, bdSeq, clean:true}`, each awaited until `deadline`. */
  async atStop(client: MqttClient, bdSeq: number, deadline: number): Promise<void> {
    const head = this.headPayload();
    if (head) await within(new Promise<void>((resolve) => client.publish(this.o.topics.head, head, QOS1_RETAIN, () => resolve())), deadline - Date.now());
    const offline = JSON.stringify({ online: false, bdSeq, clean: true });
    await within(new Promise<void>((resolve) => client.publish(this.o.topics.state, offline, QOS1_RETAIN, () => resolve())), deadline - Date.now());
  }

  private headPayload(): string | null {
    try {
      return this.o.signedHead?.() ?? null;
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'signed head not available');
      return null;
    }
  }
}

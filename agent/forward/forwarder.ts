// The MQTT forwarder (docs/contracts.md §Topics): spool → broker, QoS 1, in rowid (= seq) order, a row
// marked sent only after a successful PUBACK. Called by the composition root: start()
// once, notify() after each spool commit, stop() at shutdown.
//
// The decisions behind it (one client per attempt, bounded window, refused PUBACKs,
// duplicates, historical marking, batched marks) are in docs/architecture.md. This file
// owns the connection (one client per attempt, bdSeq, reconnect backoff, commands in);
// beside it: pump.ts (the publish window, through PumpHost), announce.ts (birth, device
// states, health, signed head), ack-resend.ts (end-to-end ack and its resend) and
// republish.ts (`spool.replay`, through a PublishLink).
import { randomBytes } from 'node:crypto';
import { connect, type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import type { SpoolRow } from '../spool/types.js';
import type { CommandHandler, ForwarderOptions, ForwarderStatus } from './forwarder-types.js';
import { incomingCommand, within } from './incoming.js';
import { Backoff } from '../backoff.js';
import { brokerName, buildClientOptions, describeConnectError } from './mqtt-options.js';
import { makeTopics, type Topics } from './topics.js';
import { NullStore } from './null-store.js';
import { installPublishEncoder } from './publish-encoder.js';
import { errorKey, LogThrottle } from '../log-throttle.js';
import { ENCODED_PROPS, type PublishOpts } from './publish-options.js';
import { EndToEndAck, SILENT_LOSS_WARNING, silentLossRisk } from './ack-resend.js';
import { Announcer } from './announce.js';
import { republish, type PublishLink } from './republish.js';
import { EventPump } from './pump.js';

export type { CommandHandler, ForwarderIdentity, ForwarderOptions, ForwarderStatus, IncomingCommand } from './forwarder-types.js';

export class Forwarder {
  private readonly topics: Topics;
  private readonly broker: string;
  private readonly v5: boolean;
  private readonly clientId: string;
  private readonly clock: { now(): number };
  private readonly started: string;
  private readonly connBackoff: Backoff;
  /** Connect/reconnect and refusal lines while the broker stays away (docs/architecture.md). */
  private readonly quiet = new LogThrottle();

  private client: MqttClient | null = null;
  /** Bumped whenever a client is discarded: callbacks of older clients are ignored. */
  private gen = 0;
  private running = false;
  private stopping = false;
  private connected = false;
  private attempts = 0;
  private bdSeq = 0;

  private readonly pump: EventPump;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private lastError: string | null = null;

  private commandHandler: CommandHandler | null = null;
  /** End-to-end ack (mqtt.platformAck.enabled), else null: PUBACK marks rows sent. */
  private readonly platformAck: EndToEndAck | null;
  private readonly announce: Announcer;
  /** Called when the connection ends (a replay in progress stops waiting for its PUBACKs). */
  private closeWaiters: Array<() => void> = [];
  private readonly link: PublishLink;

  constructor(private readonly o: ForwarderOptions) {
    const m = o.mqtt;
    this.topics = makeTopics(m.prefix, o.site, o.gw);
    this.broker = brokerName(m.url);
    this.v5 = m.protocolVersion === 5;
    this.clientId = m.clientId ?? `gatewarden-${o.site}-${o.gw}-${randomBytes(3).toString('hex')}`;
    this.clock = o.clock ?? { now: () => Date.now() };
    this.started = new Date(this.clock.now()).toISOString();
    this.connBackoff = new Backoff({ minMs: m.reconnect.minMs, maxMs: m.reconnect.maxMs, random: o.random });
    this.bdSeq = Number(o.spool.getMeta('bdSeq') ?? 0) || 0;
    const pa = m.platformAck;
    this.platformAck = pa.enabled
      ? new EndToEndAck({
          spool: o.spool,
          log: o.log,
          resendAfterSeconds: pa.resendAfterSeconds,
          now: () => this.clock.now(),
          topic: this.topics.ack,
          canResend: () => this.connected && !this.stopping,
          resend: (after, upTo) => this.pump.resendFrom(after, upTo),
        })
      : null;
    this.pump = new EventPump({
      mqtt: m,
      topics: this.topics,
      spool: o.spool,
      log: o.log,
      broker: this.broker,
      clock: this.clock,
      random: o.random,
      quiet: this.quiet,
      live: () => (this.connected && !this.stopping && this.client ? { client: this.client, gen: this.gen } : null),
      gen: () => this.gen,
      stopping: () => this.stopping,
      setError: (msg) => (this.lastError = msg),
      platformAck: this.platformAck,
    });
    this.announce = new Announcer({ topics: this.topics, identity: o.identity, started: this.started, log: o.log, health: o.health, status: (n) => this.status(n), signedHead: o.signedHead });
    this.link = {
      topics: this.topics,
      v5: this.v5,
      client: () => (this.connected ? this.client : null),
      window: () => this.pump.window,
      onClose: (cb) => void this.closeWaiters.push(cb),
    };
  }

  /** Connect in the background. Never throws for network reasons; failures are retried. */
  start(): void {
    if (this.running) return;
    this.running = true;
    // mosquitto PUBACKs a 3.1.1 publish its ACL denies and drops it (MQTT 5 answers 0x87).
    if (silentLossRisk(this.o.mqtt)) this.o.log.warn({ broker: this.broker, protocolVersion: 4 }, SILENT_LOSS_WARNING);
    this.platformAck?.start();
    this.connectNow();
    this.healthTimer = setInterval(() => {
      if (this.connected && this.client) this.announce.health(this.client);
    }, this.o.mqtt.healthIntervalSeconds * 1000);
    this.healthTimer.unref();
  }

  /** New rows were committed to the spool. */
  notify(): void {
    this.pump.pump();
  }

  onCommand(handler: CommandHandler): void {
    this.commandHandler = handler;
  }

  /** Retained `dev/{device}`; the latest state per device is re-sent after each reconnect. */
  publishDevice(device: string, state: Record<string, unknown>): void {
    this.announce.device(this.connected ? this.client : null, device, state);
  }

  /** Publish a command result on `cmd-result`, or on the v5 response topic when given. */
  publishCommandResult(payload: string, to: { responseTopic?: string; correlationData?: Buffer } = {}): boolean {
    if (!this.connected || !this.client) return false;
    const opts: PublishOpts = { qos: 1 };
    if (this.v5 && to.correlationData) opts.properties = { correlationData: to.correlationData };
    this.client.publish(this.v5 && to.responseTopic ? to.responseTopic : this.topics.cmdResult, payload, opts, this.ignoreErr);
    return true;
  }

  /** `knownBacklog`: the unsent count when the caller has just read it (saves a COUNT). */
  status(knownBacklog?: number): ForwarderStatus {
    let backlog = knownBacklog ?? 0;
    if (knownBacklog === undefined) {
      try {
        backlog = this.o.spool.stats(this.clock.now()).unsent;
      } catch {
        backlog = -1;
      }
    }
    return {
      connected: this.connected,
      inflight: this.pump.inflight,
      published: this.pump.published,
      acked: this.pump.acked,
      lastAckAt: this.pump.lastAckAt === null ? null : new Date(this.pump.lastAckAt).toISOString(),
      failed: this.pump.failed,
      reconnects: Math.max(0, this.attempts - 1),
      lastError: this.lastError,
      replaying: this.pump.replaying(this.connected),
      backlog,
      bdSeq: this.bdSeq,
      ...(this.platformAck ? { platformAck: this.platformAck.status() } : {}),
    };
  }

  /**
   * Stop reading, wait up to timeoutMs for in-flight PUBACKs, flush markSent, publish the
   * retained `{online:false, bdSeq, clean:true}` and DISCONNECT normally (so the broker
   * discards the Will). Resolves within about timeoutMs.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.running = false;
    const deadline = Date.now() + timeoutMs;
    for (const t of [this.reconnectTimer, this.healthTimer]) if (t) clearTimeout(t);
    this.reconnectTimer = this.healthTimer = null;
    this.pump.halt();
    this.platformAck?.stop();
    const client = this.client;
    if (client && this.connected) {
      await this.pump.drain(deadline);
      // The committed head at shutdown (the daemon flushed the writer before stopping us), then offline.
      await this.announce.atStop(client, this.bdSeq, deadline);
      this.gen++;
      const ended = await within(new Promise<void>((resolve) => client.end(false, {}, () => resolve())), Math.max(50, deadline - Date.now()));
      if (!ended) client.stream?.destroy();
    } else if (client) {
      this.gen++;
      client.end(true);
    }
    this.pump.stop();
    this.client = null;
    this.connected = false;
    this.quiet.flush();
  }

  // ---- connection lifecycle ----

  private connectNow(): void {
    this.reconnectTimer = null;
    if (!this.running) return;
    this.attempts++;
    // bdSeq rises per attempt and across restarts (docs/contracts.md §Topics): persisted before CONNECT.
    this.bdSeq++;
    try {
      this.o.spool.setMeta('bdSeq', String(this.bdSeq));
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'could not persist bdSeq; continuing');
    }
    const gen = ++this.gen;
    let opts: IClientOptions;
    try {
      opts = buildClientOptions(this.o.mqtt, {
        clientId: this.clientId,
        password: this.o.password,
        will: { topic: this.topics.state, payload: JSON.stringify({ online: false, bdSeq: this.bdSeq }) },
      });
      opts.outgoingStore = new NullStore();
    } catch (err) {
      // e.g. an unreadable CA file: not a network error, but retrying lets an operator fix it live.
      this.lastError = `MQTT client options: ${(err as Error).message}`;
      this.quiet.log(this.o.log, 'error', errorKey('mqtt.error', this.lastError), { broker: this.broker }, this.lastError);
      this.scheduleReconnect();
      return;
    }
    this.quiet.log(this.o.log, 'info', 'mqtt.connecting', { broker: this.broker, bdSeq: this.bdSeq, protocolVersion: this.o.mqtt.protocolVersion }, 'connecting to MQTT broker');
    const client = connect(this.o.mqtt.url, opts);
    this.client = client;
    if (!installPublishEncoder(client, this.v5, ENCODED_PROPS) && this.attempts === 1) {
      this.o.log.warn('this mqtt.js has no _writePacket to wrap: publishing through mqtt-packet (slower, same bytes)');
    }
    client.on('connect', (connack) => {
      if (gen === this.gen) this.onConnect(client, connack);
    });
    client.on('error', (err) => {
      if (gen === this.gen) this.onError(err);
    });
    client.on('close', () => {
      if (gen === this.gen) this.onClose(client);
    });
    client.on('message', (topic, payload, packet) => {
      if (gen === this.gen) this.onMessage(topic, payload, packet);
    });
  }

  private onConnect(client: MqttClient, connack: IConnackPacket): void {
    this.connected = true;
    this.connBackoff.reset();
    this.lastError = null;
    // The outage is over: its pending summaries (how many attempts, how many refusals) now.
    this.quiet.resolved('mqtt.connecting');
    this.quiet.resolved('mqtt.reconnect');
    this.quiet.resolvedPrefix('mqtt.error');
    const { window, backlogUpTo } = this.pump.onConnect(connack.properties?.receiveMaximum ?? Infinity);
    this.quiet.log(this.o.log, 'info', 'mqtt.connected', { broker: this.broker, bdSeq: this.bdSeq, window, backlogUpTo }, 'connected to MQTT broker');
    this.announce.birth(client, this.bdSeq);
    client.subscribe(this.topics.cmdFilter, { qos: 1 }, (err) => {
      if (err) this.o.log.warn({ broker: this.broker, err: err.message }, 'subscribing to commands failed');
    });
    this.platformAck?.subscribe(client, this.broker);
    this.announce.afterConnect(client);
    this.pump.pump();
  }

  /** Publish the retained birth again (after a key rotation: it names the new kid and pubkey). */
  announceBirth(): void {
    if (this.connected && this.client) this.announce.birth(this.client, this.bdSeq);
  }

  private onError(err: Error & { code?: unknown }): void {
    const info = describeConnectError(err, this.o.mqtt.protocolVersion);
    this.lastError = `${this.broker}: ${info.reason}`;
    const msg =
      info.kind === 'auth'
        ? `MQTT broker ${this.broker} refused the connection: ${info.reason}; check mqtt.username and mqtt.password/passwordFile against the broker's users and ACL`
        : `MQTT ${this.broker}: ${info.reason}`;
    this.quiet.log(this.o.log, 'error', errorKey('mqtt.error', info.reason), { broker: this.broker, kind: info.kind, reason: info.reason }, msg);
  }

  private onClose(client: MqttClient): void {
    const wasConnected = this.connected;
    this.connected = false;
    this.gen++;
    this.client = null;
    // Drop mqtt.js's copy of anything unacknowledged: the spool decides what is resent.
    client.end(true);
    this.pump.onClose();
    for (const w of this.closeWaiters.splice(0)) w();
    if (wasConnected) this.quiet.log(this.o.log, 'warn', 'mqtt.lost', { broker: this.broker }, 'connection to MQTT broker lost');
    if (this.running) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (!this.running || this.reconnectTimer) return;
    const delay = this.connBackoff.next();
    const attempt = { broker: this.broker, retryInMs: delay, attempt: this.connBackoff.attempts };
    this.o.log.debug(attempt, 'reconnect scheduled'); // every attempt, for debugging the backoff
    this.quiet.log(this.o.log, 'info', 'mqtt.reconnect', attempt, 'reconnecting to MQTT broker after backoff');
    this.reconnectTimer = setTimeout(() => this.connectNow(), delay);
  }

  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    if (this.platformAck?.onMessage(topic, payload)) return;
    const cmd = incomingCommand(this.topics, topic, payload, packet);
    if (!cmd) return;
    if (!this.commandHandler) {
      this.o.log.debug({ topic }, 'command received but no handler is installed');
      return;
    }
    try {
      this.commandHandler(cmd);
    } catch (err) {
      this.o.log.error({ topic, err: (err as Error).message }, 'command handler threw');
    }
  }

  /** Publish stored rows again, historical, spool marks untouched (`spool.replay`); resolves with how many the broker acknowledged. */
  republish(rows: readonly SpoolRow[]): Promise<number> {
    return republish(this.link, rows);
  }

  private readonly ignoreErr = (): void => {};
}


// The MQTT forwarder (docs/contracts.md §Topics): spool → broker, QoS 1, in rowid (= seq) order, a row
// marked sent only after a successful PUBACK. Called by the composition root: start()
// once, notify() after each spool commit, stop() at shutdown.
//
// The decisions behind it (one client per attempt, bounded window, refused PUBACKs,
// duplicates, historical marking, batched marks) are in docs/architecture.md.
import { randomBytes } from 'node:crypto';
import { connect, type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import type { SpoolRow } from '../spool/types.js';
import { AckBatcher } from './ack-batcher.js';
import type { CommandHandler, ForwarderOptions, ForwarderStatus } from './forwarder-types.js';
import { incomingCommand, within } from './incoming.js';
import { Backoff } from '../backoff.js';
import { brokerName, buildClientOptions, describeConnectError } from './mqtt-options.js';
import { makeTopics, type Topics } from './topics.js';
import { NullStore } from './null-store.js';
import { installPublishEncoder } from './publish-encoder.js';
import { errorKey, LogThrottle } from '../log-throttle.js';
import { ENCODED_PROPS, HIST0, HIST1, QOS1, QOS1_RETAIN, type PublishOpts } from './publish-options.js';
import { PlatformAck } from './platform-ack.js';

/** Rows read from the spool per query. */
const READ_BATCH = 1000;

export type { CommandHandler, ForwarderIdentity, ForwarderOptions, ForwarderStatus, IncomingCommand } from './forwarder-types.js';

export class Forwarder {
  private readonly topics: Topics;
  private readonly broker: string;
  private readonly v5: boolean;
  private readonly clientId: string;
  private readonly clock: { now(): number };
  private readonly started: string;
  private readonly connBackoff: Backoff;
  private readonly pubBackoff: Backoff;
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

  private window = 1;
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

  private readonly acks: AckBatcher;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private drained: (() => void) | null = null;

  private published = 0;
  private acked = 0;
  /** Wall time (ms) of the last PUBACK that accepted a publish; null before the first. */
  private lastAckAt: number | null = null;
  private failed = 0;
  private lastError: string | null = null;

  private readonly devices = new Map<string, string>();
  private commandHandler: CommandHandler | null = null;
  /** End-to-end ack (mqtt.platformAck.enabled), else null: PUBACK marks rows sent. */
  private readonly platformAck: PlatformAck | null;
  private resendTimer: NodeJS.Timeout | null = null;
  /** Called when the connection ends (a replay in progress stops waiting for its PUBACKs). */
  private closeWaiters: Array<() => void> = [];

  constructor(private readonly o: ForwarderOptions) {
    const m = o.mqtt;
    this.topics = makeTopics(m.prefix, o.site, o.gw);
    this.broker = brokerName(m.url);
    this.v5 = m.protocolVersion === 5;
    this.clientId = m.clientId ?? `gatewarden-${o.site}-${o.gw}-${randomBytes(3).toString('hex')}`;
    this.clock = o.clock ?? { now: () => Date.now() };
    this.started = new Date(this.clock.now()).toISOString();
    const b = { minMs: m.reconnect.minMs, maxMs: m.reconnect.maxMs, random: o.random };
    this.connBackoff = new Backoff(b);
    this.pubBackoff = new Backoff(b);
    this.bdSeq = Number(o.spool.getMeta('bdSeq') ?? 0) || 0;
    this.acks = new AckBatcher(o.spool, o.log);
    const pa = m.platformAck;
    this.platformAck = pa.enabled ? new PlatformAck({ spool: o.spool, log: o.log, resendAfterMs: pa.resendAfterSeconds * 1000, now: () => this.clock.now() }) : null;
  }

  /** Connect in the background. Never throws for network reasons; failures are retried. */
  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.o.mqtt.protocolVersion === 4 && !this.platformAck) {
      // mosquitto PUBACKs a 3.1.1 publish its ACL denies and drops it (MQTT 5 answers 0x87).
      this.o.log.warn(
        { broker: this.broker, protocolVersion: 4 },
        'MQTT 3.1.1 without end-to-end ack: a publish the broker denies (ACL) is acknowledged and silently lost; use protocolVersion 5 or mqtt.platformAck.enabled',
      );
    }
    if (this.platformAck) {
      const every = Math.max(250, Math.min(this.o.mqtt.platformAck.resendAfterSeconds * 250, 10_000));
      this.resendTimer = setInterval(() => this.resendUnacked(), every);
      this.resendTimer.unref();
    }
    this.connectNow();
    this.healthTimer = setInterval(() => this.publishHealth(), this.o.mqtt.healthIntervalSeconds * 1000);
    this.healthTimer.unref();
  }

  /** New rows were committed to the spool. */
  notify(): void {
    this.pump();
  }

  onCommand(handler: CommandHandler): void {
    this.commandHandler = handler;
  }

  /** Retained `dev/{device}`; the latest state per device is re-sent after each reconnect. */
  publishDevice(device: string, state: Record<string, unknown>): void {
    const payload = JSON.stringify(state);
    this.devices.set(device, payload);
    if (this.connected && this.client) this.client.publish(this.topics.dev(device), payload, QOS1_RETAIN, this.ignoreErr);
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
      inflight: this.inflightRows.size,
      published: this.published,
      acked: this.acked,
      lastAckAt: this.lastAckAt === null ? null : new Date(this.lastAckAt).toISOString(),
      failed: this.failed,
      reconnects: Math.max(0, this.attempts - 1),
      lastError: this.lastError,
      replaying: this.isReplaying(),
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
    for (const t of [this.reconnectTimer, this.retryTimer, this.healthTimer, this.resendTimer]) if (t) clearTimeout(t);
    this.reconnectTimer = this.retryTimer = this.healthTimer = this.resendTimer = null;
    const client = this.client;
    if (client && this.connected) {
      if (this.inflightRows.size > 0) {
        await within(new Promise<void>((resolve) => (this.drained = resolve)), deadline - Date.now());
        this.drained = null;
      }
      this.acks.flush();
      // The committed head at shutdown (the daemon flushed the writer before stopping us).
      const head = this.signedHeadPayload();
      if (head) await within(new Promise<void>((resolve) => client.publish(this.topics.head, head, QOS1_RETAIN, () => resolve())), deadline - Date.now());
      const offline = JSON.stringify({ online: false, bdSeq: this.bdSeq, clean: true });
      await within(
        new Promise<void>((resolve) => client.publish(this.topics.state, offline, QOS1_RETAIN, () => resolve())),
        deadline - Date.now(),
      );
      this.gen++;
      const ended = await within(new Promise<void>((resolve) => client.end(false, {}, () => resolve())), Math.max(50, deadline - Date.now()));
      if (!ended) client.stream?.destroy();
    } else if (client) {
      this.gen++;
      client.end(true);
    }
    this.acks.flush();
    this.client = null;
    this.connected = false;
    this.inflightRows.clear();
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
    const receiveMax = connack.properties?.receiveMaximum ?? Infinity;
    this.window = Math.max(1, Math.min(this.o.mqtt.inflightWindow, receiveMax));
    this.histUpTo = this.o.spool.maxRowid();
    this.quiet.log(this.o.log, 'info', 'mqtt.connected', { broker: this.broker, bdSeq: this.bdSeq, window: this.window, backlogUpTo: this.histUpTo }, 'connected to MQTT broker');
    this.publishBirth(client);
    client.subscribe(this.topics.cmdFilter, { qos: 1 }, (err) => {
      if (err) this.o.log.warn({ broker: this.broker, err: err.message }, 'subscribing to commands failed');
    });
    if (this.platformAck) {
      client.subscribe(this.topics.ack, { qos: 1 }, (err) => {
        if (err) this.o.log.warn({ broker: this.broker, err: err.message }, 'subscribing to platform acks failed');
      });
    }
    for (const [device, payload] of this.devices) client.publish(this.topics.dev(device), payload, QOS1_RETAIN, this.ignoreErr);
    this.publishHead(client);
    this.pump();
  }

  /** Publish the retained birth again (after a key rotation: it names the new kid and pubkey). */
  announceBirth(): void {
    if (this.connected && this.client) this.publishBirth(this.client);
  }

  private publishBirth(client: MqttClient): void {
    const birth = {
      online: true,
      bdSeq: this.bdSeq,
      epoch: this.o.identity.epoch(),
      kid: this.o.identity.kid,
      pubkey: this.o.identity.pubkey,
      version: this.o.identity.version,
      started: this.started,
    };
    client.publish(this.topics.state, JSON.stringify(birth), QOS1_RETAIN, this.ignoreErr);
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
    this.acks.flush();
    this.rewind();
    for (const w of this.closeWaiters.splice(0)) w();
    if (this.drained) this.drained();
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
    if (topic === this.topics.ack) {
      if (this.platformAck) this.platformAck.onMessage(payload);
      return;
    }
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

  // ---- the publish pipeline ----

  private pump(): void {
    if (!this.connected || this.pumping || this.failedMin !== Infinity || this.stopping) return;
    const client = this.client;
    if (!client) return;
    this.pumping = true;
    // mqtt-packet writes every PUBLISH as 6–10 separate stream.write calls (header, length,
    // topic, id, properties, payload). Corked for the pump round, a round leaves as one
    // writev instead of one per publish (profiled: writev was a third of the drain's CPU).
    const stream = client.stream as { cork?: () => void; uncork?: () => void } | undefined;
    stream?.cork?.();
    try {
      const gen = this.gen;
      const now = this.clock.now();
      const histAge = this.o.mqtt.historicalAfterMs;
      while (this.inflightRows.size < this.window) {
        if (this.bufIdx >= this.buf.length) {
          this.buf = this.o.spool.readUnsent(this.cursor, READ_BATCH);
          this.bufIdx = 0;
          if (this.buf.length === 0) break;
        }
        const row = this.buf[this.bufIdx++];
        this.cursor = row.rowid;
        const rowid = row.rowid;
        // After a resend rewind (end-to-end ack) a row may still be in flight.
        if (this.platformAck && this.inflightRows.has(rowid)) continue;
        let opts = QOS1;
        if (this.v5) {
          const hist = rowid <= this.histUpTo || now - row.acceptedAt > histAge;
          opts = hist ? HIST1 : HIST0;
        }
        this.inflightRows.add(rowid);
        this.published++;
        client.publish(this.topics.evt(row.family), row.payload, opts, (err) => this.onAck(gen, rowid, err));
      }
    } catch (err) {
      this.lastError = `spool read: ${(err as Error).message}`;
      this.quiet.log(this.o.log, 'error', errorKey('spool.read', err), { err: (err as Error).message }, 'reading the spool failed; retrying on the next notify');
    } finally {
      this.pumping = false;
      stream?.uncork?.();
    }
  }

  private onAck(gen: number, rowid: number, err: (Error & { code?: unknown }) | undefined): void {
    if (gen !== this.gen) return;
    if (err && typeof err.code !== 'number') return; // "Connection closed" etc.: onClose rewinds.
    this.inflightRows.delete(rowid);
    if (err) {
      this.failed++;
      this.failedInRound++;
      if (rowid < this.failedMin) this.failedMin = rowid;
      const code = err.code as number;
      this.lastError = `${this.broker}: broker refused event row ${rowid}: ${err.message.replace(/^Publish error: /, '').toLowerCase()} (PUBACK 0x${code.toString(16)})`;
    } else {
      this.acked++;
      this.lastAckAt = this.clock.now();
      // With end-to-end ack the row stays unsent until the platform acks it (platform-ack.ts).
      if (this.platformAck) this.platformAck.onPuback(rowid);
      else this.acks.add(rowid);
      if (rowid === this.retryRowid) {
        this.retryRowid = 0;
        this.pubBackoff.reset();
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
    if (this.retryTimer || this.stopping) return;
    this.acks.flush();
    const delay = this.pubBackoff.next();
    this.quiet.log(
      this.o.log,
      'error',
      errorKey('mqtt.refused', this.lastError),
      { broker: this.broker, refused: this.failedInRound, fromRow: this.failedMin, retryInMs: delay },
      `${this.lastError}; event(s) stay unsent and are retried after backoff`,
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

  private isReplaying(): boolean {
    if (!this.connected || this.histUpTo === 0) return false;
    if (this.cursor < this.histUpTo || this.failedMin <= this.histUpTo) return true;
    for (const r of this.inflightRows) if (r <= this.histUpTo) return true;
    return false;
  }

  private publishHealth(): void {
    const client = this.client;
    if (!this.connected || !client) return;
    let agent: Record<string, unknown> = {};
    try {
      agent = this.o.health();
    } catch (err) {
      agent = { healthError: (err as Error).message };
    }
    // The agent's snapshot has just counted the spool; reuse its unsent count.
    const unsent = (agent.spool as { unsent?: unknown } | undefined)?.unsent;
    const forward = this.status(typeof unsent === 'number' ? unsent : undefined);
    client.publish(this.topics.health, JSON.stringify({ ...agent, forward }), QOS1, this.ignoreErr);
    this.publishHead(client);
  }

  private signedHeadPayload(): string | null {
    try {
      return this.o.signedHead?.() ?? null;
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'signed head not available');
      return null;
    }
  }

  /** Retained signed committed head (docs/mqtt-api.yaml `head`). */
  private publishHead(client: MqttClient): void {
    const head = this.signedHeadPayload();
    if (head) client.publish(this.topics.head, head, QOS1_RETAIN, this.ignoreErr);
  }

  /** End-to-end ack: rows PUBACKed but not acked within resendAfterSeconds are published again, historical. */
  private resendUnacked(): void {
    if (!this.platformAck || !this.connected || this.stopping) return;
    const due = this.platformAck.due();
    if (!due) return;
    this.o.log.warn({ after: due.after, upTo: due.upTo, resendAfterSeconds: this.o.mqtt.platformAck.resendAfterSeconds }, 'platform has not acked events the broker accepted; sending them again (historical)');
    this.histUpTo = Math.max(this.histUpTo, due.upTo);
    this.cursor = Math.min(this.cursor, due.after);
    this.buf = [];
    this.bufIdx = 0;
    this.pump();
  }

  /**
   * Publish stored rows again on their evt topics, historical (hist=1), at most `window`
   * in flight; spool marks are not touched (`spool.replay`, agent/commands/replay.ts).
   * Resolves with the number the broker acknowledged.
   */
  async republish(rows: readonly SpoolRow[]): Promise<number> {
    let ok = 0;
    let next = 0;
    await new Promise<void>((resolve) => {
      this.closeWaiters.push(resolve);
      let inflight = 0;
      const fill = (): void => {
        const client = this.client;
        if (!this.connected || !client) {
          if (inflight === 0) resolve();
          return;
        }
        while (inflight < this.window && next < rows.length) {
          const row = rows[next++];
          inflight++;
          client.publish(this.topics.evt(row.family), row.payload, this.v5 ? HIST1 : QOS1, (err) => {
            inflight--;
            if (!err) ok++;
            fill();
          });
        }
        if (inflight === 0 && next >= rows.length) resolve();
      };
      fill();
    });
    return ok;
  }

  private readonly ignoreErr = (): void => {};
}


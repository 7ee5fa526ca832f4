// One reader (PD) on a bus: its link state per OSDP v2.2 — sequence numbers (§5.6: 0 on
// (re)start, then 1,2,3,1…; a retry repeats the SQN; the SQN advances only on a valid
// reply), retries on timeout, BUSY, NAK handling, offline after `offlineAfterMs` without a
// valid reply (never on one NAK), re-probe with backoff, start-up ID → CAP → [Secure
// Channel] → LSTAT/ISTAT/OSTAT → POLL. Reply content is handed to ReaderEvents.
// The scheduler (./scheduler.ts) calls service() for one turn at a time: one reader holds
// the half-duplex line only for the exchanges of that turn.
import { randomBytes } from 'node:crypto';
import { OsdpParseError, SecureChannelError } from '../errors.js';
import { encodeFrame, type DecodedFrame, type Frame } from '../phy/frame.js';
import { encodeCommand, type OsdpCommand } from '../proto/commands.js';
import { NakCode, nakName } from '../proto/codes.js';
import { decodeReply, type Capability, type OsdpReply, type PdIdentity } from '../proto/replies.js';
import type { SecureSession } from '../sc/session.js';
import type { OsdpBus } from './bus.js';
import { SCBK_D } from '../sc/crypto.js';
import { HandshakeFailure, probeScbkD, resolveKey, runHandshake, type HandshakeLink, type ResolvedKey } from './handshake.js';
import type { KeyStore } from './key-store.js';
import type { ReaderEvents } from './reader-events.js';
import type { Clock } from '../../../agent/clock.js';
import type { OsdpConfig, ReaderConfig } from '../config.js';

export type ReaderState = 'unknown' | 'offline' | 'secure-wait' | 'online';

export interface ReaderDeps {
  bus: OsdpBus;
  busId: string;
  bus_cfg: OsdpConfig;
  cfg: ReaderConfig;
  keyStore: KeyStore;
  events: ReaderEvents;
  clock: Clock;
}

interface Queued {
  cmd: OsdpCommand;
  resolve: (r: OsdpReply | undefined) => void;
}

const MAX_BUSY = 5;

export class ReaderSession {
  readonly counters: Record<string, number> = {
    framesTx: 0, framesRx: 0, crcErrors: 0, lengthErrors: 0, timeouts: 0, retries: 0, naks: 0, busy: 0,
    sqnErrors: 0, decodeErrors: 0, scHandshakes: 0, scFailures: 0, macFailures: 0, keysets: 0, cardReads: 0, polls: 0,
    factoryKeyDetected: 0,
  };
  state: ReaderState = 'unknown';
  address: number;
  identity?: PdIdentity;
  capabilities?: Capability[];
  lastSeen: number | null = null;
  /** Wall ms of the last card read (set by ReaderEvents). */
  lastCardAt?: number;
  lastError?: string;
  /** Reason of the last Secure Channel failure (cleared when a session is established). */
  lastScReason?: string;
  private lastValidMono = -Infinity;
  private sqn = 0;
  private session?: SecureSession;
  private key?: ResolvedKey;
  private nextProbeAt = 0;
  private probeBackoff: number;
  private nextScAt = 0;
  private scBackoff: number;
  private nextPollAt = 0;
  private restartWanted = false;
  private readonly queue: Queued[] = [];

  constructor(private readonly d: ReaderDeps) {
    this.address = d.cfg.address;
    this.probeBackoff = d.bus_cfg.probeBackoffMs;
    this.scBackoff = d.bus_cfg.scBackoffMs;
  }

  get id(): string {
    return this.d.cfg.id;
  }
  get secure(): boolean {
    return this.session?.state === 'established';
  }
  get keySource(): string {
    return this.key?.source ?? 'none';
  }
  /** Secure Channel is wanted when a key or install mode is configured (or a key was stored). */
  private get secureRequired(): boolean {
    return this.d.cfg.secureRequired ?? this.currentKey() !== undefined;
  }

  private currentKey(): ResolvedKey | undefined {
    return resolveKey({ stored: this.d.keyStore.get(this.d.busId, this.id), configured: this.d.cfg.scbk, install: this.d.cfg.install });
  }

  /** Monotonic ms at which this reader next needs the line. */
  dueAt(): number {
    switch (this.state) {
      case 'unknown':
      case 'offline':
        return this.nextProbeAt;
      case 'secure-wait':
        return this.nextScAt;
      case 'online':
        if (this.queue.length || this.restartWanted) return 0;
        return this.key && !this.secure ? Math.min(this.nextPollAt, this.nextScAt) : this.nextPollAt;
    }
  }

  /** Queue a command (LED, BUZ, OUT, TEXT, COMSET …). Resolves the reply, or undefined if none came. */
  enqueue(cmd: OsdpCommand): Promise<OsdpReply | undefined> {
    if (this.state !== 'online') return Promise.resolve(undefined);
    return new Promise((resolve) => this.queue.push({ cmd, resolve }));
  }

  /** Drop queued commands (stop, offline). */
  flush(): void {
    for (const q of this.queue.splice(0)) q.resolve(undefined);
  }

  /** Time-based checks run every scheduler loop: offline detection, door held-open. */
  tick(): void {
    const now = this.d.clock.mono();
    this.d.events.tick(now);
    if (this.state === 'online' && now - this.lastValidMono > this.d.bus_cfg.offlineAfterMs) this.goOffline('no valid reply');
  }

  /** One turn on the line. */
  async service(): Promise<void> {
    const now = this.d.clock.mono();
    if (this.state === 'unknown' || this.state === 'offline' || this.restartWanted) {
      if (now < this.nextProbeAt && !this.restartWanted) return;
      await this.initialize();
      return;
    }
    if (this.state === 'secure-wait') {
      if (now >= this.nextScAt && (await this.handshake())) await this.becomeOnline();
      return;
    }
    if (this.key && !this.secure && now >= this.nextScAt) {
      await this.handshake();
      return;
    }
    const q = this.queue.shift();
    if (q) {
      q.resolve(await this.send(q.cmd));
      return;
    }
    if (now >= this.nextPollAt) {
      this.nextPollAt = now + this.d.bus_cfg.pollIntervalMs;
      this.counters.polls += 1;
      await this.send({ type: 'POLL' });
    }
  }

  /** Start-up sequence (also after NAK SEQUENCE_NUMBER): SQN 0 resets the PD's link and session. */
  private async initialize(): Promise<void> {
    this.restartWanted = false;
    this.sqn = 0;
    this.session = undefined;
    const probing = this.state !== 'online';
    const id = await this.send({ type: 'ID', replyType: 0 }, probing ? 0 : undefined);
    if (id?.type !== 'PDID') {
      if (this.state === 'online') this.goOffline('no answer to osdp_ID after a restart');
      this.state = 'offline';
      this.nextProbeAt = this.d.clock.mono() + this.probeBackoff;
      this.probeBackoff = Math.min(this.probeBackoff * 2, this.d.bus_cfg.probeBackoffMaxMs);
      return;
    }
    this.probeBackoff = this.d.bus_cfg.probeBackoffMs;
    const { type: _t, ...identity } = id;
    this.identity = identity;
    const cap = await this.send({ type: 'CAP', replyType: 0 });
    if (cap?.type === 'PDCAP') this.capabilities = cap.capabilities;
    this.key = this.currentKey();
    if (this.key) {
      this.scBackoff = this.d.bus_cfg.scBackoffMs;
      const ok = await this.handshake();
      if (!ok && this.secureRequired) {
        this.state = 'secure-wait';
        return;
      }
    }
    await this.becomeOnline();
  }

  private async becomeOnline(): Promise<void> {
    // Status on start (v2.2 §6.4–6.6); later changes arrive as POLL replies.
    for (const type of ['LSTAT', 'ISTAT', 'OSTAT'] as const) await this.send({ type });
    if (this.state !== 'online') {
      this.state = 'online';
      this.lastValidMono = Math.max(this.lastValidMono, this.d.clock.mono());
      this.d.events.online(this);
    }
  }

  private goOffline(reason: string): void {
    const wasOnline = this.state === 'online';
    this.state = 'offline';
    this.session = undefined;
    this.flush();
    this.nextProbeAt = this.d.clock.mono();
    this.probeBackoff = this.d.bus_cfg.probeBackoffMs;
    if (wasOnline) this.d.events.offline(this, reason);
  }

  private get link(): HandshakeLink {
    return { address: this.address, useCrc: this.d.bus_cfg.useCrc, sqn: () => this.sqn, exchange: (b) => this.exchange(b) };
  }

  /** Secure Channel handshake (+ install-mode KEYSET). True when established. */
  private async handshake(): Promise<boolean> {
    const key = this.currentKey();
    this.key = key;
    if (!key) return false;
    try {
      this.session = await runHandshake(this.link, key);
    } catch (err) {
      if (!(err instanceof HandshakeFailure)) throw err;
      // A key was expected: is the reader back on the factory key? (libosdp answers SCBK-D only
      // to a CHLNG that asks for it, so a mismatch is probed like libosdp's own CP does.)
      if (key.source !== 'scbk-d' && (err.reason === 'reader-reset-to-scbk-d' || err.reason === 'client-cryptogram-mismatch')) {
        if (err.reason === 'reader-reset-to-scbk-d' || (await probeScbkD(this.link))) return this.onFactoryKey(key);
        this.scFailed(err.reason, 'the reader holds neither the configured key nor the factory key SCBK-D (wrong SCBK for this reader?)');
        return false;
      }
      this.scFailed(err.reason, err.message);
      return false;
    }
    this.established();
    if (key.source === 'scbk-d') return this.installKey(key);
    return true;
  }

  private established(): void {
    this.counters.scHandshakes += 1;
    this.scBackoff = this.d.bus_cfg.scBackoffMs;
    this.nextScAt = Infinity;
    this.lastScReason = undefined;
  }

  /**
   * The reader answers with SCBK-D while it should hold `expected`: it was reset to factory
   * defaults or replaced. Always an alarm; re-keyed (osdp_KEYSET) only with install mode.
   */
  private async onFactoryKey(expected: ResolvedKey): Promise<boolean> {
    this.counters.factoryKeyDetected += 1;
    const install = this.d.cfg.install;
    const msg = `the reader answers with the factory key SCBK-D instead of the ${expected.source === 'store' ? 'installed' : 'configured'} key: it was reset or replaced; ${install ? 'install mode is on: re-keying it (osdp_KEYSET)' : 'it is re-keyed only with install: true'}`;
    this.scFailed('reader-reset-to-scbk-d', msg, install);
    if (!install) return false;
    try {
      this.session = await runHandshake(this.link, { source: 'scbk-d', scbk: SCBK_D });
    } catch (err) {
      if (!(err instanceof HandshakeFailure)) throw err;
      this.scFailed(err.reason, `SCBK-D session for re-keying: ${err.message}`);
      return false;
    }
    this.established();
    return this.installKey(expected);
  }

  /**
   * Install mode (Annex D): under SCBK-D, KEYSET the SCBK and re-handshake with it. A
   * configured SCBK is installed as it is; otherwise a fresh random key, kept in the key store.
   */
  private async installKey(expected: ResolvedKey): Promise<boolean> {
    const fromConfig = expected.source === 'config';
    const scbk = fromConfig ? expected.scbk : randomBytes(16);
    const r = await this.send({ type: 'KEYSET', keyType: 0x01, key: scbk });
    if (r?.type !== 'ACK') {
      this.scFailed('keyset-refused', `the reader did not accept osdp_KEYSET (${r ? r.type : 'no reply'})`);
      return false;
    }
    if (!fromConfig) this.d.keyStore.set(this.d.busId, this.id, scbk, this.session?.cuid);
    this.counters.keysets += 1;
    this.d.events.keyInstalled(this, fromConfig ? 'config' : 'store');
    this.session = undefined;
    return this.handshake();
  }

  private scFailed(reason: string, message: string, rekey?: boolean): void {
    this.session = undefined;
    this.counters.scFailures += 1;
    this.lastError = `secure channel: ${message}`;
    this.lastScReason = reason;
    this.nextScAt = this.d.clock.mono() + this.scBackoff;
    this.scBackoff = Math.min(this.scBackoff * 2, this.d.bus_cfg.scBackoffMaxMs);
    if (this.state === 'online' && this.secureRequired) this.state = 'secure-wait';
    this.d.events.secureChannelFailed(this, reason, message, this.key?.source ?? 'none', rekey);
  }

  /**
   * Send a command at the current SQN (secured when a session is up) and decode the reply.
   * Undefined when no usable reply came (timeouts, SC failure, undecodable reply).
   */
  async send(cmd: OsdpCommand, retries?: number): Promise<OsdpReply | undefined> {
    const { code, data } = encodeCommand(cmd);
    const session = this.secure ? this.session : undefined;
    for (let busy = 0; busy <= MAX_BUSY; busy++) {
      const frame = await this.exchange((sqn) => {
        const plain: Frame = { address: this.address, reply: false, sqn, useCrc: this.d.bus_cfg.useCrc, code, data };
        return session ? session.wrapCommand(plain) : encodeFrame(plain);
      }, retries);
      if (!frame) return undefined;
      let reply: OsdpReply;
      try {
        reply = decodeReply(...this.open(frame, session));
      } catch (err) {
        if (err instanceof SecureChannelError) {
          if (err.kind === 'mac-mismatch') this.counters.macFailures += 1;
          this.scFailed(err.kind, err.message);
          return undefined;
        }
        if (err instanceof OsdpParseError) {
          this.counters.decodeErrors += 1;
          this.lastError = err.message;
          return undefined;
        }
        throw err;
      }
      if (reply.type === 'BUSY') {
        // §7.22: the PD could not answer yet; the command is repeated. The PD did not
        // consume the SQN, so step back to resend at the same one.
        this.counters.busy += 1;
        this.sqn = frame.sqn;
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      if (reply.type === 'NAK') this.onNak(reply.error);
      else this.d.events.reply(this, reply, cmd);
      return reply;
    }
    return undefined;
  }

  private open(frame: DecodedFrame, session?: SecureSession): [number, Buffer] {
    if (session) {
      if (frame.scb) {
        const f = session.unwrapReply(frame);
        return [f.code, f.data];
      }
      // A plaintext NAK carries no card data; anything else in clear inside a session is refused.
      if (frame.code !== 0x41) throw new SecureChannelError('plaintext-in-session', `reply 0x${frame.code.toString(16)} without a security block`);
    } else if (frame.scb) {
      throw new SecureChannelError('bad-state', `secured reply 0x${frame.code.toString(16)} outside a session`);
    }
    return [frame.code, frame.data];
  }

  private onNak(error: number): void {
    this.counters.naks += 1;
    const key = `nak_${nakName(error)}`;
    this.counters[key] = (this.counters[key] ?? 0) + 1;
    if (error === NakCode.SEQUENCE_NUMBER) this.restartWanted = true;
    if (error === NakCode.SC_CONDITIONS && this.key) this.scFailed('nak-sc-conditions', 'the reader refused the command: secure channel conditions not met');
  }

  /**
   * One exchange at the current SQN with retries on timeout (same SQN, same bytes). The
   * SQN advances only on a valid reply carrying it; every valid reply refreshes liveness.
   */
  private async exchange(build: (sqn: number) => Buffer, retries = this.d.bus_cfg.retries): Promise<DecodedFrame | null> {
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) this.counters.retries += 1;
      const bytes = build(this.sqn);
      this.counters.framesTx += 1;
      const frame = await this.d.bus.transact(bytes, this.address, this.d.bus_cfg.replyTimeoutMs);
      if (!frame) {
        this.counters.timeouts += 1;
        continue;
      }
      if (frame.sqn !== this.sqn) {
        this.counters.sqnErrors += 1;
        continue;
      }
      this.counters.framesRx += 1;
      this.lastValidMono = this.d.clock.mono();
      this.lastSeen = this.d.clock.now();
      this.sqn = this.sqn === 3 ? 1 : this.sqn + 1;
      return frame;
    }
    return null;
  }
}

// SecureSession: the CP's Secure Channel state (OSDP v2.2 Annex D) as a pure object —
// no timers, no I/O, no randomness (RND.A is passed in). The CP session layer drives it:
//
//   challenge() → CHLNG ─▶ PD ─▶ CCRYPT → onCcrypt() → SCRYPT ─▶ PD ─▶ RMAC_I → onRmacI()
//   then for every exchange: wrapCommand(cmd) ─▶ PD ─▶ reply → unwrapReply(reply)
//
// MAC chain: a command's MAC uses IV = the last R-MAC (RMAC-I after the handshake), a
// reply's uses IV = that command's C-MAC. Re-wrapping the same command without an
// intervening reply yields the same bytes, so a retry (same SQN, §5) is just a re-wrap.
// Any verification failure moves the session to 'failed': the CP must re-handshake.
// wrapReply()/unwrapCommand() are the PD's half, for test peers and the vector tests.
import { OsdpParseError, SecureChannelError } from '../errors.js';
import { macInput, MAC_LENGTH, Scs, encodeFrame } from '../phy/frame.js';
import type { Frame } from '../phy/frame.js';
import { Cmd, Reply } from '../proto/codes.js';
import { decodeReply } from '../proto/replies.js';
import {
  clientCryptogram,
  computeMac,
  decryptData,
  deriveSessionKeys,
  encryptData,
  initialRmac,
  safeEqual,
  SCBK_D,
  serverCryptogram,
} from './crypto.js';
import type { SessionKeys } from './crypto.js';

export type SessionState = 'idle' | 'challenged' | 'awaiting-rmac-i' | 'established' | 'failed';

/** How a received secure frame was protected. 'scs15-quirk': see unwrapReply. */
export type Protection = 'mac' | 'encrypted' | 'scs15-quirk';

export interface UnwrappedFrame extends Frame {
  /** The frame with its SCB and MAC removed and data decrypted. */
  protection: Protection;
}

export interface SecureSessionOptions {
  /** The reader's SCBK (16 bytes). Ignored when useScbkD is set. */
  scbk?: Buffer;
  /** Install mode: handshake with SCBK-D (SCS_11 key selector 0x00). Needs an explicit opt-in. */
  useScbkD?: boolean;
}

export interface SecureSessionCounters {
  handshakes: number;
  macFailures: number;
  /** SCS_15 replies accepted (MAC verified) though replies should be SCS_16/18. */
  scs15Replies: number;
}

export class SecureSession {
  readonly counters: SecureSessionCounters = { handshakes: 0, macFailures: 0, scs15Replies: 0 };
  private st: SessionState = 'idle';
  private readonly scbk: Buffer;
  private readonly keySelector: number;
  private keys?: SessionKeys;
  private rndA?: Buffer;
  private rndB?: Buffer;
  private cuidValue?: Buffer;
  private rMac?: Buffer;
  private cMac?: Buffer;

  constructor(opts: SecureSessionOptions) {
    if (opts.useScbkD) {
      this.scbk = SCBK_D;
      this.keySelector = 0x00;
    } else {
      if (!opts.scbk || opts.scbk.length !== 16) throw new SecureChannelError('bad-key', 'an SCBK of 16 bytes is required (or useScbkD)');
      this.scbk = Buffer.from(opts.scbk);
      this.keySelector = 0x01;
    }
  }

  /** A session already established with known keys and MAC chain (tests, resumed peers). */
  static resume(args: { keys: SessionKeys; rMac: Buffer; cMac?: Buffer; cuid?: Buffer; useScbkD?: boolean }): SecureSession {
    // The SCBK itself is not needed once session keys exist; a re-handshake needs a new session.
    const s = new SecureSession(args.useScbkD ? { useScbkD: true } : { scbk: Buffer.alloc(16) });
    s.keys = args.keys;
    s.rMac = Buffer.from(args.rMac);
    if (args.cMac) s.cMac = Buffer.from(args.cMac);
    if (args.cuid) s.cuidValue = Buffer.from(args.cuid);
    s.st = 'established';
    return s;
  }

  get state(): SessionState {
    return this.st;
  }
  get usesScbkD(): boolean {
    return this.keySelector === 0x00;
  }
  /** The PD's cUID from CCRYPT (identity for logs and key diversification). */
  get cuid(): Buffer | undefined {
    return this.cuidValue;
  }
  get sessionKeys(): SessionKeys | undefined {
    return this.keys;
  }

  /** Start (or restart) a handshake: the osdp_CHLNG frame to send (SCS_11). */
  challenge(args: { address: number; sqn: number; rndA: Buffer; useCrc?: boolean }): Frame {
    if (args.rndA.length !== 8) throw new SecureChannelError('bad-key', 'RND.A must be 8 bytes');
    this.reset();
    this.rndA = Buffer.from(args.rndA);
    this.st = 'challenged';
    return {
      address: args.address,
      reply: false,
      sqn: args.sqn,
      useCrc: args.useCrc ?? true,
      scb: { type: Scs.SCS_11, data: Buffer.from([this.keySelector]) },
      code: Cmd.CHLNG,
      data: this.rndA,
    };
  }

  /** Verify osdp_CCRYPT (SCS_12) and return the osdp_SCRYPT frame (SCS_13) to send. */
  onCcrypt(reply: Frame, next: { sqn: number }): Frame {
    if (this.st !== 'challenged' || !this.rndA) return this.fail('bad-state', `CCRYPT received in state ${this.st}`);
    this.expectHandshakeReply(reply, Reply.CCRYPT, Scs.SCS_12, 'osdp_CCRYPT');
    const r = this.parse(reply);
    if (r.type !== 'CCRYPT') return this.fail('unexpected-reply', 'expected osdp_CCRYPT');
    const keys = deriveSessionKeys(this.scbk, this.rndA);
    if (!safeEqual(clientCryptogram(keys.sEnc, this.rndA, r.rndB), r.clientCryptogram)) {
      return this.fail('client-cryptogram-mismatch', 'the PD does not hold this SCBK (wrong key, or a reader reset to SCBK-D)');
    }
    this.keys = keys;
    this.rndB = r.rndB;
    this.cuidValue = r.cuid;
    this.st = 'awaiting-rmac-i';
    return {
      address: reply.address,
      reply: false,
      sqn: next.sqn,
      useCrc: reply.useCrc,
      scb: { type: Scs.SCS_13, data: Buffer.from([this.keySelector]) },
      code: Cmd.SCRYPT,
      data: serverCryptogram(keys.sEnc, this.rndA, r.rndB),
    };
  }

  /** Verify osdp_RMAC_I (SCS_14); on success the session is established. */
  onRmacI(reply: Frame): void {
    if (this.st !== 'awaiting-rmac-i' || !this.keys || !this.rndA || !this.rndB) return this.fail('bad-state', `RMAC_I received in state ${this.st}`);
    this.expectHandshakeReply(reply, Reply.RMAC_I, Scs.SCS_14, 'osdp_RMAC_I');
    if (reply.scb?.data[0] !== 0x01) return this.fail('server-cryptogram-rejected', 'the PD did not accept the server cryptogram');
    const r = this.parse(reply);
    if (r.type !== 'RMAC_I') return this.fail('unexpected-reply', 'expected osdp_RMAC_I');
    const want = initialRmac(this.keys, serverCryptogram(this.keys.sEnc, this.rndA, this.rndB));
    if (!safeEqual(want, r.rmacI)) return this.fail('rmac-i-mismatch', 'initial R-MAC does not match');
    this.rMac = want;
    this.cMac = undefined;
    this.st = 'established';
    this.counters.handshakes += 1;
  }

  /** Secure a plain command: SCS_15 when it has no data, else SCS_17 with encrypted data. */
  wrapCommand(frame: Frame, opts: { mark?: boolean } = {}): Buffer {
    const iv = this.chainIv(this.rMac, 'wrapCommand');
    const { bytes, mac } = this.protect(frame, iv, frame.data.length ? Scs.SCS_17 : Scs.SCS_15, opts.mark);
    this.cMac = mac;
    return bytes;
  }

  /**
   * Verify and open a reply: SCS_16 (clear data) or SCS_18 (encrypted) — libosdp answers
   * every reply with data in a session, LSTATR/ISTATR/OSTATR included, as SCS_18. Tolerated:
   * an SCS_15 reply (a CP→PD type, data in clear) whose MAC verifies, counted as
   * 'scs15-quirk' (drivers/osdp/README.md; no known PD sends one).
   */
  unwrapReply(frame: Frame): UnwrappedFrame {
    const iv = this.chainIv(this.cMac, 'unwrapReply');
    const type = frame.scb?.type;
    if (type === undefined) return this.fail('plaintext-in-session', `reply 0x${frame.code.toString(16)} without a security block`);
    if (type !== Scs.SCS_16 && type !== Scs.SCS_18 && type !== Scs.SCS_15) return this.fail('bad-scb', `SCB type 0x${type.toString(16)} in a reply`);
    const out = this.verify(frame, iv, type === Scs.SCS_18);
    this.rMac = out.mac;
    if (type === Scs.SCS_15) this.counters.scs15Replies += 1;
    return { ...out.frame, protection: type === Scs.SCS_15 ? 'scs15-quirk' : type === Scs.SCS_18 ? 'encrypted' : 'mac' };
  }

  /** PD half: verify and open a command (SCS_15 or SCS_17). */
  unwrapCommand(frame: Frame): UnwrappedFrame {
    const iv = this.chainIv(this.rMac, 'unwrapCommand');
    const type = frame.scb?.type;
    if (type === undefined) return this.fail('plaintext-in-session', `command 0x${frame.code.toString(16)} without a security block`);
    if (type !== Scs.SCS_15 && type !== Scs.SCS_17) return this.fail('bad-scb', `SCB type 0x${type.toString(16)} in a command`);
    const out = this.verify(frame, iv, type === Scs.SCS_17);
    this.cMac = out.mac;
    return { ...out.frame, protection: type === Scs.SCS_17 ? 'encrypted' : 'mac' };
  }

  /** PD half: secure a reply (SCS_16/SCS_18; `scs15Quirk` builds the tolerated SCS_15 form for tests). */
  wrapReply(frame: Frame, opts: { mark?: boolean; scs15Quirk?: boolean } = {}): Buffer {
    const iv = this.chainIv(this.cMac, 'wrapReply');
    const type = opts.scs15Quirk ? Scs.SCS_15 : frame.data.length ? Scs.SCS_18 : Scs.SCS_16;
    const { bytes, mac } = this.protect(frame, iv, type, opts.mark);
    this.rMac = mac;
    return bytes;
  }

  private protect(frame: Frame, iv: Buffer, type: number, mark?: boolean): { bytes: Buffer; mac: Buffer } {
    const keys = this.keys as SessionKeys;
    const encrypted = type === Scs.SCS_17 || type === Scs.SCS_18;
    const secured: Frame = {
      ...frame,
      scb: { type, data: Buffer.alloc(0) },
      data: encrypted ? encryptData(keys.sEnc, iv, frame.data) : frame.data,
    };
    const mac = computeMac(keys, iv, macInput(secured));
    secured.mac = mac.subarray(0, MAC_LENGTH);
    return { bytes: encodeFrame(secured, { mark: mark ?? false }), mac };
  }

  private verify(frame: Frame, iv: Buffer, encrypted: boolean): { frame: Frame; mac: Buffer } {
    const keys = this.keys as SessionKeys;
    const mac = computeMac(keys, iv, macInput(frame));
    if (!frame.mac || !safeEqual(mac.subarray(0, MAC_LENGTH), frame.mac)) {
      this.counters.macFailures += 1;
      return this.fail('mac-mismatch', `MAC of code 0x${frame.code.toString(16)} does not verify`);
    }
    let data = frame.data;
    if (encrypted) {
      try {
        data = decryptData(keys.sEnc, iv, frame.data);
      } catch (err) {
        if (err instanceof SecureChannelError) return this.fail(err.kind, err.message);
        throw err;
      }
    }
    const plain: Frame = { address: frame.address, reply: frame.reply, sqn: frame.sqn, useCrc: frame.useCrc, code: frame.code, data };
    return { frame: plain, mac };
  }

  private chainIv(mac: Buffer | undefined, op: string): Buffer {
    if (this.st !== 'established' || !this.keys || !mac) return this.fail('bad-state', `${op} in state ${this.st}${mac ? '' : ' (no MAC to chain from)'}`);
    return mac;
  }

  private expectHandshakeReply(reply: Frame, code: number, scs: number, name: string): void {
    if (reply.code === Reply.NAK) {
      const why = reply.data.length ? `NAK error ${reply.data[0]}` : 'NAK';
      this.fail('unexpected-reply', `${name} expected, PD answered ${why}`);
    }
    if (reply.code !== code || reply.scb?.type !== scs) {
      this.fail('unexpected-reply', `${name} with SCS 0x${scs.toString(16)} expected, got code 0x${reply.code.toString(16)}`);
    }
  }

  private parse(reply: Frame): ReturnType<typeof decodeReply> {
    try {
      return decodeReply(reply.code, reply.data);
    } catch (err) {
      if (err instanceof OsdpParseError) return this.fail('unexpected-reply', err.message);
      throw err;
    }
  }

  private reset(): void {
    this.keys = undefined;
    this.rndA = undefined;
    this.rndB = undefined;
    this.rMac = undefined;
    this.cMac = undefined;
    this.st = 'idle';
  }

  private fail(kind: SecureChannelError['kind'], message: string): never {
    this.reset();
    this.st = 'failed';
    throw new SecureChannelError(kind, message);
  }
}

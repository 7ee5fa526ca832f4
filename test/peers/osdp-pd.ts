// A faithful OSDP v2.2 peripheral (PD) for integration tests, on one end of a socat pty
// pair (or any BytePort). It shares the frame/payload codec with the CP, but its
// behaviour follows the spec on its own: its own framer (NAK on bad check characters
// addressed to it), sequence checks (§5.6: 0 resets, a repeat gets the cached reply, a
// skip gets NAK 0x04), NAK 0x03 for unknown commands and 0x02 for bad lengths, BUSY,
// Secure Channel with its own key derivation (./osdp-pd-crypto.ts), COMSET. Key choice,
// install mode and KEYSET follow libosdp's PD (drivers/osdp/README.md, "libosdp's
// handshake"): a PD set up without an SCBK is in install mode and holds an all-zero key;
// it uses SCBK-D only once a CHLNG asked for it (security block data 0), and from then on
// until a KEYSET; a CHLNG asking for SCBK-D of a PD not in install mode is answered with its
// own key. Replies with data in a session are SCS_18 (encrypted), without data SCS_16.
// Several PDs can share a bus.
// Run standalone (benchmarks): node --import tsx test/peers/osdp-pd.ts '<json PdBusSpec>'.
import { randomBytes } from 'node:crypto';
import { checksum8, crc16 } from '../../drivers/osdp/phy/crc.js';
import { decodeFrame, encodeFrame, macInput, Scs, type Frame } from '../../drivers/osdp/phy/frame.js';
import { Cmd, NakCode } from '../../drivers/osdp/proto/codes.js';
import { decodeCommand, type OsdpCommand } from '../../drivers/osdp/proto/commands.js';
import { encodeReply, type OsdpReply } from '../../drivers/osdp/proto/replies.js';
import { SerialBytePort } from '../../drivers/transport/serial.js';
import type { BytePort } from '../../drivers/transport/types.js';
import { bitsToRawBytes } from '../../drivers/cards/raw-bits.js';
import { PD_SCBK_D, pdClientCryptogram, pdDecrypt, pdEncrypt, pdInitialRmac, pdMac, pdServerCryptogram, pdSessionKeys, type PdKeys } from './osdp-pd-crypto.js';

export interface PdOptions {
  address: number;
  /** The PD's SCBK; absent = factory state: install mode with an all-zero key (as libosdp). */
  scbk?: Buffer;
  /** Install mode with a key set too (libosdp OSDP_FLAG_INSTALL_MODE); implied when scbk is absent. */
  installMode?: boolean;
  /** NAK 0x06 every plaintext command except ID/CAP/CHLNG/SCRYPT (a PD that enforces SC). */
  enforceSecure?: boolean;
  inputs?: number;
  outputs?: number;
  /** A text display: PDCAP function 6 (reader text output); without it osdp_TEXT is NAKed 0x03. */
  text?: boolean;
  serial?: number;
  /** Answer osdp_COMSET with osdp_COM but keep the old address and baud (a PD that did not switch). */
  ignoreComset?: boolean;
}

export interface ReceivedCommand {
  cmd: OsdpCommand;
  secure: boolean;
}

export interface PdCounters {
  commands: number;
  crcErrors: number;
  garbageBytes: number;
  naks: number;
  repeats: number;
  handshakes: number;
  macFailures: number;
}

interface Session {
  keys: PdKeys;
  rndA: Buffer;
  rndB: Buffer;
  established: boolean;
  rMac?: Buffer;
  cMac?: Buffer;
}

export class OsdpPd {
  address: number;
  scbk?: Buffer;
  installMode: boolean;
  /** libosdp PD_FLAG_SC_USE_SCBKD: set by a CHLNG asking for SCBK-D in install mode, cleared by KEYSET. */
  useScbkD = false;
  silent = false;
  /** Speed of the last applied COMSET, recorded only: a pty has no line timing, and a speed change
   *  there (serialport: TCIOFLUSH) can discard the COM reply before socat has copied it. */
  baud?: number;
  /** Answer the next N commands with BUSY. */
  busyNext = 0;
  readonly received: ReceivedCommand[] = [];
  /** Key selector (SCB data) of every osdp_CHLNG received: 1 = the PD's SCBK, 0 = SCBK-D. */
  readonly challenges: number[] = [];
  /** SCB type of the last secure reply per reply name (e.g. LSTATR → 0x18). */
  readonly replyScs = new Map<string, number>();
  readonly counters: PdCounters = { commands: 0, crcErrors: 0, garbageBytes: 0, naks: 0, repeats: 0, handshakes: 0, macFailures: 0 };
  tamper = 0;
  power = 0;
  readonly inputs: number[];
  readonly outputs: number[];
  private lastSqn?: number;
  private lastReply?: Buffer;
  private session?: Session;
  private readonly pending: OsdpReply[] = [];
  readonly cuid: Buffer;

  constructor(readonly opts: PdOptions) {
    this.address = opts.address;
    this.scbk = opts.scbk;
    this.installMode = opts.installMode ?? opts.scbk === undefined;
    this.inputs = new Array<number>(opts.inputs ?? 4).fill(0);
    this.outputs = new Array<number>(opts.outputs ?? 2).fill(0);
    this.cuid = Buffer.from([0x69, 0x7a, 0x99, 0x00, ...Buffer.alloc(4, opts.address)]);
  }

  get secure(): boolean {
    return this.session?.established ?? false;
  }

  // ---- stimuli (queued, reported as POLL replies, v2.2 §7) ----
  presentCard(bits: string, reader = 0): void {
    const { bytes, bitCount } = bitsToRawBytes(bits);
    this.pending.push({ type: 'RAW', reader, format: 0, bitCount, data: bytes });
  }
  keypad(digits: string, reader = 0): void {
    this.pending.push({ type: 'KEYPAD', reader, keys: Buffer.from(digits.replace(/\*/g, '\x7f').replace(/#/g, '\r'), 'latin1') });
  }
  setTamper(v: boolean): void {
    this.tamper = v ? 1 : 0;
    this.pending.push({ type: 'LSTATR', tamper: this.tamper, power: this.power });
  }
  setInput(i: number, v: number): void {
    this.inputs[i] = v;
    this.pending.push({ type: 'ISTATR', inputs: [...this.inputs] });
  }

  commandsOf<T extends OsdpCommand['type']>(type: T): Array<Extract<OsdpCommand, { type: T }>> {
    return this.received.filter((r) => r.cmd.type === type).map((r) => r.cmd as Extract<OsdpCommand, { type: T }>);
  }

  /** Process one command frame addressed to this PD; returns the reply bytes (or none). */
  handle(frame: ReturnType<typeof decodeFrame>): Buffer | undefined {
    if (this.silent) return undefined;
    this.counters.commands += 1;
    // §5.6 sequence numbers.
    if (frame.sqn === 0) {
      this.session = undefined; // SQN 0 restarts the link, and with it any secure session
    } else if (frame.sqn === this.lastSqn && this.lastReply) {
      this.counters.repeats += 1;
      return this.lastReply;
    } else if (this.lastSqn === undefined || frame.sqn !== (this.lastSqn % 3) + 1) {
      return this.nak(frame, NakCode.SEQUENCE_NUMBER, false);
    }
    if (this.busyNext > 0) {
      this.busyNext -= 1;
      return encodeFrame({ address: this.address, reply: true, sqn: frame.sqn, useCrc: frame.useCrc, code: 0x79, data: Buffer.alloc(0) }, { mark: true });
    }
    const reply = this.process(frame);
    this.lastSqn = frame.sqn;
    this.lastReply = reply;
    return reply;
  }

  private process(frame: Frame): Buffer {
    const scb = frame.scb?.type;
    if (frame.code === Cmd.CHLNG && scb === Scs.SCS_11) return this.onChallenge(frame);
    if (frame.code === Cmd.SCRYPT && scb === Scs.SCS_13) return this.onScrypt(frame);
    const code = frame.code;
    let data = frame.data;
    let secure = false;
    if (scb === Scs.SCS_15 || scb === Scs.SCS_17) {
      const s = this.session;
      if (!s?.established || !s.rMac) return this.nak(frame, NakCode.SC_CONDITIONS, true);
      const mac = pdMac(s.keys, s.rMac, macInput(frame));
      if (!frame.mac || !mac.subarray(0, 4).equals(frame.mac)) {
        this.counters.macFailures += 1;
        return this.nak(frame, NakCode.SC_CONDITIONS, true);
      }
      if (scb === Scs.SCS_17) {
        const plain = pdDecrypt(s.keys, s.rMac, frame.data);
        if (!plain) return this.nak(frame, NakCode.SC_CONDITIONS, true);
        data = plain;
      }
      s.cMac = mac;
      secure = true;
    } else if (scb !== undefined) {
      return this.nak(frame, NakCode.SC_CONDITIONS, true);
    } else if (this.session?.established || (this.opts.enforceSecure && code !== Cmd.ID && code !== Cmd.CAP)) {
      // Plaintext inside a session (or to an enforcing PD) is refused and ends the session.
      return this.nak(frame, NakCode.SC_CONDITIONS, true);
    }
    let cmd: OsdpCommand;
    try {
      cmd = decodeCommand(code, data);
    } catch {
      const known = Object.values(Cmd).includes(code as never);
      return this.reply(frame, { type: 'NAK', error: known ? NakCode.COMMAND_LENGTH : NakCode.UNKNOWN_COMMAND, errorName: 'UNKNOWN', detail: Buffer.alloc(0) }, secure);
    }
    this.received.push({ cmd, secure });
    const r = this.answer(cmd, secure);
    const out = this.reply(frame, r, secure);
    // §6.14: switch after the COM reply (encoded above at the old address).
    if (cmd.type === 'COMSET' && !this.opts.ignoreComset) [this.address, this.baud] = [cmd.address, cmd.baud];
    // libosdp commits a KEYSET after its ACK went out (in the session) and drops the session.
    if (cmd.type === 'KEYSET' && r.type === 'ACK') this.session = undefined;
    return out;
  }

  private answer(cmd: OsdpCommand, secure: boolean): OsdpReply {
    switch (cmd.type) {
      case 'POLL':
        return this.pending.shift() ?? { type: 'ACK' };
      case 'ID':
        return { type: 'PDID', vendor: 0x007a69, model: 153, version: 1, serial: this.opts.serial ?? 0x01020304, firmware: { major: 10, minor: 11, build: 12 } };
      case 'CAP':
        return {
          type: 'PDCAP',
          capabilities: [
            { function: 1, compliance: 1, items: this.inputs.length },
            { function: 2, compliance: 1, items: this.outputs.length },
            { function: 3, compliance: 1, items: 0 },
            { function: 4, compliance: 1, items: 1 },
            { function: 5, compliance: 1, items: 1 },
            // Table 25: 6 = reader text output (compliance 1 = one row of 16 characters, items = displays).
            ...(this.opts.text ? [{ function: 6, compliance: 1, items: 1 }] : []),
            // libosdp's implicit capabilities: 8 check character support (1 = CRC-16),
            // 9 communication security (1 = AES-128), 10 receive buffer size (LSB, MSB).
            { function: 8, compliance: 1, items: 0 },
            { function: 9, compliance: 1, items: 0 },
            { function: 10, compliance: 0x00, items: 0x01 },
          ],
        };
      case 'LSTAT':
        return { type: 'LSTATR', tamper: this.tamper, power: this.power };
      case 'ISTAT':
        return { type: 'ISTATR', inputs: [...this.inputs] };
      case 'OSTAT':
        return { type: 'OSTATR', outputs: [...this.outputs] };
      case 'OUT':
        for (const r of cmd.records) {
          if (r.output >= this.outputs.length) return { type: 'NAK', error: NakCode.UNABLE_TO_PROCESS, errorName: 'UNABLE_TO_PROCESS', detail: Buffer.alloc(0) };
          this.outputs[r.output] = r.control === 2 || r.control === 5 ? 1 : 0;
        }
        return { type: 'ACK' };
      case 'LED':
      case 'BUZ':
        return { type: 'ACK' };
      case 'TEXT':
        return this.opts.text ? { type: 'ACK' } : { type: 'NAK', error: NakCode.UNKNOWN_COMMAND, errorName: 'UNKNOWN_COMMAND', detail: Buffer.alloc(0) };
      case 'COMSET':
        return { type: 'COM', address: cmd.address, baud: cmd.baud };
      case 'KEYSET':
        // Annex D: only inside a secure session, key type 1 (SCBK), 16 bytes.
        if (!secure || cmd.keyType !== 1 || cmd.key.length !== 16) return { type: 'NAK', error: NakCode.SC_CONDITIONS, errorName: 'SC_CONDITIONS', detail: Buffer.alloc(0) };
        this.scbk = Buffer.from(cmd.key);
        this.installMode = false;
        this.useScbkD = false;
        return { type: 'ACK' };
      default:
        return { type: 'NAK', error: NakCode.UNKNOWN_COMMAND, errorName: 'UNKNOWN_COMMAND', detail: Buffer.alloc(0) };
    }
  }

  /**
   * libosdp's key choice: SCBK-D only when in install mode and a CHLNG asked for it (SCB data
   * 0) — sticky until KEYSET; otherwise the PD's own SCBK, all zeros when it was set up
   * without one. A CHLNG is never refused for its key: the cryptogram tells.
   */
  private onChallenge(frame: Frame): Buffer {
    const selector = frame.scb?.data[0];
    this.challenges.push(selector ?? -1);
    if (frame.data.length !== 8) return this.nak(frame, NakCode.COMMAND_LENGTH, true);
    if (this.installMode && selector === 0x00) this.useScbkD = true;
    const key = this.useScbkD ? PD_SCBK_D : (this.scbk ?? Buffer.alloc(16));
    const rndA = Buffer.from(frame.data);
    const rndB = randomBytes(8);
    const keys = pdSessionKeys(key, rndA);
    this.session = { keys, rndA, rndB, established: false };
    const data = Buffer.concat([this.cuid, rndB, pdClientCryptogram(keys, rndA, rndB)]);
    return encodeFrame({ address: this.address, reply: true, sqn: frame.sqn, useCrc: frame.useCrc, scb: { type: Scs.SCS_12, data: Buffer.from([this.useScbkD ? 0 : 1]) }, code: 0x76, data }, { mark: true });
  }

  private onScrypt(frame: Frame): Buffer {
    const s = this.session;
    if (!s || s.established) return this.nak(frame, NakCode.SC_CONDITIONS, true);
    const want = pdServerCryptogram(s.keys, s.rndA, s.rndB);
    // libosdp: a server cryptogram it cannot verify is answered NAK 0x05.
    if (!want.equals(frame.data)) return this.nak(frame, NakCode.SC_UNSUPPORTED, true);
    s.rMac = pdInitialRmac(s.keys, want);
    s.established = true;
    this.counters.handshakes += 1;
    return encodeFrame({ address: this.address, reply: true, sqn: frame.sqn, useCrc: frame.useCrc, scb: { type: Scs.SCS_14, data: Buffer.from([0x01]) }, code: 0x78, data: s.rMac }, { mark: true });
  }

  private nak(frame: Frame, error: number, dropSession: boolean): Buffer {
    this.counters.naks += 1;
    if (dropSession) this.session = undefined;
    const { code, data } = encodeReply({ type: 'NAK', error, errorName: 'UNKNOWN', detail: Buffer.alloc(0) });
    return encodeFrame({ address: this.address, reply: true, sqn: frame.sqn, useCrc: frame.useCrc, code, data }, { mark: true });
  }

  private reply(cmd: Frame, r: OsdpReply, secure: boolean): Buffer {
    if (r.type === 'NAK') this.counters.naks += 1;
    const { code, data } = encodeReply(r);
    const base: Frame = { address: this.address, reply: true, sqn: cmd.sqn, useCrc: cmd.useCrc, code, data };
    const s = this.session;
    if (!secure || !s?.established || !s.cMac) return encodeFrame(base, { mark: true });
    // libosdp pd_build_reply: a reply with data after its code is SCS_18, else SCS_16.
    const type = data.length ? Scs.SCS_18 : Scs.SCS_16;
    this.replyScs.set(r.type, type);
    const body = type === Scs.SCS_18 ? pdEncrypt(s.keys, s.cMac, data) : data;
    const f: Frame = { ...base, scb: { type, data: Buffer.alloc(0) }, data: body };
    const mac = pdMac(s.keys, s.cMac, macInput(f));
    s.rMac = mac;
    return encodeFrame({ ...f, mac: mac.subarray(0, 4) }, { mark: true });
  }
}

/**
 * The PD side of one line: its own framer feeding every PD on it. A candidate with bad
 * check characters addressed to a PD gets NAK 0x01 (§7.3); partial frames are dropped
 * after an inter-character gap so truncated noise cannot wedge the line.
 */
export class PdBus {
  private buf = Buffer.alloc(0);
  private gap?: NodeJS.Timeout;
  private closed = false;
  readonly counters = { frames: 0, crcErrors: 0, garbageBytes: 0, replies: 0 };

  constructor(
    readonly port: BytePort,
    readonly pds: OsdpPd[],
  ) {
    port.onData((chunk) => this.push(chunk));
  }

  find(address: number): OsdpPd | undefined {
    return this.pds.find((p) => p.address === address);
  }

  private push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    clearTimeout(this.gap);
    this.scan();
    if (this.buf.length) {
      this.gap = setTimeout(() => {
        this.counters.garbageBytes += 1;
        this.buf = this.buf.subarray(1);
        this.scan();
      }, 30);
    }
  }

  private scan(): void {
    for (;;) {
      const som = this.buf.indexOf(0x53);
      if (som < 0) {
        this.counters.garbageBytes += this.buf.length;
        this.buf = Buffer.alloc(0);
        return;
      }
      this.counters.garbageBytes += som;
      this.buf = this.buf.subarray(som);
      if (this.buf.length < 5) return;
      const len = this.buf[2] | (this.buf[3] << 8);
      if (len < 7 || len > 1024) {
        this.buf = this.buf.subarray(1);
        continue;
      }
      if (this.buf.length < len) return;
      const cand = this.buf.subarray(0, len);
      const useCrc = (cand[4] & 0x04) !== 0;
      const ok = useCrc ? crc16(cand, 0, len - 2) === (cand[len - 2] | (cand[len - 1] << 8)) : checksum8(cand, 0, len - 1) === cand[len - 1];
      if (!ok) {
        this.counters.crcErrors += 1;
        const pd = (cand[1] & 0x80) === 0 ? this.find(cand[1] & 0x7f) : undefined;
        if (pd && !pd.silent) {
          pd.counters.crcErrors += 1;
          pd.counters.naks += 1;
          const nak = encodeFrame({ address: pd.address, reply: true, sqn: cand[4] & 3, useCrc, code: 0x41, data: Buffer.from([NakCode.CHECK_CHARACTER]) }, { mark: true });
          this.send(nak);
        }
        this.buf = this.buf.subarray(1);
        continue;
      }
      this.buf = this.buf.subarray(len);
      let frame;
      try {
        frame = decodeFrame(cand);
      } catch {
        continue;
      }
      this.counters.frames += 1;
      if (frame.reply) continue;
      const pd = this.find(frame.address);
      const out = pd?.handle(frame);
      if (out) this.send(out);
    }
  }

  private send(bytes: Buffer): void {
    if (this.closed) return;
    this.counters.replies += 1;
    this.port.write(bytes).catch(() => undefined);
  }

  /** Inject raw bytes on the line from the PD side (noise tests). */
  inject(bytes: Buffer): Promise<void> {
    return this.port.write(bytes);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.gap);
    await this.port.close();
  }
}

/** Open a serial device (a pty end) and run PDs on it. */
export async function startPdBus(path: string, pds: PdOptions[], baud = 115200): Promise<PdBus & { pd: OsdpPd }> {
  const port = new SerialBytePort({ path, baudRate: baud });
  await port.open();
  const bus = new PdBus(port, pds.map((o) => new OsdpPd(o)));
  return Object.assign(bus, { pd: bus.pds[0] });
}

interface PdBusSpec {
  port: string;
  baud?: number;
  pds: Array<Omit<PdOptions, 'scbk'> & { scbk?: string }>;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '\0')) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as PdBusSpec;
  const bus = await startPdBus(spec.port, spec.pds.map((p) => ({ ...p, scbk: p.scbk ? Buffer.from(p.scbk, 'hex') : undefined })), spec.baud);
  process.stdout.write(`READY ${spec.port}\n`);
  const report = (): void => {
    process.stdout.write(`STATS ${JSON.stringify({ bus: bus.counters, pds: bus.pds.map((p) => p.counters) })}\n`);
  };
  process.on('SIGUSR2', report);
  process.stdin.on('end', () => void bus.close().then(() => process.exit(0)));
  process.stdin.resume();
}

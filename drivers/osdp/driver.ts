// The OSDP control-panel driver (docs/contracts.md §Driver seam): one instance = one bus (serial port) with its
// readers. Layers: transport (BytePort) → phy (Deframer, frames) → cp (ReaderSession,
// BusScheduler, Secure Channel policy) → this file (seam: start/stop/health/diagnose/command).
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonObject } from '../../agent/events/types.js';
import { SessionLink } from '../transport/link.js';
import { portSession } from '../transport/port-link.js';
import { INPROC_PREFIX, openBytePort } from '../transport/serial.js';
import type { BytePort } from '../transport/types.js';
import { CommandArgsError, CommandUnsupportedError, DriverRetryableError } from '../types.js';
import type { CommandResult, DeviceHealth, DiagnosticResult, Driver, DriverContext } from '../types.js';
import { defineWiegandFormat } from '../cards/formats.js';
import { buildCommand, COMMAND_NAMES, type OsdpCommandName } from './commands.js';
import { configHint, persistComset, resolveOverrides, type ActiveOverrides, type OverrideDeps } from './comset-overrides.js';
import type { OsdpConfig } from './config.js';
import { OsdpBus } from './cp/bus.js';
import { ComsetStore } from './cp/comset-store.js';
import { KeyStore } from './cp/key-store.js';
import { loadOrCreatePinKey } from './cp/pin-key.js';
import { identityInfo, ReaderEvents } from './cp/reader-events.js';
import { ReaderLog } from './cp/reader-log.js';
import { ReaderSession } from './cp/reader.js';
import { BusScheduler } from './cp/scheduler.js';

interface Reader {
  session: ReaderSession;
  events: ReaderEvents;
}

export class OsdpDriver implements Driver {
  private port?: BytePort;
  private bus?: OsdpBus;
  private scheduler?: BusScheduler;
  private readers: Reader[] = [];
  private stopped = false;
  /** Reopens a lost line (drivers/transport/link.ts); readers announce online/offline themselves. */
  private link?: SessionLink;
  private readonly startedAt: number;
  /** Line speed in use: the configured one unless a COMSET (now or persisted) changed it. */
  private baud: number;
  /** Readers whose address/baud come from a persisted COMSET instead of the config. */
  private overrides: ActiveOverrides = new Map();
  private readonly comsets: ComsetStore;
  private readerLog?: ReaderLog;

  constructor(
    private readonly cfg: OsdpConfig,
    private readonly ctx: DriverContext,
  ) {
    this.startedAt = ctx.clock.now();
    this.baud = cfg.baud;
    this.comsets = new ComsetStore(join(ctx.stateDir, 'osdp-comset.json'));
  }

  private overrideDeps(): OverrideDeps {
    return { store: this.comsets, cfg: this.cfg, log: this.ctx.log, reportError: (e, dev) => this.ctx.reportError(e, dev), now: this.ctx.clock.now() };
  }

  async start(): Promise<void> {
    // Before the port opens: a reader moved by an earlier COMSET may need another line speed.
    this.overrides = resolveOverrides(this.overrideDeps());
    const single = this.overrides.get(this.cfg.readers[0].id);
    this.baud = this.cfg.readers.length === 1 && single?.baudApplied ? single.baud : this.cfg.baud;
    let port: BytePort;
    try {
      port = openBytePort({ path: this.cfg.port, baudRate: this.baud });
    } catch (err) {
      throw new DriverRetryableError(`${this.cfg.port}: cannot open (${(err as Error).message})`);
    }
    this.port = port;
    const bus = new OsdpBus(port);
    this.bus = bus;
    this.link = new SessionLink({
      name: this.cfg.port,
      log: this.ctx.log,
      clock: this.ctx.clock,
      policy: this.cfg.reconnect,
      session: portSession(port),
      onDown: (err, wasUp) => {
        if (!this.stopped && wasUp) this.ctx.reportError(new Error(`${err.message}; reopening`));
      },
    });
    try {
      await this.link.start({ firstMustConnect: true });
    } catch (err) {
      throw new DriverRetryableError(`${this.cfg.port}: cannot open (${(err as Error).message})`);
    }
    const formats = this.cfg.formats.map((f, i) => defineWiegandFormat(f, `formats[${i}]`));
    const keyStore = new KeyStore(this.cfg.keyStore ?? join(this.ctx.stateDir, 'osdp-keys.json'));
    const emit = (o: Parameters<DriverContext['emit']>[0]): void => {
      if (!this.stopped) this.ctx.emit(o);
    };
    const pinKey = this.cfg.readers.some((rc) => rc.pinPolicy === 'hash') ? loadOrCreatePinKey(join(this.ctx.stateDir, 'osdp-pin.key')) : undefined;
    const readerLog = (this.readerLog = new ReaderLog(this.ctx.log, this.cfg.id));
    this.readers = this.cfg.readers.map((rc) => {
      const o = this.overrides.get(rc.id);
      // Events before the first online (e.g. a failed handshake) name the address in use.
      const events = new ReaderEvents(this.cfg.id, o ? { ...rc, address: o.address } : rc, formats, emit, this.ctx.clock, pinKey, readerLog);
      const session = new ReaderSession({ bus, busId: this.cfg.id, bus_cfg: this.cfg, cfg: rc, keyStore, events, clock: this.ctx.clock });
      if (o) session.address = o.address;
      return { session, events };
    });
    this.scheduler = new BusScheduler({
      bus,
      readers: this.readers.map((r) => r.session),
      clock: this.ctx.clock,
      onError: (err, reader) => {
        if (!this.stopped) this.ctx.reportError(err, reader);
      },
    });
    this.scheduler.start();
    this.ctx.log.info({ port: this.cfg.port, readers: this.readers.length }, 'osdp bus started');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.link?.stop();
    await this.scheduler?.stop();
    await this.port?.close().catch(() => undefined);
    this.readerLog?.flush();
  }

  health(): DeviceHealth[] {
    const out: DeviceHealth[] = this.readers.map(({ session: s, events }) => {
      const counters: Record<string, number> = { ...s.counters };
      if (s.lastCardAt !== undefined) counters.lastCardAt = s.lastCardAt;
      const h: DeviceHealth = {
        device: s.id,
        state: s.state === 'online' ? 'online' : s.state === 'secure-wait' ? 'degraded' : s.state === 'offline' ? 'offline' : 'unknown',
        lastSeen: s.lastSeen,
        counters,
        info: { address: s.address, secure: s.secure ? 'yes' : 'no', key: s.keySource, ...identityInfo(s.identity), status: JSON.stringify(events.status()) },
      };
      if (s.lastError) h.lastError = s.lastError;
      const o = this.overrides.get(s.id);
      if (o && h.info) {
        // Not a fault of the reader (it answers), so the state is untouched; diagnose() warns.
        h.info.configAddress = this.cfg.readers.find((x) => x.id === s.id)?.address ?? '';
        h.info.comsetOverride = `address ${o.address}, ${o.baud} baud since ${o.at}; ${configHint(this.cfg, s.id, o)}`;
      }
      return h;
    });
    if (this.bus) {
      out.push({
        device: this.cfg.id,
        state: this.port?.isOpen ? 'online' : 'offline',
        lastSeen: null,
        counters: { ...this.bus.counters, ...this.bus.deframer.counters },
        info: { port: this.cfg.port, baud: this.baud, ...(this.baud !== this.cfg.baud ? { configBaud: this.cfg.baud } : {}) },
      });
    }
    return out;
  }

  async diagnose(): Promise<DiagnosticResult[]> {
    const res: DiagnosticResult[] = [portCheck(this.cfg.port, this.port?.isOpen ?? false)];
    const now = this.ctx.clock.now();
    for (const { session: s } of this.readers) {
      const online = s.state === 'online';
      res.push(
        online
          ? { check: 'reader answers', device: s.id, verdict: 'pass', detail: `address ${s.address} online` }
          : s.state === 'secure-wait'
            ? // It answers osdp_ID/osdp_CAP: the line is fine; the secure channel check below says why it is not online.
              { check: 'reader answers', device: s.id, verdict: 'pass', detail: `address ${s.address} answers; waiting for the secure channel` }
          : {
              check: 'reader answers',
              device: s.id,
              verdict: 'fail',
              detail: `address ${s.address} ${s.state} (${s.counters.timeouts} timeouts, ${s.counters.crcErrors} CRC errors)`,
              hint: s.counters.crcErrors > 0 ? 'CRC errors: check baud rate, RS-485 A/B polarity and termination' : 'check power, wiring, the reader address and baud rate',
            },
      );
      if (s.keySource !== 'none') {
        res.push(
          s.secure
            ? { check: 'secure channel', device: s.id, verdict: 'pass', detail: `established (key from ${s.keySource}, ${s.counters.scHandshakes} handshakes)` }
            : {
                check: 'secure channel',
                device: s.id,
                verdict: 'fail',
                detail: s.lastError ?? 'not established',
                hint: secureChannelHint(s.lastScReason, s.state),
              },
        );
      }
      const o = this.overrides.get(s.id);
      if (o) {
        const rc = this.cfg.readers.find((x) => x.id === s.id);
        res.push({
          check: 'config matches reader',
          device: s.id,
          verdict: 'warn',
          detail: `COMSET at ${o.at} moved the reader to address ${o.address}, ${o.baud} baud; the config still says address ${rc?.address ?? '?'}, ${this.cfg.baud} baud (the stored setting is used)`,
          hint: configHint(this.cfg, s.id, o),
        });
      }
      res.push(
        s.lastCardAt === undefined
          ? { check: 'last card read', device: s.id, verdict: 'warn', detail: 'no card read since start', hint: 'present a card to test the reader' }
          : { check: 'last card read', device: s.id, verdict: 'pass', detail: `${Math.round((now - s.lastCardAt) / 1000)} s ago` },
      );
    }
    return res;
  }

  commands(): string[] {
    return [...COMMAND_NAMES];
  }

  async command(name: string, args: JsonObject, target?: string): Promise<CommandResult> {
    if (!(COMMAND_NAMES as readonly string[]).includes(name)) throw new CommandUnsupportedError(`osdp: unknown command "${name}" (known: ${COMMAND_NAMES.join(', ')})`);
    const r = target === undefined && this.readers.length === 1 ? this.readers[0] : this.readers.find((x) => x.session.id === target);
    if (!r) return { ok: false, detail: `no reader "${target ?? ''}" on bus ${this.cfg.id}` };
    const rc = this.cfg.readers.find((x) => x.id === r.session.id);
    // Bad args throw CommandArgsError (refused as bad-args, nothing sent).
    const cmd = buildCommand(name as OsdpCommandName, args, rc?.door?.strikeOutput);
    if (cmd.type === 'TEXT') {
      // Refused before the wire (libosdp's PD NAKs it the same way): PDCAP function 6 is text output.
      if (!r.session.capabilities) return { ok: false, detail: `reader "${r.session.id}" ${r.session.state}: its capabilities (osdp_PDCAP) are not known yet` };
      if (!hasCapability(r.session, CAP_TEXT_OUTPUT)) {
        throw new CommandUnsupportedError(`text: reader "${r.session.id}" reports no text display (osdp_PDCAP function 6, reader text output, absent or 0); nothing was sent`);
      }
    }
    if (cmd.type === 'COMSET') {
      // Two PDs on one address would garble each other's replies (§5: addresses are unique per line).
      const address = cmd.address;
      const clash = this.readers.find((x) => x !== r && x.session.address === address);
      if (clash) throw new CommandArgsError(`address: ${address} is used by reader "${clash.session.id}" on this bus`);
      // One line speed per RS-485 bus: moving one reader's speed strands every other one.
      if (cmd.baud !== this.baud && this.readers.length > 1) {
        throw new CommandArgsError(`baud: this bus carries ${this.readers.length} readers at ${this.baud} baud; changing one reader's speed would cut off the others (move them one by one on a bus of their own, or keep ${this.baud})`);
      }
    }
    const done = r.session.enqueue(cmd);
    this.scheduler?.poke();
    const reply = await done;
    if (!reply) return { ok: false, detail: r.session.state === 'online' ? 'no reply from the reader' : `reader ${r.session.state}` };
    if (reply.type === 'NAK') return { ok: false, detail: `reader NAK: ${reply.errorName}`, data: { nak: reply.error } };
    if (cmd.type === 'COMSET') {
      if (reply.type !== 'COM') return { ok: false, detail: `expected osdp_COM, got ${reply.type}` };
      return this.followComset(r.session, reply.address, reply.baud);
    }
    return { ok: true, detail: reply.type };
  }

  /**
   * §6.14: the PD answered osdp_COM at the old settings and switches after it. Follow it and
   * verify with a POLL; if it is not there, go back to the old settings, so a PD that did
   * not apply them (or refused the speed) is not lost until the next restart.
   */
  private async followComset(s: ReaderSession, address: number, baud: number): Promise<CommandResult> {
    const old = { address: s.address, baud: this.baud };
    await this.switchLine(s, address, baud);
    if (await this.answersPoll(s)) {
      // Only a verified move is recorded: a restart must find the reader where it answers.
      const kept = persistComset(this.overrideDeps(), this.overrides, s.id, { address, baud });
      return { ok: true, detail: `reader now at address ${address}, ${baud} baud; ${kept}`, data: { address, baud } };
    }
    await this.switchLine(s, old.address, old.baud);
    const back = await this.answersPoll(s);
    const where = `address ${old.address}, ${old.baud} baud`;
    return {
      ok: false,
      detail: `reader did not answer at address ${address}, ${baud} baud after COMSET; ${back ? `it still answers at ${where} (unchanged)` : `no answer at the old ${where} either; the bus stays there`}`,
    };
  }

  private async switchLine(s: ReaderSession, address: number, baud: number): Promise<void> {
    s.address = address;
    if (baud === this.baud) return;
    this.baud = baud;
    await this.port?.setBaudRate(baud);
  }

  /** One POLL through the reader's queue; any reply (even NAK) means it is there. */
  private async answersPoll(s: ReaderSession): Promise<boolean> {
    const reply = s.enqueue({ type: 'POLL' });
    this.scheduler?.poke();
    return (await reply) !== undefined;
  }
}

/** What to do about a failed secure channel, by the reason of the last failure. */
function secureChannelHint(reason: string | undefined, state: string): string {
  switch (reason) {
    case 'reader-reset-to-scbk-d':
      return 'the reader is back on the factory key SCBK-D (reset or replaced): check it on site; set install: true for this reader to re-key it on purpose, then turn install mode off';
    case 'client-cryptogram-mismatch':
      return 'wrong key: the reader holds neither the configured scbk (or key-store entry) nor the factory key; set the SCBK the reader was given, or reset the reader to factory defaults and use install mode';
    case 'no-reply':
      return 'the reader answers osdp_ID but not osdp_CHLNG: check it supports Secure Channel (PDCAP function 9), or set secureRequired: false for a plaintext reader';
    case 'keyset-refused':
      return 'the reader refused osdp_KEYSET: it must be in install mode (factory state) to accept a new key';
    case 'mac-mismatch':
    case 'nak-sc-conditions':
      return 'the session broke (MAC or secure-channel conditions): it is re-established with backoff; if it repeats, check for a second controller or noise on the line';
    default:
      return state === 'offline' ? 'the reader does not answer: check power, wiring, the reader address and baud rate' : 'check the SCBK matches the reader; a reader reset to factory keys needs install mode on purpose';
  }
}

/** OSDP v2.2 Table 25 (osdp_PDCAP): function 6 = reader text output (8 is check character support). */
const CAP_TEXT_OUTPUT = 6;

/** A capability the PD reports with a non-zero compliance level and at least one item. */
function hasCapability(s: ReaderSession, fn: number): boolean {
  return (s.capabilities ?? []).some((c) => c.function === fn && c.compliance > 0 && c.items > 0);
}

function portCheck(path: string, open: boolean): DiagnosticResult {
  const check = 'serial port';
  if (path.startsWith(INPROC_PREFIX)) return { check, verdict: open ? 'pass' : 'fail', detail: `${path} (in-process simulator)`, hint: open ? undefined : 'the demo simulator is not running' };
  try {
    statSync(path);
  } catch {
    return { check, verdict: 'fail', detail: `${path} does not exist`, hint: 'check the USB/RS-485 adapter is plugged in; use a stable /dev/serial/by-id/ path' };
  }
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch {
    return { check, verdict: 'fail', detail: `${path}: permission denied`, hint: 'add the service user to the dialout group (usermod -aG dialout gatewarden)' };
  }
  return { check, verdict: open ? 'pass' : 'warn', detail: open ? `${path} open` : `${path} accessible but not open`, hint: open ? undefined : 'another process may hold the port' };
}

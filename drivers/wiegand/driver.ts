// Wiegand-to-serial converter driver (docs/contracts.md §Driver seam): reads lines from the converter's port,
// parses them (./lines.ts) and decodes the bits (./formats.ts) → access.card.read. Raw bits
// are always kept; unknown lengths are reported raw (format 'unknown'), never guessed.
// Wiegand has no reply channel, so the reader itself cannot be supervised; what can be is
// the converter's port: it runs under the reconnecting link (drivers/transport/link.ts), so
// losing it (USB converter unplugged, cable cut) is announced as access.reader.offline and
// the port is reopened with backoff until it is back (online, with downMs).
import { accessSync, constants, statSync } from 'node:fs';
import type { JsonObject } from '../../agent/events/types.js';
import { SessionLink } from '../transport/link.js';
import { portSession } from '../transport/port-link.js';
import { INPROC_PREFIX, openBytePort } from '../transport/serial.js';
import type { BytePort } from '../transport/types.js';
import { DriverRetryableError, type DeviceHealth, type DiagnosticResult, type Driver, type DriverContext } from '../types.js';
import { bitsToRawBytes } from '../cards/raw-bits.js';
import { decodeWiegand, defineWiegandFormat, type WiegandFormat } from '../cards/formats.js';
import { compilePattern, parseLine } from './lines.js';
import type { WiegandConfig } from './config.js';

export class WiegandDriver implements Driver {
  private port?: BytePort;
  private buf = '';
  private stopped = false;
  private lastSeen: number | null = null;
  private lastCardAt?: number;
  private readonly counters = { lines: 0, reads: 0, unparsed: 0, parityErrors: 0, unknownLength: 0, overlong: 0 };
  private readonly formats: WiegandFormat[];
  private readonly pattern?: RegExp;
  private link?: SessionLink;

  constructor(
    private readonly cfg: WiegandConfig,
    private readonly ctx: DriverContext,
  ) {
    this.formats = cfg.formats.map((f, i) => defineWiegandFormat(f, `formats[${i}]`));
    if (cfg.pattern) this.pattern = compilePattern(cfg.pattern);
  }

  /** Opens the port once (a port that cannot open is retryable: the supervisor retries). */
  async start(): Promise<void> {
    let port: BytePort;
    try {
      port = openBytePort({ path: this.cfg.port, baudRate: this.cfg.baud });
    } catch (err) {
      throw new DriverRetryableError(`${this.cfg.port}: cannot open (${(err as Error).message})`);
    }
    this.port = port;
    port.onData((chunk) => this.onData(chunk));
    const base = (): JsonObject => ({ reader: this.cfg.id, via: 'wiegand-serial', port: this.cfg.port });
    this.link = new SessionLink({
      name: this.cfg.port,
      log: this.ctx.log,
      clock: this.ctx.clock,
      policy: this.cfg.reconnect,
      emit: (o) => {
        if (!this.stopped) this.ctx.emit(o);
      },
      announce: { device: this.cfg.id, online: 'access.reader.online', offline: 'access.reader.offline', base, downMs: true, src: { port: this.cfg.port } },
      session: portSession(port, { opened: () => (this.buf = ''), lossReason: (why) => `serial port lost: ${why}` }),
      onDown: (err, wasUp) => {
        if (this.stopped) return;
        if (wasUp) this.ctx.reportError(new Error(`${this.cfg.port}: ${err.message}; reopening`));
        else this.ctx.log.debug({ port: this.cfg.port, err: err.message }, 'wiegand converter port still unavailable');
      },
    });
    try {
      await this.link.start({ firstMustConnect: true });
    } catch (err) {
      throw new DriverRetryableError(`${this.cfg.port}: cannot open (${(err as Error).message})`);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.link?.stop();
    await this.port?.close().catch(() => undefined);
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    this.lastSeen = this.ctx.clock.now();
    this.buf += chunk.toString('latin1');
    let nl: number;
    while ((nl = this.buf.search(/[\r\n]/)) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      if (line.trim()) this.onLine(line);
    }
    if (this.buf.length > this.cfg.maxLineLength) {
      this.counters.overlong += 1;
      this.buf = '';
    }
  }

  private onLine(line: string): void {
    this.counters.lines += 1;
    const p = parseLine(line, this.cfg.lineFormat, this.pattern);
    if (!p) {
      this.counters.unparsed += 1;
      return;
    }
    let data: JsonObject;
    if (p.kind === 'decoded') {
      data = { format: 'converter-decimal', facility: p.fc, cardNumber: p.cn, bitCount: null, bits: null, rawHex: null, parityOk: null };
    } else {
      const d = decodeWiegand(p.bits, { formats: this.formats });
      const best = d.candidates[0];
      if (!best) this.counters.unknownLength += 1;
      else if (!best.parityOk) this.counters.parityErrors += 1;
      data = {
        format: best ? best.format : 'unknown',
        facility: best?.fc ?? null,
        cardNumber: best?.cn ?? null,
        bitCount: d.bitCount,
        bits: d.bits,
        rawHex: bitsToRawBytes(d.bits).bytes.toString('hex'),
        parityOk: best ? best.parityOk : null,
      };
      if (d.ambiguous) data.alternatives = d.candidates.filter((c) => c.parityOk).map((c) => ({ format: c.format, facility: c.fc ?? null, cardNumber: c.cn ?? null }));
    }
    this.counters.reads += 1;
    this.lastCardAt = this.ctx.clock.now();
    this.ctx.emit({ type: 'access.card.read', severity: 'info', device: this.cfg.id, data: { reader: this.cfg.id, ...data }, src: { port: this.cfg.port } });
  }

  health(): DeviceHealth[] {
    const counters: Record<string, number> = { ...this.counters };
    const l = this.link?.lifecycle.counters;
    if (l) Object.assign(counters, { linkSessions: l.sessions, linkLosses: l.losses, linkFailures: l.failures, flaps: l.flaps });
    if (this.lastCardAt !== undefined) counters.lastCardAt = this.lastCardAt;
    return [{ device: this.cfg.id, state: this.port?.isOpen ? 'online' : 'offline', lastSeen: this.lastSeen, counters, info: { port: this.cfg.port, lineFormat: this.cfg.lineFormat } }];
  }

  async diagnose(): Promise<DiagnosticResult[]> {
    const res: DiagnosticResult[] = [];
    const path = this.cfg.port;
    if (path.startsWith(INPROC_PREFIX)) res.push({ check: 'serial port', device: this.cfg.id, verdict: this.port?.isOpen ? 'pass' : 'fail', detail: path, hint: 'the demo simulator is not running' });
    else {
      try {
        statSync(path);
        accessSync(path, constants.R_OK | constants.W_OK);
        res.push({ check: 'serial port', device: this.cfg.id, verdict: this.port?.isOpen ? 'pass' : 'warn', detail: `${path} ${this.port?.isOpen ? 'open' : 'not open'}`, hint: 'another process may hold the port' });
      } catch (err) {
        res.push({ check: 'serial port', device: this.cfg.id, verdict: 'fail', detail: `${path}: ${(err as Error).message}`, hint: 'check the converter is plugged in and the service user is in the dialout group' });
      }
    }
    res.push(
      this.counters.unparsed > 0 && this.counters.reads === 0
        ? { check: 'line format', device: this.cfg.id, verdict: 'fail', detail: `${this.counters.unparsed} lines not understood as ${this.cfg.lineFormat}`, hint: 'check baud rate and lineFormat / pattern' }
        : { check: 'line format', device: this.cfg.id, verdict: 'pass', detail: `${this.counters.reads} reads, ${this.counters.unparsed} unparsed lines` },
    );
    res.push(
      this.lastCardAt === undefined
        ? { check: 'last card read', device: this.cfg.id, verdict: 'warn', detail: 'no card read since start', hint: 'present a card to test the reader' }
        : { check: 'last card read', device: this.cfg.id, verdict: 'pass', detail: `${Math.round((this.ctx.clock.now() - this.lastCardAt) / 1000)} s ago` },
    );
    return res;
  }
}

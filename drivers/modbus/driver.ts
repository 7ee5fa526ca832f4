// The Modbus driver instance: one bus (RTU line or TCP endpoint) with its units. Wires the
// link, the units and the scheduler, and answers the seam's health/diagnose/command calls.
// start() opens the port once and throws DriverRetryableError when it cannot (the
// supervisor retries); after that the reconnecting link (drivers/transport/link.ts, owned
// by the scheduler) re-opens a lost port, with unit offline/online events, because a
// serial adapter unplugged for a minute is routine.
import { constants as fsc } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import type { JsonObject, Observation } from '../../agent/events/types.js';
import {
  CommandUnsupportedError,
  DriverRetryableError,
  type CommandResult,
  type DeviceHealth,
  type DiagnosticResult,
  type Driver,
  type DriverContext,
} from '../types.js';
import { encodeRegisters } from './codec.js';
import { interFrameDelayMs, type ModbusConfig } from './config.js';
import { EXCEPTION_NAMES, SerialLibLink, type ModbusLink } from './link.js';
import { BusScheduler } from './scheduler.js';
import { CoilOutputs, OUTPUT_COMMANDS } from './output-commands.js';
import { UnitRuntime } from './unit.js';

export class ModbusDriver implements Driver {
  readonly units: UnitRuntime[];
  private readonly scheduler: BusScheduler;
  private readonly outputs: CoilOutputs;
  private emitting = false;
  private started = false;

  constructor(
    private readonly cfg: ModbusConfig,
    private readonly ctx: DriverContext,
    private readonly link: ModbusLink = new SerialLibLink(cfg.transport, { timeoutMs: cfg.timeoutMs }),
  ) {
    const env = {
      bus: cfg.id,
      emit: (o: Observation): boolean => {
        // stop() promises silence: a read completing during stop() reports nothing (and so
        // advances no alarm). ctx.emit returns false when the pipeline refused it.
        if (!this.emitting) return false;
        return this.ctx.emit(o) !== false;
      },
      now: () => ctx.clock.now(),
      mono: () => ctx.clock.mono(),
      reportError: (e: Error, device: string) => {
        if (this.emitting) this.ctx.reportError(e, device);
      },
    };
    this.units = cfg.units.map((u) => new UnitRuntime(u, env));
    this.scheduler = new BusScheduler({
      cfg,
      link: this.link,
      units: this.units,
      log: ctx.log,
      mono: () => ctx.clock.mono(),
      interFrameDelayMs: cfg.transport.type === 'rtu' ? interFrameDelayMs(cfg.transport) : 0,
      reportError: (e) => {
        if (this.emitting) this.ctx.reportError(e);
      },
    });
    this.outputs = new CoilOutputs(this.units, this.scheduler);
    ctx.signal.addEventListener('abort', () => void this.stop(), { once: true });
  }

  async start(): Promise<void> {
    if (this.started) return;
    try {
      await this.scheduler.open();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new DriverRetryableError(`modbus bus ${this.cfg.id}: cannot open ${this.link.describe()}: ${msg}`);
    }
    this.started = true;
    this.emitting = true;
    this.scheduler.start();
    this.ctx.log.info({ link: this.link.describe(), units: this.units.length }, 'modbus bus started');
  }

  async stop(): Promise<void> {
    this.emitting = false;
    if (!this.started) {
      await this.link.close();
      return;
    }
    this.started = false;
    await this.scheduler.stop();
    await this.link.close();
  }

  health(): DeviceHealth[] {
    return this.units.map((u) => u.health(this.link.isOpen));
  }

  commands(): string[] {
    return ['write', ...OUTPUT_COMMANDS];
  }

  /** `write {point, value}` to a writable coil or holding register point; target = unit device id when point names clash. */
  async command(name: string, args: JsonObject, target?: string): Promise<CommandResult> {
    // output.pulse / output.set on coils (drivers/modbus/output-commands.ts); target = bus id means any unit.
    if ((OUTPUT_COMMANDS as readonly string[]).includes(name)) return this.outputs.run(name, args, target === this.cfg.id ? undefined : target);
    if (name !== 'write') throw new CommandUnsupportedError(`modbus: unknown command "${name}" (known: ${this.commands().join(', ')})`);
    const pointName = args.point;
    const value = args.value;
    if (typeof pointName !== 'string') return { ok: false, detail: 'args.point must be a point name' };
    if (typeof value !== 'number' && typeof value !== 'boolean') return { ok: false, detail: 'args.value must be a number or boolean' };
    const hits = this.units
      .filter((u) => target === undefined || u.id === target)
      .map((u) => ({ u, p: u.pointByName(pointName) }))
      .filter((h) => h.p !== null);
    if (hits.length !== 1) return { ok: false, detail: hits.length === 0 ? `no point "${pointName}"` : `point "${pointName}" exists on several units: give a target` };
    const { u, p } = hits[0] as { u: UnitRuntime; p: NonNullable<ReturnType<UnitRuntime['pointByName']>> };
    if (!p.cfg.writable) return { ok: false, detail: `point "${pointName}" is not writable (set writable: true)` };
    try {
      if (p.cfg.table === 'coil') {
        await this.scheduler.write(u, 5, p.cfg.address, [value === true || value === 1]);
      } else {
        if (p.cfg.type === 'bool' && p.cfg.bit !== undefined) {
          return { ok: false, detail: 'writing a single bit of a register is not supported (read-modify-write is unsafe on a shared register)' };
        }
        const regs = encodeRegisters(value, p.cfg.type, p.cfg.order, p.cfg);
        await this.scheduler.write(u, regs.length === 1 ? 6 : 16, p.cfg.address, regs);
      }
      return { ok: true, detail: `wrote ${String(value)} to ${u.id}.${pointName}` };
    } catch (e) {
      return { ok: false, detail: e instanceof Error ? e.message : String(e) };
    }
  }

  async diagnose(): Promise<DiagnosticResult[]> {
    const out: DiagnosticResult[] = [];
    const t = this.cfg.transport;
    if (t.type === 'rtu') {
      out.push(...(await serialChecks(t.path)));
    }
    out.push(
      this.link.isOpen
        ? { check: 'bus open', device: this.cfg.id, verdict: 'pass', detail: `${this.link.describe()} open, ${this.scheduler.reconnects} re-open(s)` }
        : {
            check: 'bus open',
            device: this.cfg.id,
            verdict: 'fail',
            detail: `${this.link.describe()} not open${this.scheduler.lastOpenError ? `: ${this.scheduler.lastOpenError}` : ''}`,
            hint: t.type === 'rtu' ? 'check the adapter is plugged in and the path is right (ls -l /dev/serial/by-id)' : `check the device is reachable: nc -vz ${t.host} ${t.port}`,
          },
    );
    for (const u of this.units) {
      const h = u.health(this.link.isOpen);
      if (u.state === 'online') out.push({ check: 'unit answers', device: u.id, verdict: 'pass', detail: `unit ${u.cfg.unitId}: ${h.counters.responses} responses` });
      else
        out.push({
          check: 'unit answers',
          device: u.id,
          verdict: u.state === 'unknown' ? 'warn' : 'fail',
          detail: `unit ${u.cfg.unitId} ${u.state}${u.lastError ? `: ${u.lastError}` : ''} (${h.counters.timeouts} timeouts)`,
          hint:
            t.type === 'rtu'
              ? 'check the unit id, baud rate and parity against the device, A/B wiring and termination; `gatewarden discover modbus --port` lists units that answer'
              : 'check the unit id the gateway expects (often 1 or 255) and that the device behind it is powered',
        });
      if (u.exceptionsByCode.size > 0) {
        const seen = [...u.exceptionsByCode].map(([c, n]) => `exception ${c} (${EXCEPTION_NAMES[c] ?? 'unknown'}) ×${n}`).join(', ');
        const standing = [...u.activeExceptions.values()].map((x) => `${x.request} [${x.points.join(', ')}]`).join('; ');
        out.push({
          check: 'exception responses',
          device: u.id,
          verdict: 'warn',
          detail: `${seen}${standing ? `; still failing: ${standing}` : ''}`,
          hint: u.exceptionsByCode.has(2)
            ? 'exception 2: the address is not implemented: check the register map; addresses here are 0-based protocol addresses (holding register 40001 = address 0)'
            : 'see the device manual for the exception; 6 (busy) usually needs a longer poll interval',
        });
      }
      if (h.counters.crcErrors + h.counters.frameErrors > 0) {
        out.push({
          check: 'frame errors',
          device: u.id,
          verdict: 'warn',
          detail: `${h.counters.crcErrors} CRC errors, ${h.counters.frameErrors} malformed frames`,
          hint: 'baud rate/parity mismatch, missing termination or bias resistors, or a second master on the line',
        });
      }
    }
    return out;
  }
}

async function serialChecks(path: string): Promise<DiagnosticResult[]> {
  try {
    await stat(path);
  } catch {
    return [{ check: 'serial port exists', device: path, verdict: 'fail', detail: `${path} does not exist`, hint: 'plug the adapter in or fix transport.path; stable names live in /dev/serial/by-id' }];
  }
  const out: DiagnosticResult[] = [{ check: 'serial port exists', device: path, verdict: 'pass', detail: path }];
  try {
    await access(path, fsc.R_OK | fsc.W_OK);
    out.push({ check: 'serial port permission', device: path, verdict: 'pass', detail: 'read/write allowed' });
  } catch {
    out.push({ check: 'serial port permission', device: path, verdict: 'fail', detail: `no read/write access to ${path}`, hint: 'add the service user to the dialout group (usermod -aG dialout gatewarden) and restart' });
  }
  return out;
}

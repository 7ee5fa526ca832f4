// Shared by the Modbus integration tests: the pymodbus peer process, a real DriverContext
// that collects observations (data checked against docs/events.schema.json, see
// ../helpers/event-schema.ts), and polling helpers (no fixed sleeps, no timing asserts).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Observation } from '../../agent/events/types.js';
import { systemClock } from '../../agent/clock.js';
import type { DriverContext } from '../../drivers/types.js';
import { modbusConfigSchema, type ModbusConfig } from '../../drivers/modbus/config.js';
import { tempDir } from '../helpers/chain.js';
import { collectingContext } from '../helpers/driver-context.js';

const PEER = fileURLToPath(new URL('../peers/modbus_slave.py', import.meta.url));
/** Debian's python3 carries python3-pymodbus; a pyenv shim earlier in PATH may not. */
export const PYTHON = process.env.GW_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

export interface Peer {
  /** TCP port or serial device the peer listens on. */
  where: string;
  set(unit: number, table: 'hr' | 'ir' | 'co' | 'di', address: number, values: Array<number | boolean>): Promise<void>;
  /** Writes a master made, in order (the peer's config needs `logWrites: true`). */
  writes(): Array<{ unit: number; fc: number; address: number; values: Array<number | boolean> }>;
  kill(): Promise<void>;
}

export async function startPeer(config: object, timeoutMs = 15_000): Promise<Peer> {
  const child: ChildProcess = spawn(PYTHON, [PEER, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  child.once('error', () => undefined);
  const kill = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGKILL');
      await exit;
    }
  };
  const waitOut = async (re: RegExp, what: string): Promise<RegExpMatchArray> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = out.match(re);
      if (m) return m;
      if (exited || Date.now() > deadline) {
        await kill();
        throw new Error(`modbus peer: ${what} not seen; stdout=${out.trim()} stderr=${err.trim().slice(-2000)}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        waiters.push(() => (clearTimeout(t), r()));
      });
    }
  };
  const m = await waitOut(/READY (\S+)/, 'READY');
  let n = 0;
  return {
    where: m[1],
    kill,
    writes: () =>
      [...out.matchAll(/^WRITE (\d+) (\d+) (\d+) (.*)$/gm)].map((w) => ({ unit: Number(w[1]), fc: Number(w[2]), address: Number(w[3]), values: JSON.parse(w[4]) as Array<number | boolean> })),
    async set(unit, table, address, values) {
      n += 1;
      child.stdin?.write(`${JSON.stringify({ op: 'set', unit, table, address, values })}\n`);
      await waitOut(new RegExp(`OK ${n}\\b`), `OK ${n}`);
    },
  };
}

export interface TestCtx {
  ctx: DriverContext;
  events: Observation[];
  /** performance.now() of each event, same index as `events`. */
  times: number[];
  abort: AbortController;
  errors: Error[];
  /** Emitted observations whose data breaks docs/events.schema.json (they also fail the running test). */
  schemaErrors: string[];
}

/** collectingContext (test/helpers/driver-context.ts) plus the arrival time of each event. */
export function makeCtx(): TestCtx {
  const c = collectingContext(systemClock, tempDir('gw-modbus-'));
  const times: number[] = [];
  const errors: Error[] = [];
  const emit = c.ctx.emit;
  c.ctx.emit = (o) => {
    emit(o);
    times.push(performance.now());
  };
  const report = c.ctx.reportError;
  c.ctx.reportError = (e, device) => {
    report(e, device);
    errors.push(e);
  };
  return { ctx: c.ctx, events: c.events, times, abort: c.abort, errors, schemaErrors: c.schemaErrors };
}

export function parseConfig(raw: unknown): ModbusConfig {
  return modbusConfigSchema.parse(raw);
}

/** The shared poller (test/helpers/driver-context.ts). */
export { waitUntil as waitFor } from '../helpers/driver-context.js';

/**
 * A slave whose unit 1 has 20 holding registers (power = hr 0 = 100) and bus `bus-x` with
 * unit `pm-1` polled every 50 ms: a large gap allowance merges `power` and `bogus` (hr 50)
 * into one read of 0..50, which the slave refuses with exception 2 on every poll.
 */
export async function startStandingExceptionPeer(t: { after(fn: () => unknown): void }): Promise<{ peer: Peer; config: ModbusConfig }> {
  const peer = await startPeer({ transport: 'tcp', port: 0, units: { '1': { size: 20, hr: { '0': [100] } } } });
  t.after(() => peer.kill());
  const config = parseConfig({
    id: 'bus-x',
    transport: { type: 'tcp', host: '127.0.0.1', port: Number(peer.where) },
    units: [
      {
        id: 'pm-1',
        unitId: 1,
        pollIntervalMs: 50,
        maxGapRegisters: 60,
        points: [
          { name: 'power', table: 'holding', address: 0, type: 'uint16' },
          { name: 'bogus', table: 'holding', address: 50, type: 'uint16' },
        ],
      },
    ],
  });
  return { peer, config };
}

export function readings(events: Observation[], device: string, point: string): Array<number | boolean | string> {
  return events
    .filter((e) => e.type === 'sensor.reading' && e.device === device && e.data.point === point)
    .map((e) => e.data.value as number | boolean | string);
}

export function ofType(events: Observation[], type: string, device?: string): Observation[] {
  return events.filter((e) => e.type === type && (device === undefined || e.device === device));
}

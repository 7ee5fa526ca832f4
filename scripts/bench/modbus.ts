import { tmpdir } from 'node:os';
// Modbus benchmark (not a test): requests per second and CPU time per request over RTU on a
// socat pty and over TCP against pymodbus, beside the wire-time limit a real line imposes.
// A pty has no baud rate: bytes move as fast as the kernel copies them, so pty figures show
// the software cost (ours + modbus-serial + pymodbus), never what a 9600-baud line allows.
// Run: node --import tsx scripts/bench/modbus.ts [seconds-per-case, default 3]
import { pino } from 'pino';
import { ModbusDriver } from '../../drivers/modbus/driver.js';
import { modbusConfigSchema } from '../../drivers/modbus/config.js';
import { SerialLibLink, type ModbusLink } from '../../drivers/modbus/link.js';
import { UnitRuntime } from '../../drivers/modbus/unit.js';
import { systemClock } from '../../agent/clock.js';
import type { DriverContext } from '../../drivers/types.js';
import { openPtyPair } from '../../test/helpers/pty.js';
import { startPeer } from '../../test/integration/modbus-harness.js';

const SECONDS = Number(process.argv[2] ?? 3);
const REGS = 10;
const UNITS = 32;

/** One FC3 exchange of n registers on a serial line: frames + T3.5 after each (serial spec §2.5.1.1). */
function wireMs(baud: number, n: number): number {
  const bitsPerChar = 11; // start + 8 data + parity + stop (or 2 stop bits without parity)
  const reqBytes = 8;
  const respBytes = 5 + 2 * n;
  const t35 = baud > 19200 ? 1.75 : (3.5 * bitsPerChar * 1000) / baud;
  return ((reqBytes + respBytes) * bitsPerChar * 1000) / baud + 2 * t35;
}

function cpuMs(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

async function rawLink(link: ModbusLink): Promise<{ rps: number; cpuUsPerReq: number }> {
  await link.open();
  const end = performance.now() + SECONDS * 1000;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() < end) {
    await link.read(1, 3, 0, REGS);
    n += 1;
  }
  const secs = (performance.now() - t0) / 1000;
  const cpu = cpuMs(c0);
  await link.close();
  return { rps: n / secs, cpuUsPerReq: (cpu * 1000) / n };
}

async function viaDriver(transport: object): Promise<{ rps: number; cpuUsPerReq: number }> {
  const abort = new AbortController();
  const ctx: DriverContext = { emit: () => undefined, reportError: () => undefined, log: pino({ level: 'silent' }), clock: systemClock, signal: abort.signal, stateDir: tmpdir() };
  const points = Array.from({ length: REGS }, (_, i) => ({ name: `p${i}`, table: 'holding', address: i, type: 'uint16', reportIntervalMs: 1 }));
  // Many units at the shortest interval keep the line saturated, so requests/s is bus-bound.
  const units = Array.from({ length: UNITS }, (_, i) => ({ id: `u${i + 1}`, unitId: i + 1, pollIntervalMs: 10, points }));
  const driver = new ModbusDriver(modbusConfigSchema.parse({ id: 'bench', transport, timeoutMs: 1000, units }), ctx);
  await driver.start();
  await new Promise((r) => setTimeout(r, 300));
  const req0 = driver.health().reduce((a, h) => a + h.counters.requests, 0);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const n = driver.health().reduce((a, h) => a + h.counters.requests, 0) - req0;
  const secs = (performance.now() - t0) / 1000;
  const cpu = cpuMs(c0);
  await driver.stop();
  return { rps: n / secs, cpuUsPerReq: (cpu * 1000) / n };
}

/** The driver's own work per answered read: decode 10 points, deadband, alarms, emit. */
function decodeCost(): number {
  const cfg = modbusConfigSchema.parse({
    id: 'b',
    transport: { type: 'tcp', host: 'x' },
    units: [{ id: 'u', unitId: 1, points: Array.from({ length: REGS }, (_, i) => ({ name: `p${i}`, table: 'holding', address: i, type: 'int16', scale: 0.1, alarm: { high: 50 } })) }],
  });
  let k = 0;
  const u = new UnitRuntime(cfg.units[0], { bus: 'b', emit: () => true, now: () => k, mono: () => k, reportError: () => undefined });
  const req = u.jobs[0].requests[0];
  const N = 200_000;
  const t0 = performance.now();
  for (k = 0; k < N; k++) u.readOk(req, [k & 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  return ((performance.now() - t0) * 1000) / N;
}

const units = Object.fromEntries(Array.from({ length: UNITS }, (_, i) => [String(i + 1), { hr: { '0': Array.from({ length: REGS }, (_, j) => j) } }]));
const rows: string[] = [];
const fmt = (name: string, r: { rps: number; cpuUsPerReq: number }): string => `${name.padEnd(34)} ${r.rps.toFixed(0).padStart(7)} req/s   ${r.cpuUsPerReq.toFixed(0).padStart(5)} µs CPU/req (node process)`;

const tcpPeer = await startPeer({ transport: 'tcp', port: 0, units });
try {
  rows.push(fmt('TCP, link only', await rawLink(new SerialLibLink({ type: 'tcp', host: '127.0.0.1', port: Number(tcpPeer.where), connectTimeoutMs: 2000 }, { timeoutMs: 1000 }))));
  rows.push(fmt('TCP, full driver (32 units)', await viaDriver({ type: 'tcp', host: '127.0.0.1', port: Number(tcpPeer.where) })));
} finally {
  await tcpPeer.kill();
}
const pty = await openPtyPair();
const rtuPeer = await startPeer({ transport: 'rtu', device: pty.b, units });
try {
  const rtu = { type: 'rtu' as const, path: pty.a, baudRate: 115200, parity: 'none' as const, dataBits: 8 as const, stopBits: 1 as const };
  rows.push(fmt('RTU/pty, link only', await rawLink(new SerialLibLink(rtu, { timeoutMs: 1000 }))));
  rows.push(fmt('RTU/pty, full driver (T3.5 = 1.75 ms)', await viaDriver(rtu)));
} finally {
  await rtuPeer.kill();
  await pty.close();
}
const dc = decodeCost();
console.log(`Modbus FC3 read of ${REGS} registers, ${SECONDS} s per case\n`);
for (const r of rows) console.log(r);
console.log(`\nDriver decode+deadband+alarm per answered read: ${dc.toFixed(2)} µs`);
console.log('\nWire-time limit on a real line (frames + T3.5 after each, 11-bit characters):');
for (const baud of [9600, 19200, 115200]) {
  const w = wireMs(baud, REGS);
  console.log(`  ${String(baud).padStart(6)} baud: ${w.toFixed(2)} ms/request → at most ${(1000 / w).toFixed(0)} req/s (driver decode = ${((dc / 1000 / w) * 100).toFixed(3)} % of it)`);
}
console.log('\nA pty imposes no baud delay: RTU/pty figures measure software cost only.');

// OSDP benchmark (not a test): polls per second and CP CPU time per poll over a socat pty
// against the test PD (a separate process, so the CPU figure is the CP's alone), with 1
// and 8 readers, plaintext and Secure Channel, beside the wire-time limit of a real line.
//
// The limit: a pty has no baud rate, so the pty rate is NOT what a real bus allows. On
// RS-485 one poll costs (command bytes + reply bytes) × 10 bits / baud (8N1) plus the
// turnaround: the spec's idle gap of two character times before each transmission (×2)
// and the PD's REPLY_DELAY (libosdp doc: typically < 3 ms; taken as 0 here, so the limit
// is a ceiling). The figure that matters is CPU per poll ≪ wire time per poll: the CP's
// own overhead then lets it reach the line's limit.
// Run: node --import tsx scripts/bench/osdp.ts [seconds-per-case, default 3]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { osdpConfigSchema } from '../../drivers/osdp/config.js';
import { OsdpDriver } from '../../drivers/osdp/driver.js';
import { systemClock } from '../../agent/clock.js';
import type { DriverContext } from '../../drivers/types.js';
import { openPtyPair } from '../../test/helpers/pty.js';

const SECONDS = Number(process.argv[2] ?? 3);
const PEER = fileURLToPath(new URL('../../test/peers/osdp-pd.ts', import.meta.url));
const KEY = '000102030405060708090a0b0c0d0e0f';

/** Bytes of one POLL + ACK exchange: CRC frames; the PD sends the 0xFF mark, our CP does not. */
function pollBytes(secure: boolean): { cmd: number; reply: number } {
  // plain POLL: SOM ADDR LEN LEN CTRL CODE CRC CRC = 8; SCS_15 adds SCB (2) + MAC (4).
  return secure ? { cmd: 14, reply: 1 + 14 } : { cmd: 8, reply: 1 + 8 };
}

function wireMsPerPoll(baud: number, secure: boolean): number {
  const { cmd, reply } = pollBytes(secure);
  const char = (10 * 1000) / baud;
  return (cmd + reply) * char + 2 * 2 * char;
}

async function startPeer(path: string, addresses: number[], secure: boolean): Promise<ChildProcess> {
  const spec = { port: path, pds: addresses.map((address) => ({ address, ...(secure ? { scbk: KEY } : {}) })) };
  const child = spawn(process.execPath, ['--import', 'tsx', PEER, JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('READY')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`peer exited ${code}`)));
  });
  return child;
}

async function runCase(readers: number, secure: boolean): Promise<{ pps: number; cpuUsPerPoll: number }> {
  const pty = await openPtyPair();
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-osdp-'));
  const addresses = Array.from({ length: readers }, (_, i) => i + 1);
  const peer = await startPeer(pty.b, addresses, secure);
  const ctx: DriverContext = { emit: () => undefined, reportError: (e) => console.error(e.message), log: pino({ level: 'silent' }), clock: systemClock, signal: new AbortController().signal, stateDir: dir };
  const cfg = osdpConfigSchema.parse({
    id: 'bench',
    port: pty.a,
    baud: 115200,
    pollIntervalMs: 0,
    keyStore: join(dir, 'keys.json'),
    readers: addresses.map((address) => ({ id: `r${address}`, address, ...(secure ? { scbk: KEY } : {}) })),
  });
  const driver = new OsdpDriver(cfg, ctx);
  try {
    await driver.start();
    const deadline = Date.now() + 15_000;
    while (driver.health().filter((h) => h.state === 'online').length < readers + 1) {
      if (Date.now() > deadline) throw new Error('readers did not come online');
      await new Promise((r) => setTimeout(r, 20));
    }
    const polls = (): number => driver.health().reduce((n, h) => n + (h.device === 'bench' ? 0 : h.counters.framesRx), 0);
    const p0 = polls();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const cpu = process.cpuUsage(c0);
    const dt = (performance.now() - t0) / 1000;
    const n = polls() - p0;
    const timeouts = driver.health().reduce((s, h) => s + (h.counters.timeouts ?? 0), 0);
    if (timeouts) console.error(`  (${timeouts} timeouts during the case)`);
    return { pps: n / dt, cpuUsPerPoll: (cpu.user + cpu.system) / n };
  } finally {
    await driver.stop();
    peer.stdin?.end();
    peer.kill('SIGKILL');
    await pty.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`OSDP CP benchmark — ${SECONDS} s per case, pty pair, PD peer in a child process`);
console.log('wire-time limit per poll (POLL + ACK, 8N1, 2-char idle gap each way, REPLY_DELAY 0):');
for (const baud of [115200, 9600]) {
  for (const secure of [false, true]) {
    const ms = wireMsPerPoll(baud, secure);
    console.log(`  ${String(baud).padStart(6)} baud ${secure ? 'SC   ' : 'plain'}: ${ms.toFixed(3)} ms → ≤ ${(1000 / ms).toFixed(0)} polls/s`);
  }
}
console.log('');
console.log('case                | pty polls/s | CP CPU µs/poll | CPU/wire @115200 | CPU/wire @9600 | pty rate / limit @115200');
for (const secure of [false, true]) {
  for (const readers of [1, 8]) {
    const r = await runCase(readers, secure);
    const w115 = wireMsPerPoll(115200, secure) * 1000;
    const w96 = wireMsPerPoll(9600, secure) * 1000;
    const limit115 = 1e6 / w115;
    console.log(
      `${`${readers} reader${readers > 1 ? 's' : ' '} ${secure ? 'SC' : 'plain'}`.padEnd(19)} | ${r.pps.toFixed(0).padStart(11)} | ${r.cpuUsPerPoll.toFixed(0).padStart(14)} | ${(r.cpuUsPerPoll / w115).toFixed(3).padStart(16)} | ${(r.cpuUsPerPoll / w96).toFixed(4).padStart(14)} | ${(r.pps / limit115).toFixed(2).padStart(8)}`,
    );
  }
}
console.log('');
console.log('Reading: the limit is the wire time (the pty imposes none). CPU/wire < 1 means the CP spends less');
console.log('CPU per poll than the line needs to carry it, so on a real bus the line, not the CP, is the bound.');

// One owner per state directory (docs/architecture.md): a second `gatewarden run` on the
// same config exits 1 at once naming the directory and the holder's PID, and writes
// nothing; the read-only commands keep working beside the owner; after kill -9 of the
// owner the next daemon gets the lock at once; the export verifies clean from seq 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/chain.js';
import { allSpoolRows, gatewayPubkey, spawnDaemon, writeDaemonConfig, type DaemonProcess } from '../helpers/daemon.js';
import { diagJson, runCli } from '../helpers/diag-cli.js';
import { freePort, startMosquitto } from '../helpers/mosquitto.js';
import { keyFilePath } from '../../agent/chain/keys.js';
import { spawn } from 'node:child_process';

const BIN = new URL('../../bin/gatewarden.js', import.meta.url).pathname;
const MAIN = new URL('../../agent/cli/main.ts', import.meta.url).pathname;
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });

/** The exit code, or a failure after `ms` (a deadline, not a timing assertion). */
function exitWithin(d: { exited: Promise<number | string> }, ms: number, what: string): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} still running after ${ms} ms`)), ms)));
  return Promise.race([d.exited, late]).finally(() => clearTimeout(timer));
}

function stateListing(state: string): string[] {
  return readdirSync(state, { recursive: true }).map(String).sort();
}

async function killAll(...ds: DaemonProcess[]): Promise<void> {
  for (const d of ds) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  await Promise.all(ds.map((d) => d.exited));
}

test('second daemon on the same state dir: exits 1 at once, writes nothing; read-only commands beside; kill -9 frees the lock', { timeout: 180_000 }, async (t) => {
  const broker = await startMosquitto();
  t.after(() => broker.stop());
  const dir = tempDir('gw-lock-');
  const state = join(dir, 'state');
  const config = writeDaemonConfig(dir, {
    mqtt: { url: broker.url, reconnect: { minMs: 100, maxMs: 1000 } },
    chain: { checkpoint: { everyEvents: 200, everySeconds: 5 } },
    drivers: { synthetic: [{ id: 'load', intervalMs: 5 }] },
  });
  const spoolPath = join(state, 'spool.db');

  const a = spawnDaemon(config);
  const started: DaemonProcess[] = [a];
  t.after(() => killAll(...started));
  await a.waitLog(/control socket listening/);
  await a.waitLog(/connected to MQTT broker/);
  const aPid = a.child.pid!;

  // Daemon B, same config, while A runs.
  const keyBefore = readFileSync(keyFilePath(state), 'utf8');
  const keyMtime = statSync(keyFilePath(state)).mtimeMs;
  const listingBefore = stateListing(state);
  const rowsBefore = allSpoolRows(spoolPath).length;
  const b = spawnDaemon(config);
  started.push(b);
  const bCode = await exitWithin(b, 20_000, 'second daemon');
  const bOut = b.out();
  t.diagnostic(`daemon B exited ${bCode}; output:\n${bOut.trim()}`);
  assert.equal(bCode, 1, bOut);
  assert.match(bOut, new RegExp(`state directory ${state} is in use by another gatewarden process \\(PID ${aPid}\\)`));
  assert.doesNotMatch(bOut, /control socket|gatewarden running|new chain epoch|generated a new gateway key|connecting to MQTT/, 'B started nothing');
  assert.equal(readFileSync(keyFilePath(state), 'utf8'), keyBefore, 'key untouched');
  assert.equal(statSync(keyFilePath(state)).mtimeMs, keyMtime, 'key file not rewritten');
  assert.deepEqual(stateListing(state), listingBefore, 'B created no file in the state dir');

  // A keeps running and owns everything: one agent start (A's), one epoch, seqs 1..N with no gap or repeat.
  const rowsAfterB = allSpoolRows(spoolPath);
  assert.ok(rowsAfterB.length >= rowsBefore);
  const starts = rowsAfterB.filter((r) => r.type === 'system.agent.start').map((r) => (JSON.parse(r.payload) as { body: { data: { pid: number } } }).body.data.pid);
  assert.deepEqual(starts, [aPid], 'only A announced a start');
  assert.equal(new Set(rowsAfterB.map((r) => r.epoch)).size, 1);
  rowsAfterB.forEach((r, i) => assert.equal(r.seq, i + 1, `seq at row ${i}`));
  assert.equal(a.child.exitCode, null, 'A still running');

  // Read-only commands beside A.
  const list = cli('events', 'list', '-n', '5', '--state-dir', state);
  assert.equal(list.status, 0, list.stderr);
  assert.equal(list.stdout.trim().split('\n').length, 5);
  const stats = cli('spool', 'stats', '--state-dir', state, '--json');
  assert.equal(stats.status, 0, stats.stderr);
  assert.ok((JSON.parse(stats.stdout) as { depth: number }).depth >= rowsAfterB.length);
  const status = await runCli(['status', '--json', '-c', config]);
  assert.equal(status.code, 0, status.stderr);
  assert.equal((JSON.parse(status.stdout) as { identity: { pid: number } }).identity.pid, aPid, 'the control socket is still A');
  const diag = await diagJson(config, ['-q']);
  assert.equal(diag.daemon, 'running', 'diag sees the daemon through its control socket');
  const midExport = cli('events', 'list', '-n', '100000000', '--state-dir', state);
  const midVerify = spawnSync(process.execPath, [BIN, 'verify', '--pubkey', gatewayPubkey(state), '-'], { input: midExport.stdout, encoding: 'utf8' });
  assert.equal(midVerify.status, 0, midVerify.stdout + midVerify.stderr);
  t.diagnostic(`beside A: events list, spool stats, status (pid ${aPid}), diag (daemon ${diag.daemon}, exit ${diag.code}), verify of ${midExport.stdout.trim().split('\n').length} events: OK`);

  // kill -9 A: the kernel drops its lock; the next daemon gets it at once.
  await new Promise((r) => setTimeout(r, 300));
  a.child.kill('SIGKILL');
  assert.equal(await a.exited, 'SIGKILL');
  const c = spawnDaemon(config);
  started.push(c);
  await c.waitLog(/gatewarden running/);
  assert.doesNotMatch(c.out(), /in use by another/);
  await new Promise((r) => setTimeout(r, 300));
  c.child.kill('SIGTERM');
  assert.equal(await c.exited, 0, c.out().slice(-2000));
  assert.doesNotMatch(a.out() + c.out(), /UNIQUE constraint|spool append failed/);

  // The whole export verifies clean from seq 1: one chain, no gap, across the kill.
  const rows = allSpoolRows(spoolPath);
  rows.forEach((r, i) => assert.equal(r.seq, i + 1, `seq at row ${i}`));
  const exported = cli('events', 'list', '-n', '100000000', '--state-dir', state);
  assert.equal(exported.status, 0, exported.stderr);
  const lines = exported.stdout.trim().split('\n');
  assert.equal(lines.length, rows.length);
  assert.equal((JSON.parse(lines[0]) as { body: { seq: number; type: string } }).body.seq, 1);
  const v = spawnSync(process.execPath, [BIN, 'verify', '--pubkey', gatewayPubkey(state), '-'], { input: exported.stdout, encoding: 'utf8' });
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /^OK/m);
  const startsAll = rows.filter((r) => r.type === 'system.agent.start').length;
  assert.equal(startsAll, 2, 'A and C started; B did not');
  t.diagnostic(`export: ${lines.length} events, seq 1..${rows[rows.length - 1].seq}, one epoch, ${startsAll} agent starts (A, C), verify: ${v.stdout.trim().split('\n')[0]}`);
});

test('demo (`npm start`) takes the same lock: refused beside a daemon on its state dir, before its simulators start', { timeout: 60_000 }, async (t) => {
  const dir = tempDir('gw-lock-demo-');
  const state = join(dir, 'state');
  const config = writeDaemonConfig(dir, { mqtt: { url: `mqtt://127.0.0.1:${await freePort()}` }, drivers: { synthetic: [{ id: 's', intervalMs: 50 }] } });
  const a = spawnDaemon(config);
  t.after(() => killAll(a));
  await a.waitLog(/gatewarden running/);
  const before = stateListing(state);
  const demo = spawn(process.execPath, ['--import', 'tsx', MAIN, 'demo', '--quiet'], {
    env: { ...process.env, GATEWARDEN_STATE_DIR: state, GATEWARDEN_DEMO_PORT: String(await freePort()) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  demo.stdout.on('data', (d: Buffer) => (out += d.toString()));
  demo.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await exitWithin({ exited: new Promise((r) => demo.once('exit', (c, s) => r(c ?? s ?? 'unknown'))) }, 20_000, 'demo');
  t.diagnostic(`demo exited ${code}: ${out.trim()}`);
  assert.equal(code, 1, out);
  assert.match(out, new RegExp(`gatewarden demo: state directory ${state} is in use .*PID ${a.child.pid}\\)`));
  assert.doesNotMatch(out, /embedded MQTT broker|simulated/);
  assert.deepEqual(stateListing(state), before, 'the demo created nothing (no snapshots dir, no key)');
  assert.equal(a.child.exitCode, null);
});

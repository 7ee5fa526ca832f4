// The shipped JavaScript: scripts/build.mjs (what `npm install`/`prepare` and install.sh
// run) builds a private copy, and the compiled CLI runs without any TypeScript loader:
// --version, a command's --help, and a short daemon run that signs and spools events
// (through the signing worker) and stops cleanly on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { tempDir } from '../helpers/chain.js';
import { allSpoolRows, writeDaemonConfig } from '../helpers/daemon.js';

const ROOT = new URL('../..', import.meta.url).pathname;
// Inside the repository (node_modules/.cache) so the compiled files find node_modules.
const OUT = join(ROOT, 'node_modules/.cache', `gatewarden-dist-test-${randomBytes(4).toString('hex')}`);
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

test('built dist/ CLI: --version, diag --help, a short daemon run', { timeout: 300_000 }, async (t) => {
  t.after(() => rmSync(OUT, { recursive: true, force: true }));
  const b = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--out', OUT], { encoding: 'utf8', env: { ...process.env, npm_lifecycle_event: '' } });
  assert.equal(b.status, 0, `build failed:\n${b.stdout}${b.stderr}`);
  const main = join(OUT, 'agent/cli/main.js');
  assert.ok(existsSync(main));
  for (const asset of ['config/template.yaml', 'config/demo.yaml', 'package.json']) assert.ok(existsSync(join(OUT, asset)), `${asset} copied beside the compiled code`);

  // Plain node: no --import, no NODE_OPTIONS loader.
  const env = { ...process.env, NODE_OPTIONS: '' };
  assert.equal(execFileSync(process.execPath, [main, '--version'], { encoding: 'utf8', env }).trim(), VERSION);
  const help = execFileSync(process.execPath, [main, 'diag', '--help'], { encoding: 'utf8', env });
  assert.match(help, /Usage: gatewarden diag/);
  assert.match(execFileSync(process.execPath, [main, '--help'], { encoding: 'utf8', env }), /Exit codes:/);

  const dir = tempDir('gw-dist-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = writeDaemonConfig(dir, {
    mqtt: { url: 'mqtt://127.0.0.1:9', reconnect: { minMs: 1000, maxMs: 5000 } },
    control: { socket: join(dir, 'control.sock') },
    chain: { signingWorker: true },
    drivers: { synthetic: [{ id: 'syn-1', intervalMs: 20 }] },
  });
  const child = spawn(process.execPath, ['--max-old-space-size=128', main, 'run', '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.after(() => child.kill('SIGKILL'));
  const deadline = Date.now() + 60_000;
  while (!/control socket listening/.test(out)) {
    assert.ok(child.exitCode === null, `daemon exited:\n${out}`);
    assert.ok(Date.now() < deadline, `daemon did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const status = JSON.parse(execFileSync(process.execPath, [main, 'status', '--json', '-c', cfg], { encoding: 'utf8', env })) as { version: string };
  assert.equal(status.version, VERSION);
  await new Promise((r) => setTimeout(r, 1000));
  child.kill('SIGTERM');
  assert.equal(await exited, 0, out.slice(-3000));
  const rows = allSpoolRows(join(dir, 'state', 'spool.db'));
  const types = rows.map((r) => r.type);
  assert.ok(types.includes('system.agent.start') && types.includes('system.agent.stop'), types.join(','));
  assert.ok(rows.filter((r) => r.type === 'sensor.reading').length > 0, 'the synthetic driver (loaded by kind from dist/drivers) emitted');
  // Signed in the worker: every stored payload carries a signature.
  for (const r of rows) assert.match((JSON.parse(r.payload) as { sig: string }).sig, /^[A-Za-z0-9_-]{86}$/);
});

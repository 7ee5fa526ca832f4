// Field tooling against real things: the Prometheus endpoint of a running daemon, and
// `gatewarden discover modbus` against a real Modbus TCP slave (the demo simulator,
// modbus-serial's ServerTCP) printing a snippet the config schema accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { tempDir } from '../helpers/chain.js';
import { freePort } from '../helpers/mosquitto.js';
import { spawnDaemon, writeDaemonConfig } from '../helpers/daemon.js';
import { startModbusSim } from '../../drivers/modbus/sim.js';
import { validateConfig } from '../../config/loader.js';

const BIN = new URL('../../bin/gatewarden.js', import.meta.url).pathname;

/** Asynchronous: the Modbus simulator lives in this process and must keep answering. */
function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

test('metrics: the running daemon serves Prometheus text on loopback', { timeout: 60_000 }, async (t) => {
  const dir = tempDir();
  const port = await freePort();
  const file = writeDaemonConfig(dir, {
    mqtt: { url: `mqtt://127.0.0.1:${await freePort()}` },
    metrics: { enabled: true, port },
    drivers: { synthetic: [{ id: 'beat', intervalMs: 20 }] },
  });
  const d = spawnDaemon(file);
  t.after(async () => {
    if (d.child.exitCode === null) d.child.kill('SIGTERM');
    await d.exited;
  });
  await d.waitLog(/gatewarden running/);
  let text = '';
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => null);
    if (res?.ok) {
      text = await res.text();
      const unsent = /^gatewarden_spool_unsent (\d+)/m.exec(text);
      if (unsent && Number(unsent[1]) > 5) break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(text, /^# TYPE gatewarden_spool_depth gauge$/m);
  assert.match(text, /^gatewarden_spool_unsent \d+$/m, 'no broker: events wait in the spool');
  assert.match(text, /^gatewarden_mqtt_connected 0$/m);
  assert.match(text, /^gatewarden_device_online\{driver="synthetic",instance="beat",device="beat"\} 1$/m);
  assert.match(text, /^process_resident_memory_bytes \d+/m);
  const notFound = await fetch(`http://127.0.0.1:${port}/other`);
  assert.equal(notFound.status, 404);
});

test('discover modbus: finds the unit that answers and prints a snippet the schema accepts', { timeout: 60_000 }, async (t) => {
  const sim = await startModbusSim({ port: await freePort() });
  t.after(() => sim.close());
  const r = await run(['discover', 'modbus', '--host', '127.0.0.1', '--tcp-port', String(sim.port), '--ids', '1-3', '--timeout', '300']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^unit 1: data/m);
  assert.doesNotMatch(r.stdout, /^unit [23]:/m, 'only unit 1 answers');
  // The printed YAML snippet, pasted under a config, validates.
  const yamlStart = r.stdout.search(/^drivers:/m);
  assert.ok(yamlStart >= 0, `a drivers: snippet in:\n${r.stdout}`);
  const snippet = parse(r.stdout.slice(yamlStart)) as { drivers: Record<string, unknown[]> };
  const loaded = await validateConfig({ site: 's', gateway: 'g', drivers: snippet.drivers });
  assert.equal(loaded.drivers.length, 1);
  assert.equal(loaded.drivers[0].kind, 'modbus');
  // --write merges it into a config file, which still validates.
  const dir = tempDir();
  const cfg = join(dir, 'config.yaml');
  writeFileSync(cfg, 'site: s\ngateway: g\n');
  const w = await run(['discover', 'modbus', '--host', '127.0.0.1', '--tcp-port', String(sim.port), '--ids', '1', '--timeout', '300', '--write', '-c', cfg]);
  assert.equal(w.status, 0, w.stderr);
  const check = spawnSync(process.execPath, [BIN, 'config', 'check', cfg], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout);
  assert.match(check.stdout, /1 driver instance/);
});

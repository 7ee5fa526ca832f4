// `gatewarden discover cameras` as a process, end to end: the CLI sends its WS-Discovery
// Probe to the test camera on loopback (--address/--wsd-port: a multicast probe would
// leave loopback, so the multicast send itself is not exercised here), prints one line per
// camera with host:port and XAddr, and a YAML snippet that passes the config schema; with
// --write the snippet is merged into a config that `config check` accepts. An HTTPS camera
// yields `scheme: https` (certificate verification stays on by default).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import { validateConfig } from '../../config/loader.js';
import { tempDir } from '../helpers/chain.js';
import { makeTestPki } from '../helpers/tls.js';
import { startOnvifCamera } from '../peers/onvif-camera.js';

const BIN = new URL('../../bin/gatewarden.js', import.meta.url).pathname;
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Asynchronous: the camera peer lives in this process and must keep answering. Killed if it outlives 60 s. */
function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const guard = setTimeout(() => c.kill('SIGKILL'), 60_000);
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('exit', (status) => {
      clearTimeout(guard);
      resolve({ status, stdout, stderr });
    });
  });
}

function snippetOf(stdout: string): { drivers: Record<string, Array<{ id: string; cameras: Array<Record<string, unknown>> }>> } {
  const start = stdout.search(/^drivers:/m);
  assert.ok(start >= 0, `a drivers: snippet in:\n${stdout}`);
  return parse(stdout.slice(start)) as ReturnType<typeof snippetOf>;
}

test('discover cameras (CLI): finds the camera, prints host:port/XAddr and a snippet the schema accepts; --write merges it', { timeout: 120_000 }, async (t) => {
  const cam = await startOnvifCamera({ vendor: 'hikvision' });
  t.after(() => cam.close());
  const probe = ['discover', 'cameras', '--address', '127.0.0.1', '--wsd-port', String(cam.discoveryPort), '--timeout', '800'];
  const r = await run(probe);
  assert.equal(r.status, 0, r.stderr);
  const xaddr = `http://127.0.0.1:${cam.port}/onvif/device_service`;
  const line = r.stdout.split('\n').find((l) => l.startsWith(`127.0.0.1:${cam.port} `));
  assert.ok(line, `a line for the camera in:\n${r.stdout}`);
  assert.match(line, /HIKVISION DS-2CD2143G2-I/);
  assert.ok(line.includes(xaddr), line);

  const snippet = snippetOf(r.stdout);
  const inst = snippet.drivers.onvif[0];
  assert.equal(inst.cameras.length, 1, 'one camera, de-duplicated across repeated probes');
  assert.equal(inst.cameras[0].host, '127.0.0.1');
  assert.equal(inst.cameras[0].port, cam.port);
  assert.equal(inst.cameras[0].password, 'CHANGE-ME');
  const loaded = await validateConfig({ site: 's', gateway: 'g', drivers: snippet.drivers });
  assert.equal(loaded.drivers.length, 1);
  assert.equal(loaded.drivers[0].kind, 'onvif');
  const cfg = loaded.drivers[0].config as { cameras: Array<{ id: string; host: string; port: number; scheme: string; devicePath: string }> };
  const { id, host, port, scheme, devicePath } = cfg.cameras[0];
  assert.deepEqual({ id, host, port, scheme, devicePath }, { id: 'hikvision-ds-2cd2143g2-i', host: '127.0.0.1', port: cam.port, scheme: 'http', devicePath: '/onvif/device_service' });

  const dir = tempDir('gw-discover-cli-');
  dirs.push(dir);
  const file = join(dir, 'config.yaml');
  writeFileSync(file, 'site: s\ngateway: g\n');
  const w = await run([...probe, '--write', '-c', file]);
  assert.equal(w.status, 0, w.stderr);
  assert.match(w.stdout, /merged into .*config\.yaml: added cameras/);
  const check = spawnSync(process.execPath, [BIN, 'config', 'check', file], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /1 driver instance/);
});

test('discover cameras (CLI): an HTTPS camera gives scheme: https; silence says what to try; bad options are refused', { timeout: 120_000 }, async (t) => {
  const pki = makeTestPki();
  t.after(() => pki.cleanup());
  const cam = await startOnvifCamera({ tls: { cert: pki.serverCert, key: pki.serverKey } });
  let closed = false;
  t.after(async () => {
    if (!closed) await cam.close();
  });
  const r = await run(['discover', 'cameras', '--address', '127.0.0.1', '--wsd-port', String(cam.discoveryPort), '--timeout', '800']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.includes(`https://127.0.0.1:${cam.port}/onvif/device_service`), r.stdout);
  const snippet = snippetOf(r.stdout);
  assert.equal(snippet.drivers.onvif[0].cameras[0].scheme, 'https');
  assert.equal(snippet.drivers.onvif[0].cameras[0].port, cam.port);
  await validateConfig({ site: 's', gateway: 'g', drivers: snippet.drivers });

  // Nobody on this port: a clear line, no snippet. (The camera answers only on its own port.)
  closed = true;
  await cam.close();
  const quiet = await run(['discover', 'cameras', '--address', '127.0.0.1', '--wsd-port', String(cam.discoveryPort), '--timeout', '300']);
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.match(quiet.stdout, /no camera answered .*--sweep .*--address/);
  assert.doesNotMatch(quiet.stdout, /^drivers:/m);

  const bad = await run(['discover', 'cameras', '--address', '127.0.0.1', '--wsd-port', '70000', '--timeout', '100']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr + bad.stdout, /--wsd-port: expected a UDP port/);
});

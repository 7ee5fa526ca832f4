// Every secret the config schema can hold (found by walking the schema's marks, so a new
// secret field is planted here without editing this test) is given a unique value; the
// real daemon runs with it and its log is grepped; then `gatewarden support-bundle` builds
// a real archive from the same config and log, and every unpacked file is grepped for
// every value. The archive must be 0600. Also: `config check` never echoes a bad secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { tempDir } from '../helpers/chain.js';
import { spawnDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/mosquitto.js';
import { runCli } from '../helpers/diag-cli.js';
import { startOnvifCamera } from '../peers/onvif-camera.js';
import { keyFilePath } from '../../agent/chain/keys.js';
import { ConfigError, validateConfig } from '../../config/loader.js';
import { configSecretPaths } from '../../config/redact.js';
import { ANY, type SecretPath } from '../../config/secrets.js';

type Obj = Record<string, unknown>;
const uniq = (tag: string): string => `${tag}${randomBytes(6).toString('hex')}Z`;

/** A valid config with one instance of every driver kind that has secret fields. */
function baseConfig(dir: string, port: number): Obj {
  return {
    site: 'site-s',
    gateway: 'gw-s',
    stateDir: join(dir, 'state'),
    log: { level: 'debug', format: 'json' },
    mqtt: { url: `mqtt://127.0.0.1:${port}`, username: 'gw', reconnect: { minMs: 100, maxMs: 400 } },
    drivers: {
      osdp: [{ id: 'osdp-1', port: join(dir, 'no-such-tty'), readers: [{ id: 'rdr-1', address: 1, pinPolicy: 'hash' }] }],
      onvif: [{ id: 'cams', requestTimeoutMs: 500, cameras: [{ id: 'cam-1', host: '127.0.0.1', port, username: 'admin', password: 'placeholder' }] }],
    },
  };
}

/** The holder of `path` in `root` (wildcards take the first element); null when the base config lacks it. */
function holderOf(root: Obj, path: readonly string[]): { holder: Obj; key: string } | null {
  let cur: unknown = root;
  for (let i = 0; i < path.length - 1; i++) {
    if (cur === null || typeof cur !== 'object') return null;
    const seg = path[i] === ANY ? (Array.isArray(cur) ? '0' : Object.keys(cur)[0]) : path[i];
    if (seg === undefined) return null;
    let next = (cur as Obj)[seg];
    if (next === undefined && path[i + 1] !== ANY) next = (cur as Obj)[seg] = {}; // e.g. mqtt.tls
    cur = next;
  }
  return cur !== null && typeof cur === 'object' ? { holder: cur as Obj, key: path[path.length - 1]! } : null;
}

interface Planted {
  path: string;
  value: string;
}

/** Plants a unique secret at `p`; returns what must never leave the gateway. */
async function plant(cfg: Obj, p: SecretPath, dir: string): Promise<Planted> {
  const at = holderOf(cfg, p.path);
  const name = p.path.join('.');
  assert.ok(at, `${name}: the base config of this test has no instance to hold it; add one to baseConfig()`);
  if (p.kind === 'url-credentials') {
    const value = uniq('UrlPw');
    at.holder[at.key] = String(at.holder[at.key] ?? 'mqtt://127.0.0.1:1').replace('://', `://urluser:${value}@`);
    return { path: name, value };
  }
  if (p.kind === 'file') {
    const value = uniq('FileSecret');
    const file = join(dir, `secret-${p.path.filter((s) => s !== ANY).join('-')}`);
    // A key store is JSON with SCBKs inside; any other secret file is opaque text.
    writeFileSync(file, p.path.at(-1) === 'keyStore' ? JSON.stringify({ v: 1, keys: { 'rdr-1': { scbk: value, set: new Date().toISOString() } } }) : `${value}\n`, { mode: 0o600 });
    at.holder[at.key] = file;
    return { path: name, value };
  }
  // A value secret: the first candidate shape the schema accepts at this path.
  for (const value of [uniq('Secret'), randomBytes(16).toString('hex')]) {
    at.holder[at.key] = value;
    try {
      await validateConfig(cfg);
      return { path: name, value };
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      // A problem elsewhere (e.g. a second source of one credential): the caller gives this secret its own config.
      if (!e.problems.some((x) => x.startsWith(name.replaceAll(`.${ANY}`, '[0]')))) return { path: name, value };
    }
  }
  assert.fail(`${name}: no test value satisfies its schema; teach plant() its shape`);
}

/** Configs that together hold every secret (one if the schema allows them side by side). */
async function plantedConfigs(dir: string, port: number): Promise<{ cfg: Obj; planted: Planted[] }[]> {
  const paths = await configSecretPaths();
  assert.ok(paths.length >= 7, `expected the schema's secrets, found ${paths.map((p) => p.path.join('.')).join(', ')}`);
  const out: { cfg: Obj; planted: Planted[] }[] = [];
  let cur = { cfg: baseConfig(dir, port), planted: [] as Planted[] };
  for (const p of paths) {
    const trial = structuredClone(cur.cfg);
    const got = await plant(trial, p, dir);
    try {
      await validateConfig(trial);
      cur = { cfg: trial, planted: [...cur.planted, got] };
    } catch {
      // Not allowed beside the others (e.g. two sources of one credential): own config.
      out.push(cur);
      const alone = baseConfig(dir, port);
      // The URL's user:password is the only source of credentials when given (config/schema.ts).
      if (p.kind === 'url-credentials') delete (alone.mqtt as Obj).username;
      cur = { cfg: alone, planted: [await plant(alone, p, dir)] };
      await validateConfig(alone);
    }
  }
  out.push(cur);
  return out;
}

test('no secret of the schema reaches the daemon log or the support bundle; bundle is 0600', { timeout: 240_000 }, async (t) => {
  const dir = tempDir('gw-secrets-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort(); // nothing listens: broker and camera fail, and log why
  const configs = await plantedConfigs(dir, port);
  const kinds = new Set((await configSecretPaths()).map((p) => p.kind));
  assert.deepEqual([...kinds].sort(), ['file', 'url-credentials', 'value'], 'every kind of secret is exercised');

  for (const [i, { cfg, planted }] of configs.entries()) {
    const cdir = join(dir, `c${i}`);
    mkdirSync(cdir);
    // A real test camera that knows the planted password, so the driver logs in with it.
    const cam0 = (cfg.drivers as { onvif: { cameras: Obj[] }[] }).onvif[0]!.cameras[0]!;
    const cam = await startOnvifCamera({ username: 'admin', password: String(cam0.password) });
    t.after(() => cam.close());
    cam0.port = cam.port;
    const configFile = join(cdir, 'config.yaml');
    writeFileSync(configFile, stringify(cfg), { mode: 0o640 });

    // The daemon, as systemd runs it: drivers and forwarder fail against nothing and log it.
    const d = spawnDaemon(configFile);
    await d.waitLog(/"driver":"osdp"|osdp-1/, 30_000);
    await d.waitLog(/cam-1|onvif/, 30_000);
    await d.waitLog(/connect|broker|ECONNREFUSED/i, 30_000);
    await new Promise((r) => setTimeout(r, 1500)); // a retry or two of each
    const logFile = join(cdir, 'daemon.log');
    writeFileSync(logFile, d.out());

    // The state dir's own secrets (gateway signing key, keypad PIN key) must not leak either.
    const stateDir = String(cfg.stateDir);
    const stateSecrets: Planted[] = [];
    const pem = readFileSync(keyFilePath(stateDir), 'utf8');
    stateSecrets.push({ path: 'gateway key', value: pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('').slice(0, 40) });
    if (existsSync(join(stateDir, 'osdp-pin.key'))) stateSecrets.push({ path: 'PIN key', value: readFileSync(join(stateDir, 'osdp-pin.key'), 'utf8').trim() });

    // A support bundle built by the real CLI from that config and that log, while the
    // daemon runs (diag and status come over its control socket, as on a gateway).
    const out = join(cdir, 'bundle.tar.gz');
    writeFileSync(out, 'old, world-readable'); // an existing file must not keep its mode
    execFileSync('chmod', ['644', out]);
    const r = await runCli(['support-bundle', '-c', configFile, '-o', out, '--log-file', logFile]);
    d.child.kill('SIGTERM');
    await d.exited;
    assert.equal(r.code, 0, r.stderr);
    const log = d.out();
    assert.match(log, /"level"/, 'the daemon logged JSON');
    for (const s of planted) assert.ok(!log.includes(s.value), `daemon log leaks ${s.path}`);
    assert.equal(statSync(out).mode & 0o777, 0o600, 'bundle is 0600');
    const x = join(cdir, 'x');
    mkdirSync(x);
    execFileSync('tar', ['-xzf', out, '-C', x]);
    const files = readdirSync(join(x, 'gatewarden-support'));
    assert.ok(files.includes('config.redacted.json') && files.includes('logs.txt') && files.includes('diag.json'), files.join(', '));
    for (const f of files) {
      const text = readFileSync(join(x, 'gatewarden-support', f), 'utf8');
      for (const s of [...planted, ...stateSecrets]) assert.ok(!text.includes(s.value), `${f} leaks ${s.path}`);
    }
    const red = JSON.parse(readFileSync(join(x, 'gatewarden-support', 'config.redacted.json'), 'utf8')) as { site: string };
    assert.equal(red.site, 'site-s', 'non-secrets stay for support');
  }
});

test('config check names a bad secret by path, never echoes it', async () => {
  const dir = tempDir('gw-secrets-cc-');
  try {
    const bad = `zz${randomBytes(15).toString('hex')}`; // 32 characters, not hex
    const cfg = baseConfig(dir, 1);
    ((cfg.drivers as { osdp: { readers: Obj[] }[] }).osdp[0]!.readers[0]!).scbk = bad;
    const file = join(dir, 'config.yaml');
    writeFileSync(file, stringify(cfg));
    const r = await runCli(['config', 'check', file]);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /drivers\.osdp\[0\]\.readers\[0\]\.scbk/);
    assert.ok(!(r.stdout + r.stderr).includes(bad), 'the bad key is not echoed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

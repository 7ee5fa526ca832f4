import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ConfigError, loadConfigFile, validateConfig } from '../../config/loader.js';
import { tempDir } from '../helpers/chain.js';
import { configProblems as problems } from '../helpers/config-problems.js';

const BIN = new URL('../../bin/gatewarden.js', import.meta.url).pathname;

test('defaults are applied from the schema', async () => {
  const { config, drivers } = await validateConfig({ site: 's1', gateway: 'g1' });
  assert.equal(config.mqtt.protocolVersion, 5);
  assert.equal(config.mqtt.prefix, 'gatewarden/v1');
  assert.equal(config.spool.quotaBytes, 256 * 1024 * 1024);
  assert.equal(config.mqtt.reconnect.minMs, 500);
  assert.deepEqual(drivers, []);
});

test('every error is named by its path with expected and received values', async () => {
  const p = await problems({
    site: 'bad/site',
    gateway: 'g1',
    mqtt: { url: 'tcp://x', protocolVersion: 3, tls: { rejectUnauthorised: false } },
    spool: { quotaBytes: '12 parsecs' },
    drivers: { synthetic: [{ id: 'a', intervalMs: -1 }, { id: 'a' }], camera: [{}] },
    extra: 1,
  });
  const want = [
    /^site: expected 1–64 characters .* \(got "bad\/site"\)$/,
    /^mqtt\.url: expected mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\/ URL \(got "tcp:\/\/x"\)$/,
    /^mqtt\.protocolVersion: .*\(got 3\)$/,
    /^mqtt\.tls\.rejectUnauthorised: unknown key/,
    /^spool\.quotaBytes: expected a size .*\(got "12 parsecs"\)$/,
    /^extra: unknown key/,
  ];
  for (const re of want) assert.ok(p.some((l) => re.test(l)), `missing ${re} in:\n${p.join('\n')}`);
});

test('driver instances are checked against their manifest; unknown kinds list the known ones', async () => {
  const p = await problems({ site: 's', gateway: 'g', drivers: { synthetic: [{ id: 'a', intervalMs: -1 }, { id: 'b' }, { id: 'b' }], camera: [{}] } });
  assert.ok(p.some((l) => /^drivers\.synthetic\[0\]\.intervalMs: .*\(got -1\)$/.test(l)), p.join('\n'));
  assert.ok(p.some((l) => /^drivers\.synthetic\[2\]\.id: "b" is already used by drivers\.synthetic\[1\]$/.test(l)), p.join('\n'));
  assert.ok(p.some((l) => /^drivers\.camera: unknown driver kind \(known kinds: .*synthetic/.test(l)), p.join('\n'));
});

test('YAML syntax errors name line and column; relative paths resolve against the file', async () => {
  const dir = tempDir();
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'site: s\ngateway: [unclosed\n');
  await assert.rejects(loadConfigFile(bad), (e: Error) => e instanceof ConfigError && /line \d+, column \d+/.test(e.message));
  const good = join(dir, 'good.yaml');
  writeFileSync(good, 'site: s\ngateway: g\nstateDir: state\nmqtt:\n  tls:\n    ca: ca.pem\n');
  const { config } = await loadConfigFile(good);
  assert.equal(config.stateDir, join(dir, 'state'));
  assert.equal(config.mqtt.tls?.ca, join(dir, 'ca.pem'));
  assert.equal(config.mqtt.tls?.rejectUnauthorized, true);
});

test('`gatewarden config check`: exit 1 with every problem, exit 0 with OK', () => {
  const dir = tempDir();
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'site: s\ngateway: g\nmqtt:\n  url: tcp://x\n  keepalive: 5\n');
  const r = spawnSync(process.execPath, [BIN, 'config', 'check', bad], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /2 problems/);
  assert.match(r.stdout, /mqtt\.url: expected mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\/ URL \(got "tcp:\/\/x"\)/);
  assert.match(r.stdout, /mqtt\.keepalive: unknown key/);
  const good = join(dir, 'good.yaml');
  writeFileSync(good, 'site: s\ngateway: g\n');
  const ok = spawnSync(process.execPath, [BIN, 'config', 'check', good], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^OK /);
});

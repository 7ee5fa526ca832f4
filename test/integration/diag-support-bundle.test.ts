// `gatewarden support-bundle`: the tarball holds diag JSON, redacted config,
// logs, spool stats and versions — and no password or key material anywhere in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/chain.js';
import { writeDaemonConfig } from '../helpers/daemon.js';
import { freePort } from '../helpers/mosquitto.js';
import { runCli } from '../helpers/diag-cli.js';
import { keyFilePath, loadOrCreateKeys } from '../../agent/chain/keys.js';

const PASSWORD = 'Bundle-S3cret-pw';
const FILE_PASSWORD = 'file-held-S3cret';

test('support-bundle contains the reports and no secret', { timeout: 120_000 }, async (t) => {
  const dir = tempDir('gw-bundle-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const pwFile = join(dir, 'pw');
  writeFileSync(pwFile, FILE_PASSWORD);
  const config = writeDaemonConfig(dir, {
    mqtt: { url: `mqtt://127.0.0.1:${port}`, username: 'gw', password: PASSWORD, passwordFile: pwFile },
  });
  const keys = loadOrCreateKeys(join(dir, 'state'));
  const pem = readFileSync(keyFilePath(join(dir, 'state')), 'utf8');
  // A log that leaked both secrets and the key: the bundle must scrub them.
  const log = join(dir, 'daemon.log');
  writeFileSync(log, `{"msg":"connecting with ${PASSWORD}"}\n{"msg":"pw ${FILE_PASSWORD}"}\n${pem}\n{"msg":"kid ${keys.kid}"}\n`);
  const out = join(dir, 'bundle.tar.gz');
  const r = await runCli(['support-bundle', '-c', config, '-o', out, '--log-file', log]);
  assert.equal(r.code, 0, r.stderr);
  const x = join(dir, 'x');
  execFileSync('mkdir', ['-p', x]);
  execFileSync('tar', ['-xzf', out, '-C', x]);
  const files = readdirSync(join(x, 'gatewarden-support')).sort();
  assert.deepEqual(files, ['config.redacted.json', 'diag.json', 'logs.txt', 'spool-stats.json', 'status.json', 'versions.json']);
  const all = files.map((f) => readFileSync(join(x, 'gatewarden-support', f), 'utf8')).join('\n');
  const pemBody = pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
  for (const secret of [PASSWORD, FILE_PASSWORD, pemBody, pemBody.slice(0, 24), 'PRIVATE KEY-----\n']) {
    assert.ok(!all.includes(secret), `bundle leaks ${secret.slice(0, 12)}…`);
  }
  // Raw bytes too (grep the tarball after decompression).
  const raw = execFileSync('sh', ['-c', `gzip -dc ${out}`]).toString('latin1');
  assert.ok(!raw.includes(PASSWORD) && !raw.includes(FILE_PASSWORD) && !raw.includes(pemBody.slice(0, 24)));
  const cfg = JSON.parse(readFileSync(join(x, 'gatewarden-support', 'config.redacted.json'), 'utf8'));
  assert.equal(cfg.mqtt.password, '«redacted»');
  assert.equal(cfg.mqtt.username, 'gw', 'non-secrets stay for support');
  assert.equal(cfg.mqtt.passwordFile, pwFile, 'the path is kept, its content is not');
  const diag = JSON.parse(readFileSync(join(x, 'gatewarden-support', 'diag.json'), 'utf8'));
  assert.equal(diag.exitCode, 2, 'broker not listening');
  assert.match(readFileSync(join(x, 'gatewarden-support', 'logs.txt'), 'utf8'), new RegExp(`kid ${keys.kid}`), 'the public kid is not a secret');
});

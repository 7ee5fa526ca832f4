// diag's TLS layer against a real mosquitto: an untrusted broker certificate and an
// expired one are each the right ✖ with a hint naming the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/chain.js';
import { writeDaemonConfig } from '../helpers/daemon.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { makeTestPki } from '../helpers/tls.js';
import { diagJson, failures, find } from '../helpers/diag-cli.js';

/** A server certificate for 127.0.0.1 signed by the test CA, valid only in January 2020. */
function expiredServerCert(pkiDir: string): { cert: string; key: string } {
  const run = (args: string[]): void => void execFileSync('openssl', args, { cwd: pkiDir, stdio: ['ignore', 'ignore', 'pipe'] });
  writeFileSync(join(pkiDir, 'index.txt'), '');
  writeFileSync(join(pkiDir, 'serial'), '1000\n');
  writeFileSync(join(pkiDir, 'ca.cnf'), [
    '[ ca ]', 'default_ca = d', '[ d ]', `dir = ${pkiDir}`, `database = ${pkiDir}/index.txt`, `new_certs_dir = ${pkiDir}`, `serial = ${pkiDir}/serial`,
    'default_md = sha256', 'policy = p', 'copy_extensions = copy', 'unique_subject = no', '[ p ]', 'commonName = supplied', '',
  ].join('\n'));
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'expired.key', '-out', 'expired.csr', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
  run(['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-in', 'expired.csr', '-out', 'expired.crt', '-startdate', '20200101000000Z', '-enddate', '20200201000000Z', '-notext']);
  return { cert: join(pkiDir, 'expired.crt'), key: join(pkiDir, 'expired.key') };
}

test('diag: untrusted and expired broker certificates', { timeout: 180_000 }, async (t) => {
  const pki = makeTestPki();
  const dir = tempDir('gw-diag-tls-');
  t.after(() => {
    pki.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const sync = ['--clock-sync-file', pki.caCert];
  const cfg = (url: string): string => writeDaemonConfig(dir, { mqtt: { url, tls: { ca: pki.caCert } } });

  const good = await startMosquitto({ tls: { caFile: pki.caCert, certFile: pki.serverCert, keyFile: pki.serverKey } });
  t.after(() => good.stop());
  const ok = await diagJson(cfg(good.url), sync);
  assert.equal(find(ok, 'TLS handshake').verdict, 'pass', failures(ok).join('\n'));
  assert.equal(find(ok, 'broker certificate expiry').verdict, 'warn', 'the test CA issues 2-day certificates: expiry < 30 days is a warning');
  assert.equal(find(ok, 'publish round trip').verdict, 'pass');

  const untrusted = await startMosquitto({ tls: { caFile: pki.untrustedCaCert, certFile: pki.untrustedServerCert, keyFile: pki.untrustedServerKey } });
  t.after(() => untrusted.stop());
  const u = await diagJson(cfg(untrusted.url), sync);
  assert.equal(u.code, 2);
  const uh = find(u, 'TLS handshake');
  assert.equal(uh.verdict, 'fail');
  assert.match(uh.detail, /not trusted/);
  assert.match(uh.hint ?? '', /mqtt\.tls\.ca .* must hold the CA that signed the broker certificate/);
  assert.equal(find(u, 'MQTT auth').verdict, 'skip');

  const exp = expiredServerCert(pki.dir);
  const expired = await startMosquitto({ tls: { caFile: pki.caCert, certFile: exp.cert, keyFile: exp.key } });
  t.after(() => expired.stop());
  const e = await diagJson(cfg(expired.url), sync);
  assert.equal(e.code, 2);
  const ee = find(e, 'broker certificate expiry');
  assert.equal(ee.verdict, 'fail');
  assert.match(ee.detail, /expired on 2020-02-01/);
  assert.match(ee.hint ?? '', /renew the broker certificate/);
  assert.equal(find(e, 'MQTT auth').verdict, 'skip');
});

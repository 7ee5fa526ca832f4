// diag tells the truth about its situation: a diag of another config beside a running
// daemon says so (naming both files), and a plain mqtt:// URL pointing at a TLS listener
// is diagnosed as a TLS port (use mqtts://), not as an MQTT version problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/chain.js';
import { spawnDaemon, writeDaemonConfig } from '../helpers/daemon.js';
import { diagJson, failures, find } from '../helpers/diag-cli.js';
import { freePort, startMosquitto } from '../helpers/mosquitto.js';
import { makeTestPki } from '../helpers/tls.js';
import { validateConfig } from '../../config/loader.js';
import { checkBroker } from '../../agent/diag/broker-checks.js';

test('diag --config other.yaml beside a daemon running config.yaml says so', { timeout: 120_000 }, async () => {
  const dir = tempDir('gw-diag-other-');
  const config = writeDaemonConfig(dir, { mqtt: { url: `mqtt://127.0.0.1:${await freePort()}`, reconnect: { minMs: 200, maxMs: 1000 } } });
  const other = join(dir, 'other.yaml');
  copyFileSync(config, other); // same stateDir, so the same control socket
  const d = spawnDaemon(config);
  try {
    await d.waitLog(/control socket listening/);
    const r = await diagJson(other, ['-q']);
    const c = find(r, 'daemon runs this config');
    assert.equal(c.verdict, 'warn');
    assert.ok(c.detail.includes(config) && c.detail.includes(other), c.detail);
    assert.match(c.hint ?? '', new RegExp(`gatewarden diag --config ${config.replaceAll('.', '\\.')}`));
    const same = await diagJson(config, ['-q']);
    assert.ok(!same.checks.some((x) => x.check === 'daemon runs this config'), failures(same).join('\n'));
  } finally {
    d.child.kill('SIGTERM');
    await d.exited;
  }
});

test('mqtt:// to a TLS port: the hint says TLS port, use mqtts://', { timeout: 60_000 }, async () => {
  const pki = makeTestPki();
  const broker = await startMosquitto({ tls: { caFile: pki.caCert, certFile: pki.serverCert, keyFile: pki.serverKey } });
  try {
    const { config } = await validateConfig({ site: 's', gateway: 'g', mqtt: { url: `mqtt://127.0.0.1:${broker.port}`, connectTimeoutMs: 3000 } });
    const checks = await checkBroker({ config, timeoutMs: 3000 });
    const auth = checks.find((c) => c.check === 'MQTT auth');
    assert.equal(auth?.verdict, 'fail', JSON.stringify(checks));
    assert.match(auth!.detail, /closed the connection without a CONNACK.*TLS port/);
    assert.match(auth!.hint ?? '', new RegExp(`use mqtts://127\\.0\\.0\\.1:${broker.port}`));
    assert.doesNotMatch(auth!.hint ?? '', /protocolVersion/);
    // A plain broker with a real MQTT problem keeps the MQTT hint (nothing speaks TLS there).
    const plain = await startMosquitto();
    try {
      const { config: c2 } = await validateConfig({ site: 's', gateway: 'g', mqtt: { url: plain.url, username: 'nobody', password: 'x' } });
      const a2 = (await checkBroker({ config: c2, password: 'x', timeoutMs: 3000 })).find((c) => c.check === 'MQTT auth');
      assert.doesNotMatch(`${a2?.detail} ${a2?.hint}`, /TLS port/);
    } finally {
      await plain.stop();
    }
  } finally {
    await broker.stop();
    pki.cleanup();
  }
});

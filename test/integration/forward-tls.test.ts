// TLS against a real mosquitto with a throwaway PKI (openssl CLI): private CA pinning
// works, a broker certificate from another CA is refused with a clear error, and mutual
// TLS works with a client certificate (and is refused without one).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.js';
import { MemorySpool } from '../helpers/memory-spool.js';
import { probe, waitFor } from '../helpers/mqtt-probe.js';
import { BASE, makeForwarder } from '../helpers/forwarder-fixture.js';
import { sealMany, testChain } from '../helpers/chain.js';
import { makeTestPki, type TestPki } from '../helpers/tls.js';

let pki: TestPki;
let broker: MosquittoBroker;
let mtls: MosquittoBroker;
before(async () => {
  pki = makeTestPki();
  broker = await startMosquitto({ tls: { caFile: pki.caCert, certFile: pki.serverCert, keyFile: pki.serverKey } });
  mtls = await startMosquitto({ tls: { caFile: pki.caCert, certFile: pki.serverCert, keyFile: pki.serverKey, requireClientCert: true } });
});
after(async () => {
  await broker?.stop();
  await mtls?.stop();
  pki?.cleanup();
});

test('TLS with the private CA pinned: connects and delivers', async (t) => {
  const spool = new MemorySpool();
  spool.append(sealMany(testChain(), 5));
  const p = await probe(broker.url, `${BASE}/evt/#`, { ca: readFileSync(pki.caCert) });
  t.after(() => p.close());
  const { fwd } = makeForwarder({ spool, mqtt: { url: broker.url, tls: { ca: pki.caCert } } });
  t.after(() => fwd.stop(500));
  fwd.start();
  await waitFor(() => spool.unsentRowids().length === 0, 'events marked sent over TLS');
  await waitFor(() => p.messages.length === 5, '5 events at the probe');
  assert.equal(fwd.status().lastError, null);
});

test('servername: the certificate is checked against mqtt.tls.servername', async (t) => {
  const { fwd } = makeForwarder({ spool: new MemorySpool(), mqtt: { url: broker.url, tls: { ca: pki.caCert, servername: 'localhost' } } });
  t.after(() => fwd.stop(500));
  fwd.start();
  await waitFor(() => fwd.status().connected, 'connected with servername localhost');
  const { fwd: bad } = makeForwarder({ spool: new MemorySpool(), mqtt: { url: broker.url, tls: { ca: pki.caCert, servername: 'broker.example' } } });
  t.after(() => bad.stop(500));
  bad.start();
  await waitFor(() => bad.status().lastError !== null, 'host name mismatch reported');
  assert.match(bad.status().lastError!, /TLS: broker certificate does not match the host name/);
  assert.equal(bad.status().connected, false);
});

test('a broker certificate from an untrusted CA is refused with a clear error and retried', async (t) => {
  const { fwd, logs } = makeForwarder({ spool: new MemorySpool(), mqtt: { url: broker.url, tls: { ca: pki.untrustedCaCert } } });
  t.after(() => fwd.stop(500));
  fwd.start();
  await waitFor(() => fwd.status().reconnects >= 2, 'two retries');
  const st = fwd.status();
  assert.equal(st.connected, false);
  assert.match(st.lastError ?? '', new RegExp(`^mqtts://127\\.0\\.0\\.1:${broker.port}: TLS: broker certificate is not signed by the configured CA \\(\\w+\\); check mqtt\\.tls\\.ca$`));
  assert.ok(logs.records.some((r) => r.level === 50 && String(r.msg).includes('TLS: broker certificate is not signed by the configured CA')));
});

test('mutual TLS: a client certificate signed by the CA works; none is refused', async (t) => {
  const { fwd } = makeForwarder({ spool: new MemorySpool(), mqtt: { url: mtls.url, tls: { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey } } });
  t.after(() => fwd.stop(500));
  fwd.start();
  await waitFor(() => fwd.status().connected, 'connected with a client certificate');
  assert.equal(fwd.status().lastError, null);

  const { fwd: anon } = makeForwarder({ spool: new MemorySpool(), mqtt: { url: mtls.url, tls: { ca: pki.caCert } } });
  t.after(() => anon.stop(500));
  anon.start();
  await waitFor(() => anon.status().reconnects >= 1 && anon.status().lastError !== null, 'refused without a client certificate');
  assert.equal(anon.status().connected, false);
  assert.match(anon.status().lastError!, /TLS: the broker requires a client certificate \(\w+\); set mqtt\.tls\.cert and mqtt\.tls\.key|ECONNRESET/);
});

// Forwarder against a real mosquitto: birth/Will, ordered delivery and marking, bdSeq
// across restarts, historical marking, 3.1.1 mode, health topic (docs/contracts.md §Topics).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.js';
import { MemorySpool } from '../helpers/memory-spool.js';
import { probe, waitFor } from '../helpers/mqtt-probe.js';
import { BASE, makeForwarder } from '../helpers/forwarder-fixture.js';
import { sealMany, testChain } from '../helpers/chain.js';

let broker: MosquittoBroker;
before(async () => {
  broker = await startMosquitto();
});
after(async () => {
  await broker?.stop();
});

test('birth is retained; SIGKILL of the gateway publishes the Will with the same bdSeq', async (t) => {
  const p = await probe(broker.url, `${BASE}/state`);
  t.after(() => p.close());
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../helpers/forward-child.ts', import.meta.url))], {
    env: { ...process.env, FWD_URL: broker.url, FWD_BDSEQ: '41' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => /birth \d+/.test(out), 'child forwarder to connect');
  await waitFor(() => p.messages.some((m) => JSON.parse(m.payload).online === true), 'birth');
  const birth = JSON.parse(p.messages.find((m) => JSON.parse(m.payload).online === true)!.payload);
  assert.equal(birth.bdSeq, 42, 'bdSeq continues from the persisted value');
  assert.equal(birth.kid, 'kid-test');
  assert.equal(birth.pubkey, 'pubkey-test');
  assert.equal(birth.version, '0.0.0-test');
  assert.equal(typeof birth.started, 'string');
  assert.ok('epoch' in birth);

  // A late subscriber sees the birth as retained.
  const late = await probe(broker.url, `${BASE}/state`);
  t.after(() => late.close());
  await waitFor(() => late.messages.length > 0, 'retained birth');
  assert.equal(late.messages[0].retain, true);
  assert.equal(JSON.parse(late.messages[0].payload).online, true);

  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  await waitFor(() => p.messages.some((m) => JSON.parse(m.payload).online === false), 'Will');
  const will = JSON.parse(p.messages.find((m) => JSON.parse(m.payload).online === false)!.payload);
  assert.deepEqual(will, { online: false, bdSeq: 42 });

  const late2 = await probe(broker.url, `${BASE}/state`);
  t.after(() => late2.close());
  await waitFor(() => late2.messages.length > 0, 'retained Will');
  assert.deepEqual(JSON.parse(late2.messages[0].payload), { online: false, bdSeq: 42 });
});

test('events arrive in seq order on evt/{family}, are marked sent, backlog is hist=1; bdSeq rises across restarts', async (t) => {
  const spool = new MemorySpool();
  const chain = testChain();
  const p = await probe(broker.url, `${BASE}/#`);
  t.after(() => p.close());

  // 50 events spooled before the connection: the backlog.
  spool.append(sealMany(chain, 50, 'sensor.value.reading'));
  const { fwd } = makeForwarder({ spool, mqtt: { url: broker.url, inflightWindow: 7 } });
  t.after(() => fwd.stop(1000));
  fwd.start();
  await waitFor(() => spool.unsentRowids().length === 0, 'backlog marked sent');

  // Real-time events of two families, after the connection came up.
  const live = [];
  for (let i = 0; i < 30; i++) live.push(chain.seal({ driver: 'test', device: 'door-1', type: i % 2 ? 'access.card.read' : 'video.motion.start', severity: 'info', data: { i } }));
  spool.append(live);
  fwd.notify();
  await waitFor(() => spool.unsentRowids().length === 0, 'live events marked sent');
  await waitFor(() => p.messages.filter((m) => m.topic.includes('/evt/')).length >= 80, '80 events at the probe');

  const evts = p.messages.filter((m) => m.topic.includes('/evt/'));
  assert.equal(evts.length, 80, 'no duplicates on a healthy connection');
  const seqs = evts.map((m) => JSON.parse(m.payload).body.seq);
  assert.deepEqual(seqs, Array.from({ length: 80 }, (_, i) => i + 1), 'first deliveries in seq order');
  for (const m of evts) {
    const body = JSON.parse(m.payload).body;
    assert.equal(m.topic, `${BASE}/evt/${body.type.split('.')[0]}`);
    assert.equal(m.retain, false);
    // Only hist travels as a user property; seq and epoch are in the signed body.
    assert.deepEqual(Object.keys(m.userProperties), ['hist']);
    assert.equal(m.userProperties.hist, body.seq <= 50 ? '1' : '0', `hist of seq ${body.seq}`);
  }
  const st = fwd.status();
  assert.equal(st.connected, true);
  assert.equal(st.acked, 80);
  assert.equal(st.failed, 0);
  assert.equal(st.backlog, 0);
  assert.equal(st.replaying, false);
  assert.equal(st.inflight, 0);
  const firstBdSeq = st.bdSeq;

  // Clean stop: retained {online:false, clean:true}; the Will is not published.
  await fwd.stop(2000);
  await waitFor(() => p.on(`${BASE}/state`).some((m) => JSON.parse(m.payload).online === false), 'offline state');
  const states = p.on(`${BASE}/state`).map((m) => JSON.parse(m.payload));
  assert.deepEqual(states.at(-1), { online: false, bdSeq: firstBdSeq, clean: true });

  // A second forwarder on the same spool: bdSeq keeps rising.
  const { fwd: fwd2 } = makeForwarder({ spool, mqtt: { url: broker.url } });
  t.after(() => fwd2.stop(1000));
  fwd2.start();
  await waitFor(() => fwd2.status().connected, 'second forwarder connected');
  assert.ok(fwd2.status().bdSeq > firstBdSeq);
  await waitFor(() => p.on(`${BASE}/state`).some((m) => JSON.parse(m.payload).bdSeq === fwd2.status().bdSeq), 'second birth');
  await fwd2.stop(2000);
  assert.equal(p.messages.filter((m) => m.topic.includes('/evt/')).length, 80, 'nothing resent by the second forwarder');
});

test('events older than historicalAfterMs are marked hist=1 even when spooled after connect', async (t) => {
  const spool = new MemorySpool();
  const chain = testChain();
  const p = await probe(broker.url, `${BASE}/evt/#`);
  t.after(() => p.close());
  const { fwd } = makeForwarder({ spool, mqtt: { url: broker.url, historicalAfterMs: 5000 } });
  t.after(() => fwd.stop(1000));
  fwd.start();
  await waitFor(() => fwd.status().connected, 'connected');
  spool.append(sealMany(chain, 3));
  spool.backdate(60_000);
  fwd.notify();
  await waitFor(() => p.messages.length >= 3, '3 events');
  assert.deepEqual(p.messages.map((m) => m.userProperties.hist), ['1', '1', '1']);
});

test('MQTT 3.1.1 mode (protocolVersion 4): birth, ordered events, marked sent', async (t) => {
  const spool = new MemorySpool();
  const chain = testChain();
  const p = await probe(broker.url, `${BASE}/#`);
  t.after(() => p.close());
  spool.append(sealMany(chain, 20, 'access.card.read'));
  const { fwd } = makeForwarder({ spool, mqtt: { url: broker.url, protocolVersion: 4 } });
  t.after(() => fwd.stop(1000));
  fwd.start();
  await waitFor(() => spool.unsentRowids().length === 0, 'all marked sent');
  await waitFor(() => p.messages.filter((m) => m.topic.includes('/evt/')).length >= 20, 'events');
  const evts = p.messages.filter((m) => m.topic.includes('/evt/'));
  assert.equal(evts[0].topic, `${BASE}/evt/system`, 'seq 1 is the epoch announcement');
  assert.equal(evts[1].topic, `${BASE}/evt/access`);
  assert.deepEqual(evts.map((m) => JSON.parse(m.payload).body.seq), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.deepEqual(evts[0].userProperties, {}, 'no user properties in 3.1.1');
  assert.ok(p.on(`${BASE}/state`).some((m) => JSON.parse(m.payload).online === true));
  // mosquitto logs MQTT 3.1.1 clients as "p2" (its mosq_p_mqtt311) and v5 ones as "p5".
  assert.match(broker.log(), /as gatewarden-site-t-gw-t-\w+ \(p2,/, 'the broker saw an MQTT 3.1.1 CONNECT');
});

test('health topic merges agent health with forwarder status; dev/{device} is retained', async (t) => {
  const spool = new MemorySpool();
  const p = await probe(broker.url, `${BASE}/#`);
  t.after(() => p.close());
  const { fwd } = makeForwarder({ spool, mqtt: { url: broker.url, healthIntervalSeconds: 1 } });
  t.after(() => fwd.stop(1000));
  fwd.publishDevice('cam-1', { state: 'online', model: 'X' });
  fwd.start();
  await waitFor(() => p.on(`${BASE}/health`).length > 0, 'health message');
  const h = JSON.parse(p.on(`${BASE}/health`)[0].payload);
  assert.equal(h.spoolDepth, 0);
  assert.equal(h.forward.connected, true);
  assert.equal(typeof h.forward.bdSeq, 'number');
  assert.equal(h.forward.replaying, false);
  fwd.publishDevice('cam-1', { state: 'offline', model: 'X' });
  await waitFor(() => p.on(`${BASE}/dev/cam-1`).length >= 2, 'device states');
  const late = await probe(broker.url, `${BASE}/dev/+`);
  t.after(() => late.close());
  await waitFor(() => late.messages.length > 0, 'retained device state');
  assert.equal(late.messages[0].retain, true);
  assert.deepEqual(JSON.parse(late.messages[0].payload), { state: 'offline', model: 'X' });
});

// Authentication and authorization against a real mosquitto: a wrong password is a clear
// error retried with growing (full-jitter, here pinned) backoff; an ACL that denies one
// topic yields PUBACK 0x87 for v5 and the refused row stays unsent (docs/contracts.md §Spool, §Topics).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.js';
import { MemorySpool } from '../helpers/memory-spool.js';
import { probe, waitFor } from '../helpers/mqtt-probe.js';
import { BASE, makeForwarder } from '../helpers/forwarder-fixture.js';
import { sealMany, testChain } from '../helpers/chain.js';

const ACL = `
user gw
topic readwrite ${BASE}/state
topic readwrite ${BASE}/health
topic readwrite ${BASE}/dev/#
topic readwrite ${BASE}/evt/system
topic readwrite ${BASE}/evt/sensor
topic read ${BASE}/cmd/#

user probe
topic read gatewarden/v1/#
`;

let broker: MosquittoBroker;
before(async () => {
  broker = await startMosquitto({ auth: { users: { gw: 'right-pass', probe: 'probe-pass' }, acl: ACL } });
});
after(async () => {
  await broker?.stop();
});

test('wrong password: clear error naming the broker, retried with growing delay; right password connects', async (t) => {
  const spool = new MemorySpool();
  const { fwd, logs } = makeForwarder({
    spool,
    mqtt: { url: broker.url, username: 'gw', reconnect: { minMs: 50, maxMs: 2000 } },
    password: 'wrong-pass',
    random: () => 0.999,
  });
  t.after(() => fwd.stop(500));
  fwd.start();
  await waitFor(() => logs.records.filter((r) => r.msg === 'reconnect scheduled').length >= 5, '5 retries');
  await fwd.stop(500);

  const st = fwd.status();
  assert.equal(st.connected, false);
  assert.ok(st.reconnects >= 4);
  // mosquitto 2.0 answers a wrong password with CONNACK 0x87 "not authorized" for v5
  // (0x86 "bad username or password" from other brokers); either is named plainly.
  const reason = /(bad username or password \(CONNACK 0x86\)|not authorized \(CONNACK 0x87\))/;
  assert.match(st.lastError ?? '', new RegExp(`^mqtt://127\\.0\\.0\\.1:${broker.port}: ${reason.source}`));
  // The refusal is logged once in full; the repeats are one summary with their count (written at stop).
  const errors = logs.records.filter((r) => r.level === 50);
  assert.equal(errors.length, 2, errors.map((r) => r.msg).join('\n'));
  assert.match(String(errors[0].msg), new RegExp(`^MQTT broker mqtt://127\\.0\\.0\\.1:${broker.port} refused the connection: ${reason.source}`));
  assert.match(String(errors[1].msg), / \(repeated \d+ more time\(s\) in \d+ s\)$/);
  assert.ok((errors[1].repeated as number) >= 4, `repeats counted: ${String(errors[1].repeated)}`);
  assert.equal(logs.records.filter((r) => r.msg === 'reconnecting to MQTT broker after backoff').length, 1, 'info: once, then the summary');
  const delays = logs.records.filter((r) => r.msg === 'reconnect scheduled').map((r) => r.retryInMs as number);
  assert.deepEqual(delays.slice(0, 5), [50, 99, 199, 399, 799], 'full-jitter cap doubles per attempt (random pinned at 0.999)');
  assert.ok(!logs.text().includes('wrong-pass'), 'the password is never logged');

  const { fwd: ok } = makeForwarder({ spool, mqtt: { url: broker.url, username: 'gw' }, password: 'right-pass' });
  t.after(() => ok.stop(500));
  ok.start();
  await waitFor(() => ok.status().connected, 'connected with the right password');
  assert.equal(ok.status().lastError, null);
});

test('MQTT 3.1.1 wrong password is reported with its v3 return code', async (t) => {
  const { fwd } = makeForwarder({ spool: new MemorySpool(), mqtt: { url: broker.url, username: 'gw', protocolVersion: 4 }, password: 'nope' });
  t.after(() => fwd.stop(500));
  fwd.start();
  await waitFor(() => fwd.status().lastError !== null && fwd.status().reconnects >= 1, 'a refused attempt');
  assert.match(fwd.status().lastError!, /: (bad username or password|not authorized) \(CONNACK [45]\)$/);
});

test('PUBACK 0x87 (ACL deny) leaves that row unsent and retries it; other rows are delivered and marked', async (t) => {
  const chain = testChain();
  const spool = new MemorySpool();
  const p = await probe(broker.url, `${BASE}/#`, { username: 'probe', password: 'probe-pass' });
  t.after(() => p.close());
  const evts = sealMany(chain, 4, 'sensor.value.reading'); // seq 1 is system.chain.epoch
  evts.push(chain.seal({ driver: 'test', device: 'door-1', type: 'access.door.forced', severity: 'alarm', data: {} }));
  for (let i = 0; i < 3; i++) evts.push(chain.seal({ driver: 'test', device: 'dev-1', type: 'sensor.value.reading', severity: 'info', data: { i } }));
  spool.append(evts);
  const deniedRowid = 5;

  const { fwd, logs } = makeForwarder({ spool, mqtt: { url: broker.url, username: 'gw', reconnect: { minMs: 100, maxMs: 400 } }, password: 'right-pass' });
  t.after(() => fwd.stop(500));
  fwd.start();
  await waitFor(() => fwd.status().failed >= 1 && spool.unsentRowids().length === 1, 'the denied row to fail and the others to be marked');
  assert.deepEqual(spool.unsentRowids(), [deniedRowid]);
  assert.match(fwd.status().lastError ?? '', /broker refused event row 5: not authorized \(PUBACK 0x87\)/);
  assert.ok(logs.records.some((r) => r.level === 50 && String(r.msg).includes('not authorized (PUBACK 0x87)')));

  // It is retried after backoff (and refused again); the connection stays up.
  await waitFor(() => fwd.status().failed >= 2, 'a retry of the denied row');
  assert.equal(fwd.status().connected, true);

  // Later rows still flow in retry rounds.
  spool.append(sealMany(chain, 2, 'sensor.value.reading'));
  fwd.notify();
  await waitFor(() => spool.unsentRowids().length === 1, 'later rows marked sent');
  assert.deepEqual(spool.unsentRowids(), [deniedRowid]);

  await waitFor(() => p.messages.filter((m) => m.topic.endsWith('/evt/sensor')).length >= 8, 'the 8 sensor events at the probe');
  assert.equal(p.messages.filter((m) => m.topic.endsWith('/evt/access')).length, 0);
  assert.equal(fwd.status().backlog, 1);
});

test('MQTT 3.1.1: the same ACL-denied publish is PUBACKed and silently lost; the start-up warning says so (v5 above: 0x87, row kept)', async (t) => {
  const chain = testChain();
  const spool = new MemorySpool();
  const p = await probe(broker.url, `${BASE}/#`, { username: 'probe', password: 'probe-pass' });
  t.after(() => p.close());
  const evts = sealMany(chain, 2, 'sensor.value.reading');
  evts.push(chain.seal({ driver: 'test', device: 'door-1', type: 'access.door.forced', severity: 'alarm', data: {} }));
  evts.push(chain.seal({ driver: 'test', device: 'dev-1', type: 'sensor.value.reading', severity: 'info', data: { i: 9 } }));
  spool.append(evts);
  const { fwd, logs } = makeForwarder({ spool, mqtt: { url: broker.url, username: 'gw', protocolVersion: 4 }, password: 'right-pass' });
  t.after(() => fwd.stop(500));
  fwd.start();
  assert.ok(logs.records.some((r) => r.level === 40 && /MQTT 3\.1\.1 without end-to-end ack: a publish the broker denies \(ACL\) is acknowledged and silently lost/.test(String(r.msg))));
  await waitFor(() => spool.unsentRowids().length === 0, 'every row PUBACKed and marked sent');
  await waitFor(() => p.messages.filter((m) => m.topic.endsWith('/evt/sensor')).length >= 2, 'the sensor events at the probe');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(p.messages.filter((m) => m.topic.endsWith('/evt/access')).length, 0, 'the denied event never reached a subscriber');
  assert.equal(fwd.status().failed, 0, 'no refusal is visible to a 3.1.1 client');
  console.log(`# 3.1.1: access event (row 3) marked sent, delivered to nobody; v5: PUBACK 0x87 and the row stays unsent`);

  // With end-to-end ack on, the warning is not given (the platform ack catches the loss).
  const { fwd: acked, logs: l2 } = makeForwarder({ spool: new MemorySpool(), mqtt: { url: broker.url, username: 'gw', protocolVersion: 4, platformAck: { enabled: true } }, password: 'right-pass' });
  acked.start();
  await acked.stop(200);
  assert.ok(!l2.records.some((r) => /MQTT 3\.1\.1 without end-to-end ack/.test(String(r.msg))));
});

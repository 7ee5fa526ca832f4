// Pure parts of agent/forward: backoff, topic map, error descriptions, client options.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, Backoff } from '../../agent/backoff.js';
import { makeTopics } from '../../agent/forward/topics.js';
import { brokerName, buildClientOptions, describeConnectError } from '../../agent/forward/mqtt-options.js';
import { mqttSchema } from '../../config/schema.js';

test('full-jitter backoff: cap doubles from minMs to maxMs, never below minMs', () => {
  const hi = { minMs: 100, maxMs: 1000, random: () => 0.999999 };
  assert.deepEqual([0, 1, 2, 3, 4, 60, 5000].map((a) => backoffDelay(a, hi)), [100, 199, 399, 799, 999, 999, 999]);
  const lo = { minMs: 100, maxMs: 1000, random: () => 0 };
  assert.equal(backoffDelay(7, lo), 100);
  const mid = { minMs: 100, maxMs: 1000, random: () => 0.5 };
  assert.equal(backoffDelay(3, mid), 400);
  const b = new Backoff(hi);
  assert.deepEqual([b.next(), b.next(), b.next()], [100, 199, 399]);
  b.reset();
  assert.equal(b.next(), 100);
});

test('topic map of docs/contracts.md §Topics', () => {
  const t = makeTopics('gatewarden/v1', 's1', 'g1');
  assert.equal(t.state, 'gatewarden/v1/s1/g1/state');
  assert.equal(t.evt('access'), 'gatewarden/v1/s1/g1/evt/access');
  assert.equal(t.evt('access'), t.evt('access'));
  assert.equal(t.dev('cam-1'), 'gatewarden/v1/s1/g1/dev/cam-1');
  assert.equal(t.health, 'gatewarden/v1/s1/g1/health');
  assert.equal(t.cmd('led'), 'gatewarden/v1/s1/g1/cmd/led');
  assert.equal(t.cmdFilter, 'gatewarden/v1/s1/g1/cmd/+');
  assert.equal(t.cmdResult, 'gatewarden/v1/s1/g1/cmd-result');
  assert.equal(t.commandName('gatewarden/v1/s1/g1/cmd/led'), 'led');
  assert.equal(t.commandName('gatewarden/v1/s1/g1/cmd-result'), null);
  assert.equal(t.commandName('gatewarden/v1/s1/g1/cmd/a/b'), null);
});

test('connection errors are described plainly', () => {
  const refused = (code: number) => Object.assign(new Error('Connection refused: x'), { code });
  assert.deepEqual(describeConnectError(refused(0x86), 5), { kind: 'auth', reason: 'bad username or password (CONNACK 0x86)' });
  assert.deepEqual(describeConnectError(refused(0x87), 5), { kind: 'auth', reason: 'not authorized (CONNACK 0x87)' });
  assert.deepEqual(describeConnectError(refused(4), 4), { kind: 'auth', reason: 'bad username or password (CONNACK 4)' });
  assert.deepEqual(describeConnectError(refused(5), 4), { kind: 'auth', reason: 'not authorized (CONNACK 5)' });
  const tls = describeConnectError(Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }), 5);
  assert.equal(tls.kind, 'tls');
  assert.match(tls.reason, /not signed by the configured CA/);
  assert.equal(describeConnectError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 5).kind, 'network');
});

test('broker name never carries credentials; client options follow the config', () => {
  assert.equal(brokerName('mqtts://user:secret@broker.example'), 'mqtts://broker.example:8883');
  assert.equal(brokerName('mqtt://127.0.0.1'), 'mqtt://127.0.0.1:1883');
  const cfg = mqttSchema.parse({ username: 'u', password: 'from-config', protocolVersion: 4 });
  const o = buildClientOptions(cfg, { clientId: 'c', password: 'from-file', will: { topic: 't', payload: '{"online":false,"bdSeq":3}' } });
  assert.equal(o.password, 'from-file');
  assert.equal(o.protocolVersion, 4);
  assert.equal(o.reconnectPeriod, 0);
  assert.equal(o.clean, true);
  assert.equal(o.will?.retain, true);
  assert.equal(o.will?.qos, 1);
  assert.equal(String(o.will?.payload), '{"online":false,"bdSeq":3}');
});

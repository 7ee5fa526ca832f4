// docs/mosquitto-acl.md, exercised: a real mosquitto runs the ACL block of that document
// verbatim; a gateway's own flow works, it cannot publish into another gateway's topics,
// read another's commands or acks, or publish commands at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type IClientPublishOptions, type MqttClient } from 'mqtt';
import { startMosquitto } from '../helpers/mosquitto.js';
import { probe, waitFor } from '../helpers/mqtt-probe.js';
import { ACL_USERS, documentedAcl } from '../helpers/acl.js';

const P = 'gatewarden/v1';

async function client(url: string, username: keyof typeof ACL_USERS): Promise<MqttClient> {
  const c = connect(url, { protocolVersion: 5, username, password: ACL_USERS[username], clientId: `${username}-acl-test`, reconnectPeriod: 0, connectTimeout: 10_000 });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

/** PUBACK reason code of a QoS 1 publish (0 = accepted; mqtt.js reports ≥ 0x80 as an error carrying the code). */
function publishRc(c: MqttClient, topic: string, payload: string, o: IClientPublishOptions = {}): Promise<number> {
  return new Promise((resolve) => {
    c.publish(topic, payload, { qos: 1, ...o }, (err, packet) => {
      const fromErr = (err as { code?: number } | undefined)?.code;
      resolve(typeof fromErr === 'number' ? fromErr : err ? -1 : ((packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0));
    });
  });
}

function subscribeQos(c: MqttClient, filter: string): Promise<number> {
  return new Promise((resolve, reject) => c.subscribe(filter, { qos: 1 }, (err, granted) => (err ? reject(err) : resolve(granted?.[0]?.qos ?? -1))));
}

test('the documented mosquitto ACL: one user per gateway, scoped to its own site/gw', { timeout: 60_000 }, async (t) => {
  const broker = await startMosquitto({ auth: { users: { ...ACL_USERS }, acl: documentedAcl() } });
  t.after(() => broker.stop());
  const platform = await probe(broker.url, `${P}/#`, { username: 'platform', password: ACL_USERS.platform });
  t.after(() => platform.close());
  const gw1 = await client(broker.url, 'site-a.gw-1');
  const gw2 = await client(broker.url, 'site-a.gw-2');
  t.after(() => gw1.endAsync());
  t.after(() => gw2.endAsync());
  const got1: string[] = [];
  gw1.on('message', (topic) => got1.push(topic));

  // Its own flow: publishes accepted and delivered; its own commands and acks readable.
  for (const tail of ['state', 'evt/access', 'dev/door-1', 'health', 'head', 'cmd-result', 'diag']) {
    assert.equal(await publishRc(gw1, `${P}/site-a/gw-1/${tail}`, `own-${tail}`), 0, `gw-1 → its own ${tail}`);
  }
  assert.equal(await publishRc(gw1, `${P}/_platform/cli-1/reply`, 'result'), 0, 'gw-1 → a platform reply topic');
  await waitFor(() => platform.on(`${P}/site-a/gw-1/evt/access`).length === 1 && platform.on(`${P}/_platform/cli-1/reply`).length === 1, 'own publishes delivered');
  assert.equal(await subscribeQos(gw1, `${P}/site-a/gw-1/cmd/+`), 1);
  assert.equal(await subscribeQos(gw1, `${P}/site-a/gw-1/ack`), 1);

  // Another gateway's topics: PUBACK 0x87 (not authorized), nothing delivered.
  for (const tail of ['state', 'evt/access', 'dev/door-1', 'health', 'head', 'cmd-result']) {
    assert.equal(await publishRc(gw1, `${P}/site-a/gw-2/${tail}`, `forged-${tail}`), 0x87, `gw-1 → gw-2 ${tail} refused`);
  }
  assert.equal(await publishRc(gw1, `${P}/site-b/gw-1/evt/access`, 'forged'), 0x87, 'same gw id under another site refused');
  // Commands cannot be published by a gateway, not even to itself.
  assert.equal(await publishRc(gw1, `${P}/site-a/gw-1/cmd/ping`, 'self-command'), 0x87);
  assert.equal(await publishRc(gw1, `${P}/site-a/gw-2/cmd/ping`, 'cross-command'), 0x87);
  assert.equal(await publishRc(gw1, `${P}/site-a/gw-2/ack`, 'forged-ack'), 0x87);

  // Another gateway's commands and acks: mosquitto 2.0 grants the subscription (its acl_file
  // is checked per delivered message, not at SUBSCRIBE), but delivers nothing of them.
  await subscribeQos(gw1, `${P}/site-a/gw-2/cmd/+`);
  await subscribeQos(gw1, `${P}/site-a/gw-2/ack`);
  await subscribeQos(gw1, `${P}/+/+/cmd/+`);
  assert.equal(await subscribeQos(gw2, `${P}/site-a/gw-2/cmd/+`), 1);
  const got2: string[] = [];
  gw2.on('message', (topic) => got2.push(topic));
  assert.equal(await publishRc(platform.client, `${P}/site-a/gw-2/cmd/ping`, 'for-gw-2'), 0);
  assert.equal(await publishRc(platform.client, `${P}/site-a/gw-2/ack`, 'ack-for-gw-2'), 0);
  assert.equal(await publishRc(platform.client, `${P}/site-a/gw-1/cmd/ping`, 'for-gw-1'), 0);
  await waitFor(() => got2.includes(`${P}/site-a/gw-2/cmd/ping`) && got1.includes(`${P}/site-a/gw-1/cmd/ping`), 'each gateway gets its own command');
  // Both commands were published before gw-1's own arrived; mosquitto delivers in order per client.
  // Both were published before gw-1's own command, and mosquitto delivers in order per client:
  // the one gw-1 received (once per matching subscription) is its own, nothing of gw-2's.
  assert.ok(got1.length > 0 && got1.every((x) => x === `${P}/site-a/gw-1/cmd/ping`), `gw-1 received ${got1.join(', ')}`);

  const seen = platform.messages.map((m) => m.payload);
  for (const forged of ['forged-state', 'forged-evt/access', 'forged-cmd-result', 'forged', 'self-command', 'cross-command', 'forged-ack']) {
    assert.ok(!seen.includes(forged), `${forged} reached the platform`);
  }
  assert.ok(seen.includes('own-evt/access') && seen.includes('for-gw-2'), 'control: the platform does see allowed traffic');
});

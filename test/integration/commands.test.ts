// docs/contracts.md §Commands against a real mosquitto and the real daemon: signed commands are executed;
// forged, expired, replayed and unsupported ones are refused with a signed
// system.command.rejected event and a result naming the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { signCommand } from '../../agent/commands/sign.js';
import { waitFor } from '../helpers/mqtt-probe.js';
import { startCommandRig } from '../helpers/command-rig.js';

const BASE = 'gatewarden/v1/site-t/gw-t';

test('signed commands: executed when valid; forged, expired, replayed and unsupported refused', { timeout: 90_000 }, async (t) => {
  const { platform, sub } = await startCommandRig(t);
  const stranger = generateKeyPairSync('ed25519');

  const results = (): Array<Record<string, unknown>> => sub.on(`${BASE}/cmd-result`).map((m) => JSON.parse(m.payload));
  const events = (type: string): Array<{ body: { data: Record<string, unknown> } }> =>
    sub.messages.filter((m) => m.topic.startsWith(`${BASE}/evt/`)).map((m) => JSON.parse(m.payload)).filter((e) => e.body.type === type);
  const send = (name: string, payload: unknown): void => void sub.client.publish(`${BASE}/cmd/${name}`, JSON.stringify(payload), { qos: 1 });
  const resultFor = async (id: string) => {
    await waitFor(() => results().some((r) => r.id === id), `result for ${id}`);
    return results().find((r) => r.id === id)!;
  };

  const ping = signCommand(platform.privateKey, 'ping');
  send('ping', ping);
  const ok = await resultFor(ping.body.id);
  assert.equal(ok.ok, true);
  assert.equal(typeof (ok.data as { head: { seq: number } }).head.seq, 'number');
  await waitFor(() => events('system.command.executed').some((e) => e.body.data.id === ping.body.id), 'executed event');
  assert.ok(events('system.command.accepted').some((e) => e.body.data.id === ping.body.id));

  const rejectedWith = async (id: string, reason: string): Promise<void> => {
    await waitFor(() => results().some((r) => r.id === id && r.ok === false && r.error === reason), `${reason} result for ${id}`);
    await waitFor(() => events('system.command.rejected').some((e) => e.body.data.id === id && e.body.data.reason === reason), `${reason} event`);
  };

  send('ping', ping); // the very same command again
  await waitFor(() => results().filter((r) => r.id === ping.body.id).length === 2, 'replay result');
  assert.equal(results().filter((r) => r.id === ping.body.id)[1].error, 'replayed');

  const forged = signCommand(stranger.privateKey, 'ping');
  send('ping', forged);
  await rejectedWith(forged.body.id, 'bad-signature');

  const tampered = signCommand(platform.privateKey, 'ping', { a: 1 });
  send('ping', { ...tampered, body: { ...tampered.body, args: { a: 2 } } });
  await rejectedWith(tampered.body.id, 'bad-signature');

  const expired = signCommand(platform.privateKey, 'ping', {}, { now: Date.now() - 3_600_000, ttlMs: 60_000 });
  send('ping', expired);
  await rejectedWith(expired.body.id, 'expired');

  const wrongTopic = signCommand(platform.privateKey, 'diag');
  send('ping', wrongTopic);
  await rejectedWith(wrongTopic.body.id, 'name-mismatch');

  const unsupported = signCommand(platform.privateKey, 'led', { color: 'red' }, { target: 'heartbeat' });
  send('led', unsupported);
  await rejectedWith(unsupported.body.id, 'unsupported');

  // MQTT 5 request/response: the result goes to the response topic with the correlation data.
  const rr = signCommand(platform.privateKey, 'ping');
  const replyTopic = `platform/replies/${rr.body.id}`;
  const replies: Array<{ payload: string; corr?: Buffer }> = [];
  await new Promise<void>((r) => sub.client.subscribe(replyTopic, { qos: 1 }, () => r()));
  sub.client.on('message', (topic, payload, packet) => {
    if (topic === replyTopic) replies.push({ payload: payload.toString(), corr: packet.properties?.correlationData as Buffer | undefined });
  });
  sub.client.publish(`${BASE}/cmd/ping`, JSON.stringify(rr), { qos: 1, properties: { responseTopic: replyTopic, correlationData: Buffer.from('corr-42') } });
  await waitFor(() => replies.length === 1, 'reply on the response topic');
  assert.equal(JSON.parse(replies[0].payload).ok, true);
  assert.equal(replies[0].corr?.toString(), 'corr-42');
});

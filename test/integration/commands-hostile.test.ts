// Hostile command payloads against the real daemon and a real mosquitto: lone surrogates
// in every position (escaped and as CESU-8 bytes), invalid UTF-8, a 100,000-character id,
// 10,000-deep nesting, duplicate keys, a long topic name, and a validly signed body that
// holds a lone surrogate. The daemon must keep running, answer a valid command afterwards,
// and every event it publishes must be I-JSON that canonicalises identically under our
// RFC 8785 implementation and an independent one (json-canonicalize), and verify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID, sign } from 'node:crypto';
import { join } from 'node:path';
import { canonicalize as independent } from 'json-canonicalize';
import { signCommand } from '../../agent/commands/sign.js';
import { jcs } from '../../agent/chain/jcs.js';
import { parseStrictJson } from '../../agent/chain/strict-json.js';
import { verifyEvents } from '../../agent/verify/verify.js';
import { waitFor } from '../helpers/mqtt-probe.js';
import { gatewayPubkey } from '../helpers/daemon.js';
import { startCommandRig } from '../helpers/command-rig.js';
import { validVectors } from '../helpers/jcs-vectors.js';

const BASE = 'gatewarden/v1/site-t/gw-t';

test('hostile command payloads: daemon keeps running; every published event is RFC 8785-canonical I-JSON', { timeout: 120_000 }, async (t) => {
  const raw: Array<{ topic: string; payload: Buffer }> = [];
  const { platform, dir, daemon: d, sub } = await startCommandRig(t, { onMessage: (topic, payload) => raw.push({ topic, payload }) });

  const now = Date.now();
  const iat = new Date(now).toISOString();
  const exp = new Date(now + 60_000).toISOString();
  const body = (fields: string): string => `{"body":{${fields}},"sig":"AAAA"}`;
  const deep = (n: number, open: string, inner: string, close: string): string => open.repeat(n) + inner + close.repeat(n);
  const longId = 'x'.repeat(100_000);
  // A platform with a lax canonicaliser signs a body holding a lone surrogate: refused before verification.
  const laxBody = { cmd: 'ping', args: { note: '\ud800' }, id: randomUUID(), iat, exp };
  const laxSigned = `{"body":${independent(laxBody)},"sig":"${sign(null, Buffer.from(independent(laxBody)), platform.privateKey).toString('base64url')}"}`;

  const hostile: Array<[string, string | Buffer]> = [
    ['ping', '{"body":{"cmd":1,"id":"\\ud800"},"sig":"x"}'],
    ['ping', body(`"cmd":"ping","id":"\\ud800abcdefgh","iat":"${iat}","exp":"${exp}","args":{}`)],
    ['ping', body(`"cmd":"\\udc00","id":"${randomUUID()}","iat":"${iat}","exp":"${exp}","args":{}`)],
    ['ping', body(`"cmd":"ping","id":"${randomUUID()}","iat":"${iat}","exp":"${exp}","args":{"\\ud83d":1}`)],
    ['ping', body(`"cmd":"ping","id":"${randomUUID()}","iat":"${iat}","exp":"${exp}","args":{"k":["\\ude00x"]}`)],
    ['ping', body(`"cmd":"ping","id":"${randomUUID()}","iat":"\\udbff","exp":"${exp}","args":{}`).replace('"AAAA"', '"\\ud800"')],
    ['ping', `{"body":{"cmd":"ping"},"\\ud800":1,"sig":"x"}`],
    ['ping', body(`"cmd":"ping","id":"${longId}","iat":"${iat}","exp":"${exp}","args":{}`)],
    ['ping', body(`"cmd":"ping","id":"${'é'.repeat(99_999)}😀","iat":"${iat}","exp":"${exp}","args":{}`)],
    ['ping', body(`"cmd":"ping","id":"${randomUUID()}","iat":"${iat}","exp":"${exp}","args":${deep(10_000, '{"a":', '1', '}')}`)],
    ['ping', deep(10_000, '[', '', ']')],
    ['ping', deep(10_000, '{"body":', '{}', '}')],
    ['ping', Buffer.concat([Buffer.from('{"body":{"cmd":"ping","id":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('abcdefgh"},"sig":"x"}')])],
    ['ping', Buffer.concat([Buffer.from('{"body":{"cmd":"ping","id":"ab'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('cdefgh"},"sig":"x"}')])],
    ['ping', body(`"cmd":"ping","cmd":"diag","id":"${randomUUID()}","iat":"${iat}","exp":"${exp}","args":{}`)],
    ['ping', body(`"cmd":"ping","id":"${randomUUID()}","iat":"${iat}","exp":"${exp}","args":{"n":1e400}`)],
    ['ping', laxSigned],
    [`a${'n'.repeat(300)}`, '{}'],
  ];
  for (const [name, payload] of hostile) await sub.client.publishAsync(`${BASE}/cmd/${name}`, payload, { qos: 1 });

  // Every hostile message gets its signed rejection; then a valid command still runs.
  const rejected = () => sub.messages.filter((m) => m.topic === `${BASE}/evt/system`).map((m) => JSON.parse(m.payload)).filter((e) => e.body.type === 'system.command.rejected');
  await waitFor(() => rejected().length >= hostile.length, `${hostile.length} rejections (got ${rejected().length})`);
  const ping = signCommand(platform.privateKey, 'ping');
  await sub.client.publishAsync(`${BASE}/cmd/ping`, JSON.stringify(ping), { qos: 1 });
  await waitFor(() => sub.on(`${BASE}/cmd-result`).some((m) => JSON.parse(m.payload).id === ping.body.id && JSON.parse(m.payload).ok === true), 'valid ping after the hostile ones');
  assert.equal(d.child.exitCode, null, 'daemon still running');

  // Echoed fields are clipped and marked.
  const rej = rejected().map((e) => e.body.data as Record<string, unknown>);
  const long = rej.find((x) => typeof x.id === 'string' && x.id.startsWith('xxxx'));
  assert.ok(long, 'the 100,000-character id is echoed clipped');
  assert.equal((long.id as string).length, 128);
  assert.deepEqual(long.truncated, ['id']);
  const accented = rej.find((x) => typeof x.id === 'string' && x.id.startsWith('éé'));
  assert.equal((accented?.id as string).length, 128);
  const longName = rej.find((x) => typeof x.name === 'string' && x.name.startsWith('annn'));
  assert.equal((longName?.name as string).length, 128);
  assert.deepEqual(longName?.truncated, ['name']);
  assert.ok(rej.every((x) => x.reason === 'malformed' || x.reason === 'bad-signature'), JSON.stringify(rej.map((x) => x.reason)));
  const notIJson = rej.filter((x) => /not I-JSON|not JSON/.test(String(x.detail))).length;
  assert.ok(rej.some((x) => /lone surrogate/.test(String(x.detail)) && x.id === null), 'the lax-signed body was refused as not I-JSON');
  assert.equal(rej.filter((x) => x.id !== null && String(x.id).includes('\ud800')).length, 0);
  assert.equal(d.out().includes('RangeError'), false, 'no stack overflow anywhere');

  // Every event published: I-JSON (strict reader on the raw bytes), same bytes under both canonicalisers.
  const evts = raw.filter((m) => m.topic.startsWith(`${BASE}/evt/`));
  for (const m of evts) {
    const ev = parseStrictJson(m.payload) as { body: Record<string, unknown> };
    const ours = jcs(ev.body);
    assert.equal(independent(ev.body), ours, `seq ${String(ev.body.seq)}`);
  }
  const report = verifyEvents(evts.map((m) => m.payload.toString()), { pubkeys: [gatewayPubkey(join(dir, 'state'))] });
  assert.equal(report.defects, 0, JSON.stringify(report.findings));
  // The shipped vectors hold for the same two canonicalisers in this process.
  for (const v of validVectors()) assert.equal(independent(parseStrictJson(v.input)), jcs(parseStrictJson(v.input)));
  console.log(`hostile payloads: ${hostile.length}, rejections: ${rej.length} (${notIJson} not JSON / not I-JSON), events published: ${evts.length}, all canonical under both canonicalisers, verify defects: ${report.defects}`);
});

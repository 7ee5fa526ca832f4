// agent/forward/publish-encoder.ts against mqtt-packet, the encoder mqtt.js itself uses:
// the one-buffer PUBLISH must be byte-identical, and must parse back to the same packet.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import { encodePublish, encodeUserProperties, installPublishEncoder, NO_PROPERTIES, type PublishFields } from '../../agent/forward/publish-encoder.js';
import { prng } from '../helpers/prng.js';

function reference(p: PublishFields, protocolVersion: 4 | 5): Buffer {
  return mqttPacket.generate(p as unknown as mqttPacket.IPublishPacket, { protocolVersion });
}

function parse(bytes: Buffer, protocolVersion: 4 | 5): mqttPacket.IPublishPacket {
  const parser = mqttPacket.parser({ protocolVersion });
  const out: mqttPacket.Packet[] = [];
  parser.on('packet', (pk) => out.push(pk));
  parser.on('error', (err) => assert.fail(err));
  parser.parse(bytes);
  assert.equal(out.length, 1, 'exactly one packet');
  return out[0] as mqttPacket.IPublishPacket;
}

const alphabet = 'abcXYZ019/_-äöü€😀';
function randomString(rnd: () => number, max: number): string {
  let s = '';
  const n = Math.floor(rnd() * max);
  for (let i = 0; i < n; i++) s += [...alphabet][Math.floor(rnd() * [...alphabet].length)];
  return s;
}

test('user property section matches mqtt-packet for hist=0/1 and several pairs', () => {
  const cases: Array<Record<string, string>> = [{ hist: '1' }, { hist: '0' }, { a: 'b', 'ü-key': 'välue', empty: '' }];
  for (const props of cases) {
    const p: PublishFields = { cmd: 'publish', topic: 't/x', payload: 'p', qos: 1, messageId: 7, properties: { userProperties: props } };
    const ours = encodePublish(p, encodeUserProperties(props));
    assert.deepEqual(ours, reference(p, 5), JSON.stringify(props));
    assert.deepEqual({ ...parse(ours as Buffer, 5).properties?.userProperties }, props);
  }
});

test('random PUBLISH packets (v5 with and without properties, 3.1.1) are byte-identical to mqtt-packet', () => {
  const rnd = prng(0x5eed);
  // Payload sizes around every Remaining Length boundary of the variable byte integer.
  const sizes = [0, 1, 100, 113, 114, 115, 127, 128, 16_370, 16_383, 16_384, 70_000, 2_097_140, 2_097_152];
  let n = 0;
  for (let i = 0; i < 400; i++) {
    const qos = (i % 3) as 0 | 1 | 2;
    const size = i < sizes.length * 2 ? sizes[i % sizes.length] : Math.floor(rnd() * 3000);
    const payload = i % 2 === 0 ? 'x'.repeat(size) : Buffer.alloc(size, i & 0xff);
    const topic = `gatewarden/v1/${randomString(rnd, 40) || 's'}/evt`;
    const props = i % 4 === 0 ? undefined : { hist: i % 4 === 1 ? '1' : '0', [randomString(rnd, 8) || 'k']: randomString(rnd, 30) };
    const p: PublishFields = {
      cmd: 'publish',
      topic,
      payload,
      qos,
      retain: rnd() < 0.3,
      dup: qos > 0 && rnd() < 0.2,
      messageId: qos > 0 ? 1 + Math.floor(rnd() * 0xffff) : undefined,
      properties: props ? { userProperties: props } : undefined,
    };
    const v5 = encodePublish(p, props ? encodeUserProperties(props) : NO_PROPERTIES);
    assert.deepEqual(v5, reference(p, 5), `v5 packet ${i} (payload ${size} B, qos ${qos})`);
    const v4 = encodePublish({ ...p, properties: undefined }, null);
    assert.deepEqual(v4, reference({ ...p, properties: undefined }, 4), `3.1.1 packet ${i}`);
    const back = parse(v5 as Buffer, 5);
    assert.equal(back.topic, topic);
    assert.equal(back.qos, qos);
    assert.equal(Buffer.from(back.payload).length, size);
    n++;
  }
  assert.equal(n, 400);
});

test('packets the encoder does not own are refused (null), so mqtt.js encodes them', () => {
  const base: PublishFields = { cmd: 'publish', topic: 't', payload: 'p', qos: 1, messageId: 1 };
  assert.equal(encodePublish({ ...base, topic: '' }, NO_PROPERTIES), null, 'empty topic (topic alias)');
  assert.equal(encodePublish({ ...base, topic: Buffer.from('t') }, NO_PROPERTIES), null, 'binary topic');
  assert.equal(encodePublish({ ...base, messageId: undefined }, NO_PROPERTIES), null, 'QoS 1 without id');
  assert.equal(encodePublish({ ...base, payload: 42 }, NO_PROPERTIES), null, 'non-string payload');
  assert.equal(encodePublish({ ...base, qos: 3 }, NO_PROPERTIES), null, 'invalid QoS');
});

test('installPublishEncoder: known property objects take the one-write path, others reach mqtt.js', () => {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  const fallbacks: PublishFields[] = [];
  const sent: unknown[] = [];
  const fake = {
    stream,
    emit: (ev: string, pk: unknown) => (ev === 'packetsend' ? sent.push(pk) > 0 : false),
    _writePacket(packet: PublishFields) {
      fallbacks.push(packet);
    },
  };
  const hist = Object.freeze({ userProperties: Object.freeze({ hist: '1' }) });
  const known = new Map<object, Buffer>([[hist, encodeUserProperties({ hist: '1' })]]);
  assert.equal(installPublishEncoder(fake as unknown as MqttClient, true, known), true);
  const write = (fake as unknown as { _writePacket(p: PublishFields): void })._writePacket;
  const ev: PublishFields = { cmd: 'publish', topic: 'a/evt/access', payload: '{"body":{}}', qos: 1, messageId: 9, properties: hist };
  write.call(fake, ev);
  write.call(fake, { ...ev, properties: { userProperties: { hist: '1' } } }); // equal but not known
  write.call(fake, { cmd: 'subscribe', messageId: 2 } as PublishFields);
  assert.equal(chunks.length, 1, 'one stream write for the known-property PUBLISH');
  assert.deepEqual(chunks[0], reference(ev, 5));
  assert.equal(sent.length, 1, 'packetsend emitted as mqtt.js does');
  assert.deepEqual(fallbacks.map((p) => p.cmd), ['publish', 'subscribe']);
  assert.equal(installPublishEncoder({ stream } as unknown as MqttClient, true, known), false, 'no _writePacket: nothing installed');
});

test('the installed mqtt.js still has the _writePacket the encoder wraps (an upgrade that drops it fails here)', async () => {
  const { MqttClient } = await import('mqtt');
  const proto = MqttClient.prototype as unknown as { _writePacket?: unknown };
  assert.equal(typeof proto._writePacket, 'function');
});

// One-buffer PUBLISH encoding for the forwarder's hot path (MQTT 3.1.1 §3.3, MQTT 5.0 §3.3).
//
// mqtt-packet writes a PUBLISH as 7 separate stream writes, and the MQTT 5 user property
// `hist` (docs/contracts.md §Topics) adds 5 more: every one is a Writable.write with its own bookkeeping.
// Measured on a 100k backlog, the property alone cost raw mqtt.js 25–30 % of its QoS 1
// rate. Here the property section is encoded once per process and each PUBLISH leaves as
// one buffer. Byte-for-byte equality with mqtt-packet's own encoder is a unit test
// (test/unit/publish-encoder.test.ts); anything this file does not recognise (topic
// aliases, other properties, binary topics) falls through to mqtt.js unchanged.
import type { MqttClient } from 'mqtt';

/** MQTT 5 property identifier of a User Property (§3.3.2.3.7). */
const USER_PROPERTY = 0x26;
/** Largest Remaining Length a variable byte integer can carry (§1.5.5). */
const MAX_REMAINING = 268_435_455;

/** The fields of mqtt.js's internal publish packet that this encoder reads. */
export interface PublishFields {
  cmd: string;
  topic: unknown;
  payload: unknown;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  messageId?: number;
  properties?: unknown;
}

function varIntLength(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x20_0000 ? 3 : 4;
}

function writeVarInt(buf: Buffer, n: number, at: number): number {
  do {
    let byte = n % 0x80;
    n = Math.floor(n / 0x80);
    if (n > 0) byte |= 0x80;
    buf[at++] = byte;
  } while (n > 0);
  return at;
}

/**
 * The MQTT 5 property section (length prefix included) for a set of user properties, in
 * the order mqtt-packet writes them (own property names, insertion order).
 */
export function encodeUserProperties(props: Readonly<Record<string, string>>): Buffer {
  const parts: Buffer[] = [];
  for (const name of Object.getOwnPropertyNames(props)) {
    const k = Buffer.from(name, 'utf8');
    const v = Buffer.from(String(props[name]), 'utf8');
    if (k.length > 0xffff || v.length > 0xffff) throw new RangeError(`user property ${name}: longer than 65535 bytes`);
    const p = Buffer.allocUnsafe(5 + k.length + v.length);
    p[0] = USER_PROPERTY;
    p.writeUInt16BE(k.length, 1);
    k.copy(p, 3);
    p.writeUInt16BE(v.length, 3 + k.length);
    v.copy(p, 5 + k.length);
    parts.push(p);
  }
  const body = Buffer.concat(parts);
  const out = Buffer.allocUnsafe(varIntLength(body.length) + body.length);
  body.copy(out, writeVarInt(out, body.length, 0));
  return out;
}

/** The empty MQTT 5 property section: a zero length. */
export const NO_PROPERTIES: Buffer = Buffer.from([0]);

/**
 * Encode a PUBLISH as one buffer, or return null when the packet is not one this encoder
 * handles (the caller then uses mqtt-packet). `props` is the encoded MQTT 5 property
 * section (null for MQTT 3.1.1, which has none).
 */
export function encodePublish(p: PublishFields, props: Buffer | null): Buffer | null {
  if (typeof p.topic !== 'string' || p.topic.length === 0) return null;
  const payload = p.payload;
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return null;
  const qos = p.qos ?? 0;
  if (qos !== 0 && qos !== 1 && qos !== 2) return null;
  if (qos > 0 && (typeof p.messageId !== 'number' || p.messageId < 1 || p.messageId > 0xffff)) return null;
  const topicLen = Buffer.byteLength(p.topic, 'utf8');
  if (topicLen > 0xffff) return null;
  const payloadLen = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length;
  const remaining = 2 + topicLen + (qos > 0 ? 2 : 0) + (props ? props.length : 0) + payloadLen;
  if (remaining > MAX_REMAINING) return null;
  const buf = Buffer.allocUnsafe(1 + varIntLength(remaining) + remaining);
  buf[0] = 0x30 | (p.dup ? 0x08 : 0) | (qos << 1) | (p.retain ? 0x01 : 0);
  let at = writeVarInt(buf, remaining, 1);
  buf.writeUInt16BE(topicLen, at);
  at += 2;
  at += buf.write(p.topic, at, 'utf8');
  if (qos > 0) {
    buf.writeUInt16BE(p.messageId as number, at);
    at += 2;
  }
  if (props) at += props.copy(buf, at);
  if (typeof payload === 'string') buf.write(payload, at, 'utf8');
  else payload.copy(buf, at);
  return buf;
}

type WritePacket = (this: unknown, packet: PublishFields, cb?: () => void) => void;

interface ClientInternals {
  _writePacket?: WritePacket;
  noop?: unknown;
  stream: { write(chunk: Buffer): boolean; once(event: 'drain', cb: () => void): unknown };
  emit(event: string, ...args: unknown[]): boolean;
}

/**
 * Route this client's PUBLISH packets through encodePublish. In MQTT 5, only packets
 * without properties or whose `properties` object is a key of `known` (the forwarder's
 * frozen option objects, mapped to their encoded section) take the fast path; every other
 * packet goes to mqtt.js's own writer. Returns false, changing nothing, if this mqtt.js
 * build has no `_writePacket` to wrap (the forwarder then runs at mqtt-packet's speed).
 */
export function installPublishEncoder(client: MqttClient, v5: boolean, known: ReadonlyMap<object, Buffer>): boolean {
  const c = client as unknown as ClientInternals;
  const original = c._writePacket;
  if (typeof original !== 'function' || !c.stream) return false;
  c._writePacket = function writePacket(this: unknown, packet: PublishFields, cb?: () => void): void {
    let bytes: Buffer | null = null;
    if (packet.cmd === 'publish') {
      let props: Buffer | null = null;
      if (v5) props = packet.properties === undefined ? NO_PROPERTIES : (known.get(packet.properties as object) ?? null);
      if (!v5 || props) bytes = encodePublish(packet, props);
    }
    if (!bytes) return original.call(this, packet, cb);
    // What mqtt.js's _writePacket does around mqtt-packet: the event, the write, drain.
    c.emit('packetsend', packet);
    const flushed = c.stream.write(bytes);
    if (!flushed && cb && cb !== c.noop) c.stream.once('drain', cb);
    else if (cb) cb();
  };
  return true;
}

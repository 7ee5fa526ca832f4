// Test-side MQTT tools: a separate mqtt.js subscriber that records everything it gets,
// a condition poller, and a pino logger that keeps its records in memory.
import { Writable } from 'node:stream';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { pino, type Logger } from 'pino';
import { waitUntil } from './driver-context.js';

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
  userProperties: Record<string, string | string[]>;
}

export interface Probe {
  client: MqttClient;
  messages: Received[];
  on(topic: string): Received[];
  close(): Promise<void>;
}

/** Connect a v5 subscriber to `filter` (QoS 1) and resolve once SUBACK arrived. */
export async function probe(url: string, filter: string, extra: IClientOptions = {}): Promise<Probe> {
  const client = connect(url, { protocolVersion: 5, reconnectPeriod: 200, clean: true, connectTimeout: 10_000, ...extra });
  const messages: Received[] = [];
  client.on('error', () => {});
  client.on('message', (topic, payload, packet) => {
    messages.push({
      topic,
      payload: payload.toString(),
      retain: packet.retain,
      userProperties: (packet.properties?.userProperties ?? {}) as Record<string, string | string[]>,
    });
  });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`probe: no connection to ${url}`)), 15_000);
    client.once('connect', () => {
      client.subscribe(filter, { qos: 1 }, (err) => {
        clearTimeout(t);
        if (err) reject(err);
        else resolve();
      });
    });
  });
  return {
    client,
    messages,
    on: (topic) => messages.filter((m) => m.topic === topic),
    close: () => new Promise<void>((resolve) => client.end(true, {}, () => resolve())),
  };
}

/** Poll `cond` every 20 ms until true (the shared poller, 30 s by default: generous by design). */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  await waitUntil(cond, what, timeoutMs);
}

export interface CapturedLog {
  log: Logger;
  records: Array<Record<string, unknown> & { msg?: string; level: number }>;
  text(): string;
}

export function captureLog(level: pino.Level = 'debug'): CapturedLog {
  const records: CapturedLog['records'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) records.push(JSON.parse(line));
      cb();
    },
  });
  return { log: pino({ level }, sink), records, text: () => records.map((r) => JSON.stringify(r)).join('\n') };
}

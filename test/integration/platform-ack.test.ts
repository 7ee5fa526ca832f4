// End-to-end acknowledgement against the real daemon and a real mosquitto
// (docs/architecture.md "End-to-end acknowledgement"). The platform's subscription is a
// persistent session that is offline while the gateway publishes; the broker PUBACKs
// and queues; then mosquitto restarts WITHOUT persistence, losing the queue. With
// mqtt.platformAck on, the gateway still holds the rows (PUBACK alone is not delivery),
// re-sends them after resendAfterSeconds, and the platform — acking what it stored —
// ends with a complete, verified chain. With it off, the same scenario loses events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { hashJcs, jcs } from '../../agent/chain/jcs.js';
import { verifyEvents } from '../../agent/verify/verify.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.js';
import { probe, waitFor } from '../helpers/mqtt-probe.js';
import { tempDir } from '../helpers/chain.js';
import { gatewayPubkey, spawnDaemon, writeDaemonConfig } from '../helpers/daemon.js';
import { openSpoolReadOnly } from '../../agent/spool/sqlite-spool.js';

const BASE = 'gatewarden/v1/site-t/gw-t';
const EVENTS = 150;

interface Body {
  epoch: string;
  seq: number;
  type: string;
}

/** The platform: persistent session, stores events, acks the contiguous prefix of each epoch. */
function platform(url: string, ack: boolean) {
  const stored = new Map<string, { line: string; body: Body }>();
  let client: MqttClient | null = null;
  let timer: NodeJS.Timeout | null = null;
  const acked = new Map<string, number>();
  const sendAcks = (): void => {
    const byEpoch = new Map<string, Map<number, Body>>();
    for (const { body } of stored.values()) {
      const m = byEpoch.get(body.epoch) ?? new Map<number, Body>();
      m.set(body.seq, body);
      byEpoch.set(body.epoch, m);
    }
    for (const [epoch, m] of byEpoch) {
      let s = 0;
      while (m.has(s + 1)) s++;
      if (s > 0 && s !== acked.get(epoch)) {
        acked.set(epoch, s);
        client?.publish(`${BASE}/ack`, JSON.stringify({ epoch, seq: s, hash: hashJcs(jcs(m.get(s)!)) }), { qos: 1 });
      }
    }
  };
  const open = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const c = connect(url, { protocolVersion: 5, clientId: 'platform-1', clean: false, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 200 });
      client = c;
      c.on('error', () => {});
      c.on('message', (_topic, payload) => {
        const line = payload.toString();
        const body = (JSON.parse(line) as { body: Body }).body;
        stored.set(`${body.epoch}:${body.seq}`, { line, body });
      });
      const t = setTimeout(() => reject(new Error('platform: no connection')), 15_000);
      c.once('connect', () => c.subscribe(`${BASE}/evt/#`, { qos: 1 }, () => {
        clearTimeout(t);
        resolve();
      }));
      if (ack) {
        timer = setInterval(sendAcks, 100);
      }
    });
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      if (timer) clearInterval(timer);
      timer = null;
      const c = client;
      client = null;
      if (!c) return resolve();
      c.end(true, {}, () => resolve());
    });
  return { stored, open, close };
}

async function scenario(t: { after(fn: () => unknown): void }, platformAck: boolean) {
  const broker: MosquittoBroker = await startMosquitto({ persistence: false });
  t.after(() => broker.stop());
  const dir = tempDir();
  const config = writeDaemonConfig(dir, {
    mqtt: { url: broker.url, reconnect: { minMs: 100, maxMs: 500 }, healthIntervalSeconds: 1, platformAck: { enabled: platformAck, resendAfterSeconds: 1 } },
    drivers: { synthetic: [{ id: 'tick', intervalMs: 5, count: EVENTS }] },
  });
  const p = platform(broker.url, true);
  await p.open(); // the persistent subscription exists…
  await p.close(); // …and is offline while the gateway publishes: the broker queues for it.

  const watcher = await probe(broker.url, `${BASE}/evt/#`);
  const d = spawnDaemon(config);
  t.after(async () => {
    d.child.kill('SIGTERM');
    await d.exited;
  });
  await d.waitLog(/connected to MQTT broker/);
  const key = gatewayPubkey(join(dir, 'state'));
  // The broker has taken (PUBACKed) every reading: the watcher got them.
  await waitFor(() => watcher.messages.filter((m) => m.payload.includes('"sensor.reading"')).length >= EVENTS, 'every reading through the broker');
  await watcher.close();
  // The broker loses its queue (no persistence), after PUBACK, before any platform ack.
  await broker.restart();
  await p.open();
  t.after(() => p.close());
  const healthSub = await probe(broker.url, `${BASE}/health`);
  t.after(() => healthSub.close());
  type Forward = { platformAck?: { epoch: string; seq: number; at: string } | null };
  const forwards = (): Forward[] => healthSub.messages.map((m) => (JSON.parse(m.payload) as { forward: Forward }).forward);
  if (platformAck) {
    await waitFor(() => [...p.stored.values()].filter((e) => e.body.type === 'sensor.reading').length >= EVENTS, 'platform has every reading again', 30_000);
    // Health shows the last platform-acked head once the platform has acked past the readings.
    await waitFor(() => forwards().some((f) => (f.platformAck?.seq ?? 0) >= EVENTS), 'health forward.platformAck past the readings', 15_000);
  } else {
    await new Promise((r) => setTimeout(r, 2500)); // as long as the resend would have taken
    await waitFor(() => forwards().length > 0, 'a health message');
  }
  d.child.kill('SIGTERM');
  assert.equal(await d.exited, 0);
  await new Promise((r) => setTimeout(r, 500));
  await p.close();
  const ro = openSpoolReadOnly(join(dir, 'state', 'spool.db'));
  const stats = ro.stats();
  ro.close();
  const report = verifyEvents([...p.stored.values()].map((e) => e.line), { pubkeys: [key], fromStart: true });
  const received = p.stored.size;
  return { report, received, head: stats.head!, unsent: stats.unsent, log: d.out(), forwards: forwards() };
}

test('end-to-end ack on: a broker that loses its queue after PUBACK loses nothing; the platform ends complete and verified', { timeout: 90_000 }, async (t) => {
  const r = await scenario(t, true);
  assert.equal(r.report.ok, true, JSON.stringify(r.report.chains.flatMap((c) => c.findings).slice(0, 5)));
  assert.equal(r.received, r.head.seq, `the platform holds seqs 1…${r.head.seq}`);
  assert.match(r.log, /platform has not acked events the broker accepted; sending them again/);
  const acked = r.forwards.map((f) => f.platformAck).filter((a) => a && a.seq >= EVENTS).at(-1)!;
  assert.equal(acked.epoch, r.head.epoch, 'health names the acked epoch');
  assert.ok(acked.seq <= r.head.seq);
  assert.ok(Number.isFinite(Date.parse(acked.at)) && acked.at.endsWith('Z'), `at is an ISO time: ${acked.at}`);
  assert.deepEqual(Object.keys(acked).sort(), ['at', 'epoch', 'seq']);
  console.log(`# platformAck on: ${r.received} of ${r.head.seq} events at the platform, chain verified from seq 1; spool unsent after stop: ${r.unsent}`);
});

test('end-to-end ack off: the same broker restart loses the events it had PUBACKed', { timeout: 90_000 }, async (t) => {
  const r = await scenario(t, false);
  const lost = r.head.seq - r.received;
  console.log(`# platformAck off: ${lost} of ${r.head.seq} events lost (platform received ${r.received}); verifier ok=${r.report.ok}`);
  assert.ok(lost >= EVENTS, `the queued readings are gone (lost ${lost})`);
  assert.equal(r.report.ok, false);
  assert.equal(r.unsent, 0, 'the gateway counted them delivered at PUBACK');
  assert.ok(r.forwards.every((f) => !('platformAck' in f)), 'health has no platformAck when it is off');
});

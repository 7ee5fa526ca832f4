// Broker stopped mid-stream and restarted on the same port (docs/contracts.md §Topics): everything
// arrives, first deliveries stay in seq order, rows resent after the reconnect carry
// hist=1, device state is re-published, and the spool ends fully marked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startMosquitto } from '../helpers/mosquitto.js';
import { MemorySpool } from '../helpers/memory-spool.js';
import { probe, waitFor } from '../helpers/mqtt-probe.js';
import { BASE, makeForwarder } from '../helpers/forwarder-fixture.js';
import { sealMany, testChain } from '../helpers/chain.js';

test('broker restart mid-stream: no loss, ordered first deliveries, backlog hist=1', async (t) => {
  // persistence keeps the probe's session across the restart, so nothing the forwarder
  // publishes before the probe reconnects is lost on the test side.
  const broker = await startMosquitto({ persistence: true });
  t.after(() => broker.stop());
  const chain = testChain();
  const spool = new MemorySpool();
  const p = await probe(broker.url, `${BASE}/#`, {
    clean: false,
    clientId: 'probe-reconnect',
    properties: { sessionExpiryInterval: 3600 },
  });
  t.after(() => p.close());

  const N1 = 6000;
  const N2 = 500;
  spool.append(sealMany(chain, N1));
  const { fwd, logs } = makeForwarder({ spool, mqtt: { url: broker.url, inflightWindow: 50 } });
  t.after(() => fwd.stop(1000));
  fwd.publishDevice('cam-1', { state: 'online' });
  fwd.start();
  await waitFor(() => fwd.status().acked >= 500, '500 acks before the broker stops');

  await broker.halt('SIGTERM');
  await waitFor(() => !fwd.status().connected, 'forwarder notices the broker is gone');
  const unsentAtHalt = spool.unsentRowids().length;
  // Events committed while the broker is down.
  const down = [];
  for (let i = 0; i < N2; i++) down.push(chain.seal({ driver: 'test', device: 'door-1', type: 'access.door.forced', severity: 'alarm', data: { i } }));
  spool.append(down);
  fwd.notify();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(fwd.status().connected, false);

  await broker.restart();
  await waitFor(() => spool.unsentRowids().length === 0, 'all rows marked sent after restart', 60_000);
  const total = N1 + N2;
  await waitFor(() => new Set(p.messages.filter((m) => m.topic.includes('/evt/')).map((m) => JSON.parse(m.payload).body.seq)).size === total, `all ${total} seqs at the probe`, 60_000);

  const evts = p.messages.filter((m) => m.topic.includes('/evt/'));
  const seen = new Set<number>();
  const firsts: number[] = [];
  for (const m of evts) {
    const seq = JSON.parse(m.payload).body.seq as number;
    if (!seen.has(seq)) {
      seen.add(seq);
      firsts.push(seq);
    }
    if (seq > N1) assert.equal(m.userProperties.hist, '1', `seq ${seq} spooled while offline is historical`);
  }
  assert.deepEqual(firsts, Array.from({ length: total }, (_, i) => i + 1), 'first deliveries in seq order');

  const st = fwd.status();
  assert.ok(st.reconnects >= 1, 'reconnected');
  assert.equal(st.backlog, 0);
  assert.equal(st.replaying, false);
  assert.ok(st.acked >= total);
  assert.ok(p.on(`${BASE}/dev/cam-1`).length >= 2, 'device state re-published after reconnect');
  const births = p.on(`${BASE}/state`).map((m) => JSON.parse(m.payload)).filter((s) => s.online === true);
  assert.ok(births.length >= 2 && births.at(-1).bdSeq > births[0].bdSeq, 'new birth with a higher bdSeq');
  assert.ok(logs.records.some((r) => r.msg === 'connection to MQTT broker lost'));
  t.diagnostic(`unsent when the broker stopped: ${unsentAtHalt}; deliveries ${evts.length} for ${total} events`);
});

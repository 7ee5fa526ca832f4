// Float32 values that are valid doubles but far outside ±2^53 (1e20, FLT_MAX — a common
// "not available" sentinel, or what a wrong word order decodes to) and NaN/±Infinity, from
// a real pymodbus slave through the real daemon to a real mosquitto: the readings (or
// explicit invalid readings, value null + invalid) and the threshold alarms arrive as
// signed events, every alarm/clear pair is whole, and the stream verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseStrictJson } from '../../agent/chain/strict-json.js';
import { verifyEvents } from '../../agent/verify/verify.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { probe, waitFor } from '../helpers/mqtt-probe.js';
import { tempDir } from '../helpers/chain.js';
import { gatewayPubkey, spawnDaemon, writeDaemonConfig } from '../helpers/daemon.js';
import { startPeer } from './modbus-harness.js';

const BASE = 'gatewarden/v1/site-t/gw-t';
// float32 register images, A = most significant byte (Python struct.pack('>f', v)).
const F32 = { e20: [0x60ad, 0x78ec], fltMax: [0x7f7f, 0xffff], nan: [0x7fc0, 0x0000], inf: [0x7f80, 0x0000], ninf: [0xff80, 0x0000], v20: [0x41a0, 0x0000], v150: [0x4316, 0x0000] };

interface Ev { body: { seq: number; type: string; severity: string; src: { device: string }; data: Record<string, unknown> } }

test('modbus float32 1e20, FLT_MAX, NaN, ±Inf from pymodbus: readings, invalid readings and threshold alarms arrive signed', { timeout: 120_000 }, async (t) => {
  const broker = await startMosquitto();
  t.after(() => broker.stop());
  const peer = await startPeer({ transport: 'tcp', host: '127.0.0.1', port: 0, units: { '1': { hr: { '0': F32.e20, '2': F32.fltMax, '4': F32.nan, '6': F32.inf, '8': F32.ninf } } } });
  t.after(() => peer.kill());
  const alarm = { high: 100, hysteresis: 1 };
  const dir = tempDir();
  const config = writeDaemonConfig(dir, {
    mqtt: { url: broker.url, reconnect: { minMs: 100, maxMs: 1000 } },
    drivers: {
      modbus: [{
        id: 'bus-f', transport: { type: 'tcp', host: '127.0.0.1', port: Number(peer.where) }, timeoutMs: 1000,
        units: [{ id: 'env-1', unitId: 1, pollIntervalMs: 100, points: [
          { name: 'big', table: 'holding', address: 0, type: 'float32', alarm: { high: 1e10, hysteresis: 1 } },
          { name: 'max', table: 'holding', address: 2, type: 'float32', alarm },
          { name: 'nan', table: 'holding', address: 4, type: 'float32', alarm },
          { name: 'inf', table: 'holding', address: 6, type: 'float32' },
          { name: 'ninf', table: 'holding', address: 8, type: 'float32' },
        ] }],
      }],
    },
  });
  const d = spawnDaemon(config);
  t.after(async () => {
    d.child.kill('SIGTERM');
    await d.exited;
  });
  const sub = await probe(broker.url, `${BASE}/evt/#`);
  t.after(() => sub.close());
  const evs = (): Ev[] => sub.messages.map((m) => JSON.parse(m.payload) as Ev);
  const of = (type: string, point: string): Ev[] => evs().filter((e) => e.body.type === type && e.body.data.point === point);
  const value = (point: string): unknown[] => of('sensor.reading', point).map((e) => e.body.data.value);

  await waitFor(() => ['big', 'max', 'nan', 'inf', 'ninf'].every((p) => of('sensor.reading', p).length > 0), 'a reading (valid or invalid) of every point', 60_000);
  await waitFor(() => of('sensor.threshold.alarm', 'big').length > 0 && of('sensor.threshold.alarm', 'max').length > 0, 'threshold alarms for 1e20 and FLT_MAX');
  assert.deepEqual(value('big')[0], 1e20);
  assert.deepEqual(value('max')[0], 3.4028235e38, 'FLT_MAX as the shortest decimal of the float32');
  assert.equal(of('sensor.threshold.alarm', 'max')[0].body.data.value, 3.4028235e38);
  for (const [p, kind] of [['nan', 'nan'], ['inf', '+inf'], ['ninf', '-inf']] as const) {
    const r = of('sensor.reading', p)[0].body;
    assert.deepEqual([r.data.value, r.data.invalid, r.data.reason, r.severity], [null, kind, 'invalid', 'warning'], p);
  }
  assert.equal(of('sensor.threshold.alarm', 'nan').length, 0, 'NaN feeds no alarm');

  // Values move: FLT_MAX → 20 clears its alarm; NaN → 150 raises one; back to NaN is reported again.
  await peer.set(1, 'hr', 2, F32.v20);
  await peer.set(1, 'hr', 4, F32.v150);
  await waitFor(() => of('sensor.threshold.clear', 'max').length > 0 && of('sensor.threshold.alarm', 'nan').length > 0, 'clear of max, alarm of the former NaN point');
  await peer.set(1, 'hr', 4, F32.nan);
  await waitFor(() => of('sensor.reading', 'nan').filter((e) => e.body.data.invalid === 'nan').length === 2, 'NaN reported again after a valid value');
  assert.deepEqual(value('nan').slice(0, 3), [null, 150, null]);

  // Every alarm/clear sequence per point starts with an alarm and alternates.
  for (const p of ['big', 'max', 'nan']) {
    const seq = evs().filter((e) => e.body.data.point === p && /^sensor\.threshold\./.test(e.body.type)).map((e) => e.body.type.split('.')[2]);
    seq.forEach((a, i) => assert.equal(a, i % 2 === 0 ? 'alarm' : 'clear', `${p}: ${seq.join(',')}`));
  }
  // All of it is I-JSON and verifies; nothing was refused by the pipeline.
  for (const m of sub.messages) parseStrictJson(m.payload);
  const report = verifyEvents(sub.messages.map((m) => m.payload), { pubkeys: [gatewayPubkey(join(dir, 'state'))] });
  assert.equal(report.defects, 0, JSON.stringify(report.findings));
  assert.doesNotMatch(d.out(), /observation rejected by the pipeline/);
  const sensor = evs().filter((e) => e.body.type.startsWith('sensor.'));
  console.log(`sensor events: ${sensor.length} (readings ${sensor.filter((e) => e.body.type === 'sensor.reading').length}, invalid ${sensor.filter((e) => e.body.data.invalid).length}, alarms ${sensor.filter((e) => e.body.type.endsWith('.alarm')).length}, clears ${sensor.filter((e) => e.body.type.endsWith('.clear')).length}); verify defects ${report.defects}`);
});

// End to end: test camera → ONVIF driver → chain (Ed25519 over JCS) → spool → forwarder →
// real mosquitto. Every event kind arrives on evt/video as a signed body with the camera id
// as src.device and a UTC wall time; signatures verify with the gateway public key.
import assert from 'node:assert/strict';
import { verify } from 'node:crypto';
import { after, before, test } from 'node:test';
import { jcs } from '../../agent/chain/jcs.js';
import type { SignedEvent } from '../../agent/events/types.js';
import { onvifConfigSchema } from '../../drivers/onvif/config.js';
import { OnvifDriver } from '../../drivers/onvif/driver.js';
import { testChain, testKeys } from '../helpers/chain.js';
import { collectingContext, waitUntil } from '../helpers/driver-context.js';
import { BASE, makeForwarder } from '../helpers/forwarder-fixture.js';
import { MemorySpool } from '../helpers/memory-spool.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.js';
import { probe } from '../helpers/mqtt-probe.js';
import { startOnvifCamera, type EventKind } from '../peers/onvif-camera.js';

let broker: MosquittoBroker;
before(async () => {
  broker = await startMosquitto();
});
after(async () => {
  await broker?.stop();
});

test('each event kind arrives on MQTT as a signed video.* event', { timeout: 60_000 }, async (t) => {
  const cam = await startOnvifCamera({ clockOffsetMs: 2 * 3600_000 });
  t.after(() => cam.close());
  const keys = testKeys();
  const chain = testChain({ keys });
  const spool = new MemorySpool();
  spool.append([chain.newEpoch('fresh', null)]);
  const p = await probe(broker.url, `${BASE}/evt/video`);
  t.after(() => p.close());
  const { fwd } = makeForwarder({ spool, mqtt: { url: broker.url } });
  t.after(() => fwd.stop(1000));
  fwd.start();

  const c = collectingContext();
  const emit = c.ctx.emit;
  c.ctx.emit = (o) => {
    emit(o);
    spool.append([chain.seal({ ...o, driver: 'onvif' })]);
    fwd.notify();
  };
  const driver = new OnvifDriver(
    onvifConfigSchema.parse({ id: 'cams', cameras: [{ id: 'cam-gate', host: '127.0.0.1', port: cam.port, username: 'admin', password: 'secret' }], pullTimeoutSeconds: 2 }),
    c.ctx,
  );
  t.after(async () => {
    await driver.stop();
    c.abort.abort();
  });
  await driver.start();
  await waitUntil(() => driver.sessions[0].subscribed, 'subscribed');
  const kinds: EventKind[] = ['motion', 'tamper', 'signal', 'input', 'unknown'];
  const t0 = Date.now();
  for (const k of kinds) cam.emit(k, true);
  const want = ['video.camera.clock_skew', 'video.camera.online', 'video.motion.start', 'video.tamper.detected', 'video.signal.lost', 'video.input.active', 'video.event.other'];
  const got = (): SignedEvent[] => p.messages.map((m) => JSON.parse(m.payload) as SignedEvent);
  await waitUntil(() => want.every((w) => got().some((e) => e.body.type === w)), 'all kinds on MQTT', 30_000);
  for (const e of got()) {
    assert.ok(verify(null, Buffer.from(jcs(e.body)), keys.publicKey, Buffer.from(e.sig, 'base64url')), `signature of ${e.body.type}`);
    assert.equal(e.body.src.driver, 'onvif');
    assert.equal(e.body.src.device, 'cam-gate');
    assert.match(e.body.ts.wall, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    if (e.body.type !== 'video.camera.online' && e.body.type !== 'video.camera.clock_skew') {
      // The camera runs 2 h ahead; the event time is its UtcTime corrected into gateway UTC.
      assert.ok(Math.abs(Date.parse(e.body.ts.wall) - t0) < 5000, `${e.body.type} wall ${e.body.ts.wall}`);
    }
  }
});

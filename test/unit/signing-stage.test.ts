// The signing worker stage: signatures made in the thread verify, events leave in exactly
// the order they entered (mixed with already-signed ones), and when the worker dies the
// stage signs inline without losing or reordering anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { pino } from 'pino';
import { Chain, type SealedEvent } from '../../agent/chain/chain.js';
import { SigningStage, WORKER_START_RATE } from '../../agent/signing-stage.js';
import { systemClock } from '../../agent/clock.js';
import { testKeys } from '../helpers/chain.js';

const log = pino({ level: 'silent' });
/** The signed bytes are the JCS body exactly as embedded in the payload. */
const canonicalOf = (e: SealedEvent): string => e.payload.slice('{"body":'.length, e.payload.lastIndexOf(',"sig":'));

function setup() {
  const keys = testKeys();
  const deferred = new Chain({ site: 's', gw: 'g', keys, head: null, clock: systemClock, bootId: 'b', deferSignatures: true });
  const out: SealedEvent[] = [];
  const stage = new SigningStage({ privateKey: keys.privateKey, next: { enqueue: (e) => void out.push(e) }, log });
  return { keys, deferred, out, stage };
}

test('signs in the worker, in order, interleaved with pre-signed events', async () => {
  const { keys, deferred, out, stage } = setup();
  const inline = new Chain({ site: 's', gw: 'g', keys, head: null, clock: systemClock, bootId: 'b' });
  stage.enqueue(deferred.newEpoch('fresh', null));
  for (let i = 0; i < 1500; i++) {
    stage.enqueue(deferred.seal({ driver: 'd', device: 'x', type: 'sensor.reading', severity: 'info', data: { i } }));
    if (i === 700) stage.enqueue(inline.newEpoch('fresh', null)); // already signed: must wait its turn
  }
  await stage.flush();
  assert.equal(out.length, 1502);
  const pub = createPublicKey(keys.privateKey);
  const seqs = out.filter((e) => e.body.epoch === out[0].body.epoch).map((e) => e.body.seq);
  assert.deepEqual(seqs, Array.from({ length: 1501 }, (_, i) => i + 1));
  assert.equal(out[702].body.epoch !== out[0].body.epoch, true, 'the pre-signed event kept its place');
  for (const e of out) {
    assert.equal(e.unsigned, undefined);
    assert.ok(verify(null, Buffer.from(canonicalOf(e)), pub, Buffer.from(e.sig, 'base64url')), `signature of seq ${e.body.seq}`);
  }
  // The worker starts once the rate calls for it (WORKER_START_RATE inline first).
  assert.ok(stage.counters.signedInWorker >= 1500 - WORKER_START_RATE, JSON.stringify(stage.counters));
  assert.equal(stage.counters.signedInWorker + stage.counters.signedInline, 1501);
  await stage.close();
});

test('a quiet site never starts the worker; startWorkerAt 0 starts it at once', async () => {
  const { deferred, out, stage } = setup();
  stage.enqueue(deferred.newEpoch('fresh', null));
  for (let i = 0; i < 50; i++) stage.enqueue(deferred.seal({ driver: 'd', device: 'x', type: 'sensor.reading', severity: 'info', data: { i } }));
  await stage.flush();
  assert.equal(out.length, 51);
  assert.equal(stage.workerRunning, false);
  assert.equal(stage.counters.signedInline, 51);
  await stage.close();
  const keys = testKeys();
  const eager = new SigningStage({ privateKey: keys.privateKey, next: { enqueue: () => undefined }, log, startWorkerAt: 0 });
  assert.equal(eager.workerRunning, true);
  await eager.close();
});

test('a dead worker: the rest is signed inline, nothing lost or reordered', async () => {
  const { keys, deferred, out, stage } = setup();
  stage.enqueue(deferred.newEpoch('fresh', null));
  for (let i = 0; i < 600; i++) stage.enqueue(deferred.seal({ driver: 'd', device: 'x', type: 'sensor.reading', severity: 'info', data: { i } }));
  await (stage as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
  for (let i = 600; i < 800; i++) stage.enqueue(deferred.seal({ driver: 'd', device: 'x', type: 'sensor.reading', severity: 'info', data: { i } }));
  await stage.flush();
  assert.deepEqual(out.map((e) => e.body.seq), Array.from({ length: 801 }, (_, i) => i + 1));
  const pub = createPublicKey(keys.privateKey);
  for (const e of out) assert.ok(verify(null, Buffer.from(canonicalOf(e)), pub, Buffer.from(e.sig, 'base64url')), `signature of seq ${e.body.seq}`);
  assert.ok(stage.counters.signedInline > 0);
  await stage.close();
});

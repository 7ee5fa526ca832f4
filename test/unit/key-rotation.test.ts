// Key rotation in the chain, the signing stage and the verifier (docs/architecture.md
// "Key rotation"), and the signed head (tail proof): a stream that rotates mid-way
// verifies given only the first key; a key_rotated whose signature fails does not make
// the verifier trust its key; a signed head attests the tail only with a valid signature.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Chain, type SealedEvent } from '../../agent/chain/chain.js';
import { SigningStage } from '../../agent/signing-stage.js';
import { systemClock } from '../../agent/clock.js';
import { verifyEvents } from '../../agent/verify/verify.js';
import { signedHeadPayload } from '../../agent/forward/signed-head.js';
import { checkSignedHead } from '../../agent/verify/head.js';
import { keyring } from '../../agent/verify/verify.js';
import { tempDir, testKeys } from '../helpers/chain.js';
import { completeRotation, keyFilePath, loadOrCreateKeys, loadPendingRotation, prepareRotation, retiredKeyPath } from '../../agent/chain/keys.js';
import { existsSync, statSync } from 'node:fs';

const log = pino({ level: 'silent' });

function reading(chain: Chain, i: number): SealedEvent {
  return chain.seal({ driver: 'd', device: 'x', type: 'sensor.reading', severity: 'info', data: { i } });
}

/** 1 epoch announcement + 20 readings, a rotation, 20 more readings; signed through the worker stage. */
async function rotatedStream(): Promise<{ lines: string[]; oldPub: string; newPub: string; events: SealedEvent[]; newKeys: ReturnType<typeof testKeys> }> {
  const oldKeys = testKeys();
  const newKeys = testKeys();
  const chain = new Chain({ site: 's', gw: 'g', keys: oldKeys, head: null, clock: systemClock, bootId: 'b', deferSignatures: true });
  const out: SealedEvent[] = [];
  const stage = new SigningStage({ privateKey: oldKeys.privateKey, next: { enqueue: (e) => void out.push(e) }, log });
  stage.enqueue(chain.newEpoch('fresh', null));
  for (let i = 0; i < 20; i++) stage.enqueue(reading(chain, i));
  stage.addKey(newKeys.privateKey);
  for (const e of chain.rotate(newKeys, 'test')) stage.enqueue(e);
  for (let i = 0; i < 20; i++) stage.enqueue(reading(chain, 100 + i));
  await stage.close();
  return { lines: out.map((e) => e.payload), oldPub: oldKeys.pubkey, newPub: newKeys.pubkey, events: out, newKeys };
}

test('a rotated stream verifies from the start given only the first key; the new key is learned', async () => {
  const { lines, oldPub, newPub, events } = await rotatedStream();
  const rotated = events[21];
  assert.equal(rotated.body.type, 'system.chain.key_rotated');
  assert.equal(rotated.body.data.newPubkey, newPub);
  const ann = events[22];
  assert.equal(ann.body.type, 'system.chain.epoch');
  assert.equal(ann.body.seq, 1);
  assert.equal(ann.body.data.reason, 'key-rotated');
  assert.deepEqual(ann.body.data.previous, { epoch: rotated.body.epoch, seq: rotated.body.seq, hash: rotated.hash });
  assert.notEqual(ann.body.kid, rotated.body.kid);

  const r = verifyEvents(lines, { pubkeys: [oldPub], fromStart: true, strict: true });
  assert.equal(r.ok, true, JSON.stringify(r.chains.map((c) => c.findings)));
  assert.equal(r.events, 43);
  assert.equal(r.chains.length, 2);
  assert.deepEqual(r.learnedKeys.map((k) => k.pubkey), [newPub]);

  // Out of order (the new epoch first, as two topics may deliver it): still verified.
  const shuffled = [...lines.slice(22), ...lines.slice(0, 22)];
  const r2 = verifyEvents(shuffled, { pubkeys: [oldPub], fromStart: true });
  assert.equal(r2.ok, true, JSON.stringify(r2.chains.map((c) => c.findings)));
});

test('a forged key_rotated (bad signature) is refused and its key is not trusted', async () => {
  const { lines, oldPub, events } = await rotatedStream();
  const attacker = testKeys();
  // The attacker rewrites the key_rotated to name their key and starts "their" epoch.
  const rot = events[21];
  const body = { ...rot.body, data: { ...rot.body.data, newKid: attacker.kid, newPubkey: attacker.pubkey } };
  const forged = JSON.stringify({ body, sig: rot.sig }); // the old signature no longer matches
  const fake = new Chain({ site: 's', gw: 'g', keys: attacker, head: null, clock: systemClock, bootId: 'b' });
  const fakeEpoch = [fake.newEpoch('key-rotated', { epoch: rot.body.epoch, seq: rot.body.seq, hash: rot.hash }), reading(fake, 1)].map((e) => e.payload);
  const r = verifyEvents([...lines.slice(0, 21), forged, ...fakeEpoch], { pubkeys: [oldPub] });
  assert.equal(r.ok, false);
  const all = [...r.findings, ...r.chains.flatMap((c) => c.findings)];
  assert.ok(all.some((f) => f.kind === 'bad-signature' && f.seq === rot.body.seq && f.reason === 'bad-sig'), 'forged rotation refused');
  assert.ok(all.some((f) => f.kind === 'bad-signature' && f.reason === 'unknown-kid'), "the attacker's epoch is not trusted");
  assert.deepEqual(r.learnedKeys, []);
  // A key_rotated validly signed by a key the verifier does not hold teaches nothing either.
  const r2 = verifyEvents(lines.slice(21), { pubkeys: [attacker.pubkey] });
  assert.deepEqual(r2.learnedKeys, []);
  assert.equal(r2.ok, false);
});

test('signed head: verifies, attests the tail; a tampered one is a defect', async () => {
  const { lines, oldPub, events, newKeys } = await rotatedStream();
  const last = events[events.length - 1];
  // The daemon signs the head with its current key: here the rotated-in one.
  const payload = signedHeadPayload({ site: 's', gw: 'g', head: { epoch: last.body.epoch, seq: last.body.seq, hash: last.hash }, kid: newKeys.kid, privateKey: newKeys.privateKey, now: Date.now() })!;
  const ok = checkSignedHead(payload, keyring([newKeys.pubkey]));
  assert.equal(ok.ok, true);
  assert.equal(ok.ok && ok.head.seq, last.body.seq);
  assert.equal(checkSignedHead(payload, keyring([oldPub])).ok, false, 'not signed by the old key');

  // Given only the old key, the verifier learns the new one from the stream and trusts the head.
  const clean = verifyEvents(lines, { pubkeys: [oldPub], fromStart: true, expectHeadMessage: payload });
  assert.equal(clean.ok, true, JSON.stringify(clean.findings));
  // A stream cut 5 events short is truncated against it.
  const cut = verifyEvents(lines.slice(0, -5), { pubkeys: [oldPub], fromStart: true, expectHeadMessage: payload });
  assert.equal(cut.ok, false);
  assert.ok(cut.chains.some((c) => c.findings.some((f) => f.kind === 'truncated' && f.to === last.body.seq)));
  // Tampered: seq raised after signing → refused, a defect.
  const bad = JSON.parse(payload) as { body: { seq: number } };
  bad.body.seq += 1;
  const tampered = verifyEvents(lines, { pubkeys: [oldPub], expectHeadMessage: JSON.stringify(bad) });
  assert.equal(tampered.ok, false);
  assert.ok(tampered.findings.some((f) => f.reason === 'head-message'));
  // Signed by a stranger's key: refused too.
  const stranger = testKeys();
  const foreign = signedHeadPayload({ site: 's', gw: 'g', head: { epoch: last.body.epoch, seq: last.body.seq + 9, hash: last.hash }, kid: stranger.kid, privateKey: stranger.privateKey, now: Date.now() })!;
  assert.equal(verifyEvents(lines, { pubkeys: [oldPub], expectHeadMessage: foreign }).ok, false);
});

test('key files: prepared next key is 0600, completion keeps the old public key and replaces the current file', () => {
  const dir = tempDir();
  const old = loadOrCreateKeys(dir);
  assert.equal(loadPendingRotation(dir), null);
  const next = prepareRotation(dir);
  assert.equal(prepareRotation(dir).kid, next.kid, 'idempotent while pending');
  assert.equal(statSync(loadPendingRotation(dir)!.file).mode & 0o777, 0o600);
  const done = completeRotation(dir, old, next);
  assert.equal(done.kid, next.kid);
  assert.equal(loadOrCreateKeys(dir).kid, next.kid);
  assert.equal(statSync(keyFilePath(dir)).mode & 0o777, 0o600);
  assert.ok(existsSync(retiredKeyPath(dir, old.kid)));
  assert.equal(loadPendingRotation(dir), null);
});

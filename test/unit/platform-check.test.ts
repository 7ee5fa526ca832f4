// The consumer's check of the retained signed head (agent/platform/check.ts checkHead): the
// verifier library's checkSignedHead decides shape and signature; the consumer adds only
// that the body names the gateway whose topic carried it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHead } from '../../agent/platform/check.js';
import { signedHeadPayload } from '../../agent/forward/signed-head.js';
import { keyring } from '../../agent/verify/verify.js';
import { testKeys } from '../helpers/chain.js';

test('consumer head check: library verdict plus the topic’s gateway', () => {
  const k = testKeys();
  const other = testKeys();
  const head = { epoch: 'e1', seq: 42, hash: 'h'.repeat(43) };
  const payload = signedHeadPayload({ site: 's', gw: 'g', head, kid: k.kid, privateKey: k.privateKey, now: Date.parse('2024-01-01T00:00:00Z') })!;
  const keysOf = (site: string, gw: string): ReturnType<typeof keyring> => (site === 's' && gw === 'g' ? keyring([k.pubkey]) : new Map());

  const ok = checkHead(payload, 's', 'g', keysOf);
  assert.deepEqual(ok, { ok: true, head: { site: 's', gw: 'g', epoch: 'e1', seq: 42, hash: head.hash, ts: '2024-01-01T00:00:00.000Z' } });

  // Another gateway's key: the library's refusal, named.
  const wrongKey = checkHead(payload, 's', 'g', () => keyring([other.pubkey]));
  assert.equal(wrongKey.ok, false);
  assert.match(!wrongKey.ok ? wrongKey.detail : '', /s\/g: head message signed by kid \S+, which is none of the trusted keys/);

  // A validly signed head replayed onto another gateway's topic, whose keys it also verifies with.
  const moved = checkHead(payload, 's', 'g2', () => keyring([k.pubkey]));
  assert.equal(moved.ok, false);
  assert.match(!moved.ok ? moved.detail : '', /body names s\/g but arrived on s\/g2/);

  // Tampered body: the signature no longer verifies.
  const tampered = payload.replace('"seq":42', '"seq":43');
  const bad = checkHead(tampered, 's', 'g', keysOf);
  assert.equal(bad.ok, false);
  assert.match(!bad.ok ? bad.detail : '', /signature does not verify/);

  // Not a head at all.
  assert.equal(checkHead('{"body":{"type":"evt"},"sig":"x"}', 's', 'g', keysOf).ok, false);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verify, createPublicKey } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { jcs, hashJcs } from '../../agent/chain/jcs.js';
import { loadOrCreateKeys, parsePublicKey, KeyFileError, keyFilePath } from '../../agent/chain/keys.js';
import { tempDir, testChain, sealMany } from '../helpers/chain.js';

test('seal: seq +1, prev = hash of previous JCS body, signature verifies', () => {
  const chain = testChain();
  const evs = sealMany(chain, 5);
  assert.equal(evs[0].body.type, 'system.chain.epoch');
  assert.equal(evs[0].body.seq, 1);
  assert.equal(evs[0].body.prev, '');
  for (let i = 1; i < evs.length; i++) {
    assert.equal(evs[i].body.seq, i + 1);
    assert.equal(evs[i].body.prev, hashJcs(jcs(evs[i - 1].body)));
    assert.equal(evs[i].body.epoch, evs[0].body.epoch);
  }
  const pub = createPublicKey(chain['o'].keys.privateKey);
  for (const e of evs) {
    assert.ok(verify(null, Buffer.from(jcs(e.body)), pub, Buffer.from(e.sig, 'base64url')));
    const parsed = JSON.parse(e.payload);
    assert.deepEqual(parsed.body, e.body);
    assert.equal(parsed.sig, e.sig);
  }
});

test('JCS: RFC 8785 key order and number form', () => {
  assert.equal(jcs({ b: 1, a: [1e21, 0.1, -0], 'é': 'x' }), '{"a":[1e+21,0.1,0],"b":1,"é":"x"}');
});

test('keys: created 0600 on first run, reused after, refused when group/world readable', () => {
  const dir = tempDir();
  const k1 = loadOrCreateKeys(dir);
  assert.equal(k1.created, true);
  assert.equal(k1.kid.length, 16);
  const k2 = loadOrCreateKeys(dir);
  assert.equal(k2.created, false);
  assert.equal(k2.kid, k1.kid);
  assert.equal(parsePublicKey(k1.pubkey).export({ format: 'pem', type: 'spki' }), k1.publicKey.export({ format: 'pem', type: 'spki' }));
  chmodSync(keyFilePath(dir), 0o644);
  assert.throws(() => loadOrCreateKeys(dir), (e: Error) => e instanceof KeyFileError && /mode 0644/.test(e.message) && /chmod 600/.test(e.message));
});

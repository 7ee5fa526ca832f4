// agent/secret-key-file.ts on real files: created once (0600, 32 bytes, the same key on the
// next load), refused when group/others can read it or when it holds another length, the
// error naming the key and the file.
import assert from 'node:assert/strict';
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadOrCreateSecretKey } from '../../agent/secret-key-file.js';
import { tempDir } from '../helpers/chain.js';

test('secret key file: created 0600 once, then read back; loose mode and wrong length refused by name', () => {
  const file = join(tempDir(), 'sub', 'x.key');
  const k = loadOrCreateSecretKey(file, 'test key');
  assert.equal(k.length, 32);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(loadOrCreateSecretKey(file, 'test key'), k);
  chmodSync(file, 0o640);
  assert.throws(() => loadOrCreateSecretKey(file, 'test key'), new RegExp(`^Error: test key ${file} is readable by group/others \\(mode 0640\\); fix with: chmod 600 ${file}$`));
  writeFileSync(file, Buffer.alloc(16).toString('base64'), { mode: 0o600 });
  chmodSync(file, 0o600);
  assert.throws(() => loadOrCreateSecretKey(file, 'test key'), /^Error: test key .*x\.key: expected 32 base64 bytes, got 16$/);
});

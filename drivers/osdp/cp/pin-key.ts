// The gateway's secret for keypad PIN digests (pinPolicy `hash`). A PIN has 10^4–10^6
// values, so any unkeyed hash of it — salted with a public reader name or not — is
// reversed by trying them all. Keyed with 32 random bytes that never leave the gateway,
// HMAC-SHA256 still lets the platform see that two entries used the same PIN (on any
// reader of this gateway) without being able to recover it from the event stream.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../../../agent/state-file.js';

const KEY_BYTES = 32;

/** Read the key at `path`, creating it (mode 0600, atomic) on first use. */
export function loadOrCreatePinKey(path: string): Buffer {
  if (!existsSync(path)) writeFileAtomic(path, randomBytes(KEY_BYTES).toString('base64') + '\n');
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new Error(`keypad PIN key ${path} is readable by group/others (mode ${mode.toString(8).padStart(4, '0')}); fix with: chmod 600 ${path}`);
  }
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== KEY_BYTES) throw new Error(`keypad PIN key ${path}: expected ${KEY_BYTES} base64 bytes, got ${key.length}`);
  return key;
}

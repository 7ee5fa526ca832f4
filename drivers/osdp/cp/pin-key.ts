// The gateway's secret for keypad PIN digests (pinPolicy `hash`). A PIN has 10^4–10^6
// values, so any unkeyed hash of it — salted with a public reader name or not — is
// reversed by trying them all. Keyed with 32 random bytes that never leave the gateway,
// HMAC-SHA256 still lets the platform see that two entries used the same PIN (on any
// reader of this gateway) without being able to recover it from the event stream.
import { loadOrCreateSecretKey } from '../../../agent/secret-key-file.js';

/** Read the key at `path`, creating it (mode 0600, atomic) on first use. */
export function loadOrCreatePinKey(path: string): Buffer {
  return loadOrCreateSecretKey(path, 'keypad PIN key');
}

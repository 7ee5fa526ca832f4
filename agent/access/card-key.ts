// The per-gateway key that card numbers are stored under (HMAC-SHA256). What it protects
// and what it does not: docs/access.md, "Card numbers at rest". Same rules as the keypad
// PIN key (drivers/osdp/cp/pin-key.ts): 32 random bytes, mode 0600, refused when
// group/others can read it, created atomically on first use.
import { createHmac } from 'node:crypto';
import { loadOrCreateSecretKey } from '../secret-key-file.js';

export function loadOrCreateCardKey(path: string): Buffer {
  return loadOrCreateSecretKey(path, 'access card key');
}

/** The stored form of one card identity (./identity.ts): HMAC-SHA256 under the gateway key, base64url. */
export function cardHash(key: Buffer, identity: string): string {
  return createHmac('sha256', key).update(identity).digest('base64url');
}

// The per-gateway key that card numbers are stored under (HMAC-SHA256). What it protects
// and what it does not: docs/access.md, "Card numbers at rest". Same rules as the keypad
// PIN key (drivers/osdp/cp/pin-key.ts): 32 random bytes, mode 0600, refused when
// group/others can read it, created atomically on first use.
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../state-file.js';

const KEY_BYTES = 32;

export function loadOrCreateCardKey(path: string): Buffer {
  if (!existsSync(path)) writeFileAtomic(path, randomBytes(KEY_BYTES).toString('base64') + '\n');
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new Error(`access card key ${path} is readable by group/others (mode ${mode.toString(8).padStart(4, '0')}); fix with: chmod 600 ${path}`);
  }
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== KEY_BYTES) throw new Error(`access card key ${path}: expected ${KEY_BYTES} base64 bytes, got ${key.length}`);
  return key;
}

/** The stored form of one card identity (./identity.ts): HMAC-SHA256 under the gateway key, base64url. */
export function cardHash(key: Buffer, identity: string): string {
  return createHmac('sha256', key).update(identity).digest('base64url');
}

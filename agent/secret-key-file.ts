// A per-gateway secret key kept in a file of the state dir (the keypad PIN key, the access
// card key): 32 random bytes as base64, created atomically with mode 0600 on first use,
// refused when group or others can read it (docs/access.md "Storage and card numbers at rest").
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from './state-file.js';

export const SECRET_KEY_BYTES = 32;

/** The key at `path`, created on first use; `what` names it in errors ("keypad PIN key"). */
export function loadOrCreateSecretKey(path: string, what: string): Buffer {
  if (!existsSync(path)) writeFileAtomic(path, randomBytes(SECRET_KEY_BYTES).toString('base64') + '\n');
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new Error(`${what} ${path} is readable by group/others (mode ${mode.toString(8).padStart(4, '0')}); fix with: chmod 600 ${path}`);
  }
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== SECRET_KEY_BYTES) throw new Error(`${what} ${path}: expected ${SECRET_KEY_BYTES} base64 bytes, got ${key.length}`);
  return key;
}

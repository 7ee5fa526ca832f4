// The platform side of a command, for tools and tests: build and sign `{body, sig}`.
import { randomUUID, sign, type KeyObject } from 'node:crypto';
import { jcs } from '../chain/jcs.js';
import type { JsonObject } from '../events/types.js';
import type { CommandBody } from './verify.js';

export function signCommand(
  privateKey: KeyObject,
  cmd: string,
  args: JsonObject = {},
  o: { target?: string; ttlMs?: number; now?: number; id?: string } = {},
): { body: CommandBody; sig: string } {
  const now = o.now ?? Date.now();
  const body: CommandBody = {
    cmd,
    args,
    ...(o.target ? { target: o.target } : {}),
    id: o.id ?? randomUUID(),
    iat: new Date(now).toISOString(),
    exp: new Date(now + (o.ttlMs ?? 60_000)).toISOString(),
  };
  return { body, sig: sign(null, Buffer.from(jcs(body)), privateKey).toString('base64url') };
}

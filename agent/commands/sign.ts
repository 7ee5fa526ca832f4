// The platform side of a command, for tools and tests: build and sign `{body, sig}`.
// `site`/`gw` bind the command to one gateway (docs/contracts.md §Commands): a gateway
// refuses a body naming another one (`wrong-target-gateway`), so a command captured on one
// gateway's topic cannot be replayed to another that trusts the same platform key.
import { randomUUID, sign, type KeyObject } from 'node:crypto';
import { jcs } from '../chain/jcs.js';
import type { JsonObject } from '../events/types.js';
import type { CommandBody } from './verify.js';

export interface SignCommandOptions {
  /** The gateway the command is for (config `site` / `gateway`); the CLI always sets both. */
  site?: string;
  gw?: string;
  /** Device or driver instance id for device commands. */
  target?: string;
  ttlMs?: number;
  now?: number;
  id?: string;
}

export function signCommand(privateKey: KeyObject, cmd: string, args: JsonObject = {}, o: SignCommandOptions = {}): { body: CommandBody; sig: string } {
  const now = o.now ?? Date.now();
  const body: CommandBody = {
    cmd,
    args,
    ...(o.site !== undefined ? { site: o.site } : {}),
    ...(o.gw !== undefined ? { gw: o.gw } : {}),
    ...(o.target ? { target: o.target } : {}),
    id: o.id ?? randomUUID(),
    iat: new Date(now).toISOString(),
    exp: new Date(now + (o.ttlMs ?? 60_000)).toISOString(),
  };
  return { body, sig: sign(null, Buffer.from(jcs(body)), privateKey).toString('base64url') };
}

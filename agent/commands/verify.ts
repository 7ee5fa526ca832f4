// Downlink command checks (docs/contracts.md §Commands). A command is `{body: {cmd, args, target?, id, iat,
// exp}, sig}` signed by the platform's Ed25519 key over JCS(body). It is refused when the
// signature fails, it has expired (or is issued in the future beyond the allowed skew),
// its id was seen before (replay), or its name disagrees with the topic it came on.
import { verify, type KeyObject } from 'node:crypto';
import { jcs } from '../chain/jcs.js';
import type { JsonObject } from '../events/types.js';

export interface CommandBody {
  cmd: string;
  args: JsonObject;
  target?: string;
  id: string;
  iat: string;
  exp: string;
}

export type CommandCheck =
  | { ok: true; body: CommandBody }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired' | 'not-yet-valid' | 'replayed' | 'name-mismatch'; detail: string; id?: string };

export interface SeenIds {
  has(id: string): boolean;
}

const UUIDISH = /^[A-Za-z0-9-]{8,64}$/;

export function checkCommand(
  payload: Buffer | string,
  o: { publicKey: KeyObject; topicName: string; now: number; maxSkewMs: number; seen: SeenIds },
): CommandCheck {
  let env: { body?: unknown; sig?: unknown };
  try {
    env = JSON.parse(payload.toString());
  } catch (e) {
    return { ok: false, reason: 'malformed', detail: `payload is not JSON (${(e as Error).message})` };
  }
  const b = env?.body as Partial<CommandBody> | undefined;
  if (!b || typeof b !== 'object' || typeof env.sig !== 'string') return { ok: false, reason: 'malformed', detail: 'expected {body, sig}' };
  const id = typeof b.id === 'string' ? b.id : undefined;
  if (typeof b.cmd !== 'string' || !id || !UUIDISH.test(id) || typeof b.iat !== 'string' || typeof b.exp !== 'string') {
    return { ok: false, reason: 'malformed', detail: 'body needs cmd, id, iat, exp (strings)', id };
  }
  if (b.args !== undefined && (typeof b.args !== 'object' || b.args === null || Array.isArray(b.args))) {
    return { ok: false, reason: 'malformed', detail: 'body.args must be an object', id };
  }
  if (b.target !== undefined && typeof b.target !== 'string') return { ok: false, reason: 'malformed', detail: 'body.target must be a string', id };
  let good = false;
  try {
    good = verify(null, Buffer.from(jcs(b)), o.publicKey, Buffer.from(env.sig, 'base64url'));
  } catch {
    good = false;
  }
  if (!good) return { ok: false, reason: 'bad-signature', detail: 'signature does not verify with commands.publicKey', id };
  if (b.cmd !== o.topicName) return { ok: false, reason: 'name-mismatch', detail: `signed cmd "${b.cmd}" arrived on cmd/${o.topicName}`, id };
  const iat = Date.parse(b.iat);
  const exp = Date.parse(b.exp);
  if (!Number.isFinite(iat) || !Number.isFinite(exp)) return { ok: false, reason: 'malformed', detail: 'iat/exp must be RFC 3339 times', id };
  if (exp + o.maxSkewMs < o.now) return { ok: false, reason: 'expired', detail: `expired at ${b.exp}`, id };
  if (iat - o.maxSkewMs > o.now) return { ok: false, reason: 'not-yet-valid', detail: `issued in the future (${b.iat})`, id };
  if (o.seen.has(id)) return { ok: false, reason: 'replayed', detail: `command id ${id} was already received`, id };
  return { ok: true, body: { cmd: b.cmd, args: (b.args ?? {}) as JsonObject, target: b.target, id, iat: b.iat, exp: b.exp } };
}

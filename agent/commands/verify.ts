// Downlink command checks (docs/contracts.md §Commands). A command is `{body: {cmd, args, site?, gw?,
// target?, id, iat, exp}, sig}` signed by the platform's Ed25519 key over JCS(body). It is
// refused when the signature fails, its name disagrees with the topic it came on, it names
// another gateway (site/gw), it has expired (or is issued in the future beyond the allowed
// skew), or its id was seen before (replay).
//
// A body without site/gw is accepted unless `commands.requireGatewayBinding` is on: platforms
// that signed before the binding existed keep working; such a command is only as bound as
// the broker ACL on the cmd topic makes it (docs/mosquitto-acl.md), so turn the option on
// once the platform signs with site/gw (`gatewarden command` always does).
//
// The payload is unverified input from anyone who can publish to `cmd/`: it is read as
// I-JSON (agent/chain/strict-json.ts: well-formed UTF-8 and Unicode, no duplicate keys,
// nesting capped) and bounded in size before anything of it can reach a signed
// `system.command.rejected`; what that record echoes is clipped (echoField).
import { verify, type KeyObject } from 'node:crypto';
import { jcs } from '../chain/jcs.js';
import { parseStrictJson, StrictJsonError } from '../chain/strict-json.js';
import { MAX_DATA_DEPTH, type JsonObject } from '../events/types.js';

/** Largest command payload read at all (bytes). */
export const MAX_COMMAND_BYTES = 256 * 1024;
/** Envelope nesting: {body: {args: …}} keeps args within the event data depth cap when echoed as `data.args`. */
export const MAX_COMMAND_DEPTH = MAX_DATA_DEPTH + 1;
/** Longest unverified string echoed into a signed record or a reply. */
export const MAX_ECHO_CHARS = 128;

/** An unverified string as it may be echoed: at most MAX_ECHO_CHARS, never splitting a surrogate pair. */
export function echoField(s: string | undefined): { value: string | null; truncated: boolean } {
  if (s === undefined) return { value: null, truncated: false };
  if (s.length <= MAX_ECHO_CHARS) return { value: s, truncated: false };
  const c = s.charCodeAt(MAX_ECHO_CHARS - 1);
  return { value: s.slice(0, c >= 0xd800 && c <= 0xdbff ? MAX_ECHO_CHARS - 1 : MAX_ECHO_CHARS), truncated: true };
}

export interface CommandBody {
  cmd: string;
  args: JsonObject;
  /** The gateway the command is bound to (config `site` / `gateway`). */
  site?: string;
  gw?: string;
  target?: string;
  id: string;
  iat: string;
  exp: string;
}

export type CommandCheck =
  | { ok: true; body: CommandBody }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired' | 'not-yet-valid' | 'replayed' | 'name-mismatch' | 'wrong-target-gateway'; detail: string; id?: string };

export interface SeenIds {
  has(id: string): boolean;
}

const UUIDISH = /^[A-Za-z0-9-]{8,64}$/;

export function checkCommand(
  payload: Buffer | string,
  o: {
    publicKey: KeyObject;
    topicName: string;
    now: number;
    maxSkewMs: number;
    seen: SeenIds;
    /** This gateway; absent → site/gw are not checked. `require`: refuse a body that names none. */
    gateway?: { site: string; gw: string; require: boolean };
  },
): CommandCheck {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  if (size > MAX_COMMAND_BYTES) return { ok: false, reason: 'malformed', detail: `payload of ${size} bytes exceeds ${MAX_COMMAND_BYTES}` };
  let env: { body?: unknown; sig?: unknown };
  try {
    env = parseStrictJson(payload, { maxDepth: MAX_COMMAND_DEPTH }) as typeof env;
  } catch (e) {
    const why = e instanceof StrictJsonError && e.reason !== 'syntax' ? 'not I-JSON' : 'not JSON';
    return { ok: false, reason: 'malformed', detail: `payload is ${why} (${(e as Error).message})` };
  }
  const b = env?.body as Partial<CommandBody> | undefined;
  if (!env || typeof env !== 'object' || !b || typeof b !== 'object' || typeof env.sig !== 'string') return { ok: false, reason: 'malformed', detail: 'expected {body, sig}' };
  const id = typeof b.id === 'string' ? b.id : undefined;
  if (typeof b.cmd !== 'string' || !id || !UUIDISH.test(id) || typeof b.iat !== 'string' || typeof b.exp !== 'string') {
    return { ok: false, reason: 'malformed', detail: 'body needs cmd, id, iat, exp (strings)', id };
  }
  if (b.args !== undefined && (typeof b.args !== 'object' || b.args === null || Array.isArray(b.args))) {
    return { ok: false, reason: 'malformed', detail: 'body.args must be an object', id };
  }
  if (b.target !== undefined && typeof b.target !== 'string') return { ok: false, reason: 'malformed', detail: 'body.target must be a string', id };
  for (const k of ['site', 'gw'] as const) {
    if (b[k] !== undefined && typeof b[k] !== 'string') return { ok: false, reason: 'malformed', detail: `body.${k} must be a string`, id };
  }
  let good = false;
  try {
    good = verify(null, Buffer.from(jcs(b)), o.publicKey, Buffer.from(env.sig, 'base64url'));
  } catch {
    good = false;
  }
  if (!good) return { ok: false, reason: 'bad-signature', detail: 'signature does not verify with commands.publicKey', id };
  if (b.cmd !== o.topicName) return { ok: false, reason: 'name-mismatch', detail: `signed cmd "${b.cmd}" arrived on cmd/${o.topicName}`, id };
  if (o.gateway) {
    const g = o.gateway;
    if (b.site === undefined && b.gw === undefined) {
      if (g.require) return { ok: false, reason: 'wrong-target-gateway', detail: `body names no site/gw and commands.requireGatewayBinding is on (this gateway is ${g.site}/${g.gw})`, id };
    } else if (b.site !== g.site || b.gw !== g.gw) {
      const named = `${echoField(b.site).value ?? '(none)'}/${echoField(b.gw).value ?? '(none)'}`;
      return { ok: false, reason: 'wrong-target-gateway', detail: `signed for gateway ${named}, this is ${g.site}/${g.gw}`, id };
    }
  }
  const iat = Date.parse(b.iat);
  const exp = Date.parse(b.exp);
  if (!Number.isFinite(iat) || !Number.isFinite(exp)) return { ok: false, reason: 'malformed', detail: 'iat/exp must be RFC 3339 times', id };
  if (exp + o.maxSkewMs < o.now) return { ok: false, reason: 'expired', detail: `expired at ${b.exp}`, id };
  if (iat - o.maxSkewMs > o.now) return { ok: false, reason: 'not-yet-valid', detail: `issued in the future (${b.iat})`, id };
  if (o.seen.has(id)) return { ok: false, reason: 'replayed', detail: `command id ${id} was already received`, id };
  return { ok: true, body: { cmd: b.cmd, args: (b.args ?? {}) as JsonObject, site: b.site, gw: b.gw, target: b.target, id, iat: b.iat, exp: b.exp } };
}

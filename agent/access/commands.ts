// The signed downlink commands of access control (docs/access.md "Commands"), registered
// as gateway built-ins (agent/commands/index.ts): the signature, expiry, binding and
// replay checks are the command path's; these add the list's own checks. A refused list
// (malformed entry, old version, wrong base version) leaves a signed
// `access.credentials.refused` with the reason; an applied one `access.credentials.applied`.
// The command's evidence (`system.command.accepted`) carries `evidenceArgs`, never the
// card numbers or PINs.
import type { JsonObject, Observation } from '../events/types.js';
import type { CommandResult } from '../../drivers/types.js';
import type { SealedEvent } from '../chain/chain.js';
import { CredentialListError, parseArgs, patchSchema, putSchema, toRows } from './credentials.js';
import type { AccessEngine } from './engine.js';
import type { CredentialStore } from './store.js';

export const ACCESS_COMMANDS = ['access.credentials.put', 'access.credentials.patch', 'access.lockdown', 'access.release'] as const;

export interface AccessCommandDeps {
  store: CredentialStore;
  engine: AccessEngine;
  cardKey: Buffer;
  pinKey: Buffer | null;
  ingest(obs: Observation): SealedEvent | null;
  now(): number;
}

type Builtin = (args: JsonObject) => Promise<CommandResult>;

export function accessBuiltins(d: AccessCommandDeps): Record<string, Builtin> {
  const refused = (cmd: string, e: unknown): CommandResult => {
    if (!(e instanceof CredentialListError)) throw e;
    const held = d.store.info.version;
    d.ingest({ type: 'access.credentials.refused', severity: 'warning', device: 'access', data: { command: cmd, reason: e.reason, detail: e.message, heldVersion: held } });
    return { ok: false, detail: `${e.reason}: ${e.message}`, data: { reason: e.reason, heldVersion: held } };
  };
  const applied = (cmd: string, extra: JsonObject): CommandResult => {
    const info = d.store.info;
    d.ingest({ type: 'access.credentials.applied', severity: 'notice', device: 'access', data: { command: cmd, version: info.version, count: info.count, ...extra } });
    return { ok: true, detail: `credential list version ${info.version} (${info.count} credentials)`, data: { version: info.version, count: info.count, ...extra } };
  };
  return {
    'access.credentials.put': async (args) => {
      const cmd = 'access.credentials.put';
      try {
        const a = parseArgs(putSchema, cmd, args);
        const rows = toRows(a.credentials, d.cardKey, d.pinKey, 'credentials');
        const state = d.store.put(a.version, a.part, a.parts, { schedules: a.schedules ?? {}, groups: a.groups ?? {} }, rows);
        if (state === 'staged') {
          return { ok: true, detail: `part ${a.part}/${a.parts} of version ${a.version} staged`, data: { state, version: a.version, part: a.part, parts: a.parts, heldVersion: d.store.info.version } };
        }
        return applied(cmd, { state, parts: a.parts });
      } catch (e) {
        return refused(cmd, e);
      }
    },
    'access.credentials.patch': async (args) => {
      const cmd = 'access.credentials.patch';
      try {
        const a = parseArgs(patchSchema, cmd, args);
        const rows = toRows(a.upsert, d.cardKey, d.pinKey, 'upsert');
        d.store.patch(a.baseVersion, a.version, { schedules: a.schedules, groups: a.groups }, rows, a.remove);
        return applied(cmd, { state: 'applied', upserted: rows.length, removed: a.remove.length });
      } catch (e) {
        return refused(cmd, e);
      }
    },
    'access.lockdown': async (args) => {
      const reason = typeof args.reason === 'string' ? args.reason.slice(0, 200) : 'platform lockdown';
      d.engine.setLockdown({ since: new Date(d.now()).toISOString(), reason, by: 'platform' });
      return { ok: true, detail: `lockdown engaged: ${reason}` };
    },
    'access.release': async () => {
      d.engine.setLockdown(null);
      return { ok: true, detail: 'lockdown released' };
    },
  };
}

/** What `system.command.accepted` records of an access command: the shape, not the cards. */
export function accessEvidenceArgs(cmd: string, args: JsonObject): JsonObject | undefined {
  if (cmd !== 'access.credentials.put' && cmd !== 'access.credentials.patch') return undefined;
  const n = (k: string): number | null => (Array.isArray(args[k]) ? (args[k] as unknown[]).length : null);
  const keep: JsonObject = {};
  for (const k of ['version', 'baseVersion', 'part', 'parts']) if (typeof args[k] === 'number') keep[k] = args[k];
  return { ...keep, credentials: n('credentials'), upsert: n('upsert'), remove: n('remove'), redacted: 'card numbers and PINs are not recorded' };
}

// The credential list as the platform sends it (`access.credentials.put` / `…patch`,
// docs/access.md "Commands"), checked entry by entry: a malformed entry refuses the whole
// command and the reason names it (`credentials[12].card.number: …`). Card identities are
// hashed here, before anything is stored; PINs are kept only as the keypad HMAC the
// gateway's readers report (drivers/osdp/cp/card.ts, pinPolicy hash).
import { createHmac } from 'node:crypto';
import { z, ZodError } from 'zod';
import type { JsonObject } from '../events/types.js';
import { cardHash } from './card-key.js';
import { credentialIdentity } from './identity.js';
import { scheduleSchema, type Schedule } from './schedule.js';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected 1–64 characters of A–Z a–z 0–9 . _ -');
const rfc3339 = z.string().refine((s) => Number.isFinite(Date.parse(s)) && /T/.test(s), 'expected an RFC 3339 time');

const cardSchema = z.union([
  z.strictObject({ bits: z.string().regex(/^[01]{1,1024}$/, 'expected a string of 0/1') }),
  z.strictObject({
    format: z.string().min(1).max(32).optional(),
    facility: z.number().int().min(0).max(2 ** 32).nullable().optional(),
    number: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  }),
]);

export const credentialSchema = z
  .strictObject({
    id: name,
    card: cardSchema,
    groups: z.array(name).min(1).max(64),
    validFrom: rfc3339.optional(),
    validTo: rfc3339.optional(),
    /** Keypad PIN digits required after the card (stored as the keypad HMAC only). */
    pin: z.string().regex(/^\d{4,12}$/, 'expected 4–12 digits').optional(),
  })
  .refine((c) => !(c.validFrom && c.validTo && Date.parse(c.validFrom) >= Date.parse(c.validTo)), { message: 'validFrom must be before validTo', path: ['validTo'] });

export const groupSchema = z.strictObject({
  /** Door ids or door groups (config access.doors[].groups). */
  doors: z.array(name).min(1).max(1024),
  /** A schedule name; absent = always. */
  schedule: name.optional(),
});

export const policySchema = z.strictObject({
  schedules: z.record(name, scheduleSchema).default({}),
  groups: z.record(name, groupSchema).default({}),
});
export type Policy = z.output<typeof policySchema>;

export const putSchema = z
  .strictObject({
    version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    /** A list too big for one command (256 KiB) comes in parts 1…parts; applied when the last arrives. */
    part: z.number().int().min(1).max(10_000).default(1),
    parts: z.number().int().min(1).max(10_000).default(1),
    schedules: z.record(name, scheduleSchema).optional(),
    groups: z.record(name, groupSchema).optional(),
    credentials: z.array(credentialSchema).max(20_000),
  })
  .refine((p) => p.part <= p.parts, { message: 'part must be ≤ parts', path: ['part'] });

export const patchSchema = z.strictObject({
  /** The version this delta applies to: must be the one the gateway holds. */
  baseVersion: z.number().int().min(0),
  version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  schedules: z.record(name, scheduleSchema).optional(),
  groups: z.record(name, groupSchema).optional(),
  upsert: z.array(credentialSchema).max(20_000).default([]),
  /** Credential ids to remove. */
  remove: z.array(name).max(20_000).default([]),
});

export type PutArgs = z.output<typeof putSchema>;
export type PatchArgs = z.output<typeof patchSchema>;
export type Credential = z.output<typeof credentialSchema>;

/** One stored row: the card only as its keyed hash. */
export interface CredentialRow {
  hash: string;
  id: string;
  groups: string[];
  validFrom: number | null;
  validTo: number | null;
  /** HMACs (space-separated: digits, digits + '#') of the PIN under the keypad PIN key (what access.keypad carries), or null. */
  pin: string | null;
}

/** Thrown for a malformed list; `reason` is what the refusal event and the command result say. */
export class CredentialListError extends Error {
  override readonly name = 'CredentialListError';
  constructor(
    readonly reason: 'malformed' | 'old-version' | 'version-mismatch' | 'pin-key-missing',
    message: string,
  ) {
    super(message);
  }
}

export function parseArgs<T>(schema: z.ZodType<T>, cmd: string, args: JsonObject): T {
  try {
    return schema.parse(args);
  } catch (e) {
    if (e instanceof ZodError) throw new CredentialListError('malformed', `${cmd}: ${e.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(args)'}: ${i.message}`).join('; ')}`);
    throw e;
  }
}

export function toRows(creds: Credential[], cardKey: Buffer, pinKey: Buffer | null, where: string): CredentialRow[] {
  const seen = new Map<string, string>();
  return creds.map((c, i) => {
    const hash = cardHash(cardKey, credentialIdentity(c.card));
    const dup = seen.get(hash);
    if (dup !== undefined) throw new CredentialListError('malformed', `${where}[${i}]: card of "${c.id}" is the same card as "${dup}"`);
    seen.set(hash, c.id);
    if (c.pin && !pinKey) throw new CredentialListError('pin-key-missing', `${where}[${i}].pin: no keypad PIN key on this gateway`);
    return {
      hash,
      id: c.id,
      groups: c.groups,
      validFrom: c.validFrom ? Date.parse(c.validFrom) : null,
      validTo: c.validTo ? Date.parse(c.validTo) : null,
      // Readers that buffer the entry send the digits with or without the closing '#'.
      pin: c.pin && pinKey ? [c.pin, `${c.pin}#`].map((t) => createHmac('sha256', pinKey).update(t).digest('base64url')).join(' ') : null,
    };
  });
}

/** Every group's schedule exists; every credential's groups exist. */
export function checkPolicy(policy: Policy, rows: Iterable<Pick<CredentialRow, 'id' | 'groups'>>): void {
  for (const [g, def] of Object.entries(policy.groups)) {
    if (def.schedule && !policy.schedules[def.schedule]) throw new CredentialListError('malformed', `groups.${g}.schedule: no schedule "${def.schedule}"`);
  }
  for (const r of rows) {
    for (const g of r.groups) if (!policy.groups[g]) throw new CredentialListError('malformed', `credential "${r.id}": no group "${g}"`);
  }
}

export type { Schedule };

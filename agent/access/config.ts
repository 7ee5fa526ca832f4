// Config of local access decisions (`access:` in config.yaml; docs/access.md,
// docs/configuration.md). Doors map readers (device ids of OSDP readers or Wiegand
// converter instances) to a strike output and to door groups named by the credential
// list. Every zero-trust rule is configurable per door, with a gateway-wide default.
import { z } from 'zod';

const did = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a device id (A–Z a–z 0–9 . _ -)');
const typeGlob = z.string().regex(/^[a-z*]+(\.[a-z0-9_*]+){0,4}$/, 'expected an event type or glob such as incident.intrusion.*');

/** What a rule does to a read it applies to: refuse it, open with an alarm, or not apply. */
export const ruleAction = z.enum(['deny', 'alarm', 'allow']);
export type RuleAction = z.infer<typeof ruleAction>;

export const doorRulesSchema = z.strictObject({
  /** A read from a reader not in OSDP Secure Channel (plain OSDP, any Wiegand line): replayable. */
  nonSecureRead: ruleAction.optional(),
  /** The reader reported tamper within `tamperMinutes`. */
  tamperRecent: ruleAction.optional(),
  tamperMinutes: z.number().min(0).max(7 * 24 * 60).optional(),
  /** While a network incident is open: deny all but the emergency group, alarm on every grant, or ignore. */
  networkIncident: z.enum(['deny-except-emergency', 'alarm', 'ignore']).optional(),
});

export const strikeSchema = z.union([
  z.strictObject({
    /** OSDP: the reader (device id) whose osdp_OUT drives the strike relay. */
    osdpReader: did,
    /** Output number; default: the reader's door.strikeOutput. */
    output: z.number().int().min(0).max(255).optional(),
  }),
  z.strictObject({
    /** A Modbus device (or instance) id that takes the `output.pulse` command. */
    modbus: did,
    /** Coil point name (args.point of `output.pulse`). */
    point: z.string().min(1).max(64),
  }),
]);

export const accessDoorSchema = z.strictObject({
  id: did,
  name: z.string().max(128).optional(),
  /** Readers at this door: OSDP reader ids and/or Wiegand instance ids. */
  readers: z.array(did).min(1),
  /** Door groups this door belongs to; credential-list access groups name doors or door groups. */
  groups: z.array(did).default([]),
  strike: strikeSchema.optional(),
  /** How long a grant releases the strike. */
  pulseMs: z.number().int().min(100).max(60_000).default(3000),
  /** OSDP reader for LED/buzzer feedback; default: the reader that read (when it is OSDP). */
  feedbackReader: did.optional(),
  rules: doorRulesSchema.prefault({}),
});

export const accessConfigSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** IANA time zone the weekly schedules are written in (e.g. Europe/Berlin). */
  timezone: z
    .string()
    .default('UTC')
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'unknown IANA time zone'),
  /** Defaults of the per-door rules (docs/access.md, "Rules and their risks"). */
  rules: z
    .strictObject({
      nonSecureRead: ruleAction.default('alarm'),
      tamperRecent: ruleAction.default('alarm'),
      tamperMinutes: z.number().min(0).max(7 * 24 * 60).default(10),
      networkIncident: z.enum(['deny-except-emergency', 'alarm', 'ignore']).default('alarm'),
    })
    .prefault({}),
  /** Access group (from the credential list) still admitted under `deny-except-emergency`. */
  emergencyGroup: z.string().min(1).max(64).default('emergency'),
  /** Which events mean "a network incident is open": incident types (open until their close phase) … */
  incidentTypes: z.array(typeGlob).default(['incident.intrusion.*', 'incident.camera.*', 'incident.network.*']),
  /** … and single events that count as one for `incidentHoldMinutes` (e.g. someone claiming the gateway's IP). */
  incidentEvents: z.array(typeGlob).default(['network.gateway.claimed']),
  incidentHoldMinutes: z.number().min(1).max(7 * 24 * 60).default(30),
  /** Credentials with a PIN wait this long for the keypad entry after the card. */
  pinTimeoutSeconds: z.number().min(1).max(120).default(10),
  /** Card-number hash key (HMAC-SHA256, 0600); default <stateDir>/access-card.key. */
  cardKey: z.string().optional(),
  /** Credential database; default <stateDir>/access.db. */
  database: z.string().optional(),
  doors: z.array(accessDoorSchema).default([]),
}).superRefine((c, ctx) => {
  const ids = new Set<string>();
  const readers = new Map<string, string>();
  c.doors.forEach((d, i) => {
    if (ids.has(d.id)) ctx.addIssue({ code: 'custom', path: ['doors', i, 'id'], message: `door id "${d.id}" is used twice` });
    ids.add(d.id);
    d.readers.forEach((r, j) => {
      const other = readers.get(r);
      if (other) ctx.addIssue({ code: 'custom', path: ['doors', i, 'readers', j], message: `reader "${r}" is already at door "${other}"` });
      readers.set(r, d.id);
    });
  });
});

export type AccessConfig = z.output<typeof accessConfigSchema>;
export type AccessDoor = z.output<typeof accessDoorSchema>;
export type DoorRules = { nonSecureRead: RuleAction; tamperRecent: RuleAction; tamperMinutes: number; networkIncident: 'deny-except-emergency' | 'alarm' | 'ignore' };

/** A door's effective rules: its own, else the gateway-wide defaults. */
export function effectiveRules(c: AccessConfig, d: AccessDoor): DoorRules {
  return {
    nonSecureRead: d.rules.nonSecureRead ?? c.rules.nonSecureRead,
    tamperRecent: d.rules.tamperRecent ?? c.rules.tamperRecent,
    tamperMinutes: d.rules.tamperMinutes ?? c.rules.tamperMinutes,
    networkIncident: d.rules.networkIncident ?? c.rules.networkIncident,
  };
}

/** Keys of `access:` a reload cannot apply: the listener, the store and the card key are set up at start. */
export const ACCESS_RESTART_KEYS = ['enabled', 'database', 'cardKey'] as const;

/**
 * A reloaded `access:` section against the running one: `apply` is the new config with the
 * running values of the restart-only keys, `changed` the other top-level keys that differ
 * (applied at once), `needRestart` whether a restart-only key changed.
 */
export function reloadAccess(cur: AccessConfig, next: AccessConfig): { apply: AccessConfig; changed: string[]; needRestart: boolean } {
  const restart = new Set<string>(ACCESS_RESTART_KEYS);
  const differs = (k: keyof AccessConfig): boolean => JSON.stringify(cur[k]) !== JSON.stringify(next[k]);
  const keys = [...new Set([...Object.keys(cur), ...Object.keys(next)])] as Array<keyof AccessConfig>;
  return {
    apply: { ...next, enabled: cur.enabled, database: cur.database, cardKey: cur.cardKey },
    changed: keys.filter((k) => !restart.has(k) && differs(k)),
    needRestart: ACCESS_RESTART_KEYS.some((k) => differs(k)),
  };
}

// Config of converged correlation (`correlate:` in config.yaml; the lead mounts this schema
// in config/schema.ts). The rule language is structural, not a DSL: a rule is a set of
// steps that must all be seen within a window, joined on site, zone, segment or asset.
// Defaults (the three shipped rules) live in default-rules.ts and are validated by this
// schema at load; `rules` adds to or (same name) replaces them.
import { z } from 'zod';
import { SEVERITIES } from '../events/types.js';

/** An event type, or a glob where `*` matches any run of [a-z0-9_.] (e.g. `video.tamper.*`). */
const typePattern = z.string().regex(/^[a-z*]+(\.[a-z0-9_*]+){0,4}$/, 'expected an event type or glob such as access.door.forced or video.tamper.*');
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
/** A dotted path into the event body: `data.granted`, `src.device`, `site`. */
const fieldPath = z.string().regex(/^(data|src|site|gw|type|severity)(\.[A-Za-z0-9_]+)*$/, 'expected a body path such as data.mac or src.device');

export const matchSchema = z.strictObject({
  type: typePattern,
  /** Every listed field must equal the value (e.g. `data.granted: false`). */
  where: z.record(fieldPath, scalar).default({}),
});

export const stepSchema = z.strictObject({
  /** Names the step in incident evidence. */
  name: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/),
  /** Any of these matches the step. */
  match: z.array(matchSchema).min(1),
  /** Events needed for this step within the window … */
  minCount: z.number().int().min(1).max(1000).default(1),
  /** … all sharing this field's value (e.g. `src.device`: denials at one reader). */
  sameValue: fieldPath.optional(),
  /** Fields whose values identify what the event is about (device ids, IPs, MACs, interfaces), resolved through `assets` for the join. */
  keys: z.array(fieldPath).default(['src.device']),
});

export const ruleSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
  enabled: z.boolean().default(true),
  /** The incident's event type. */
  type: z.string().regex(/^incident(\.[a-z0-9_]+){2,3}$/, 'expected incident.<object>.<action>, e.g. incident.intrusion.rogue_device'),
  severity: z.enum(SEVERITIES).default('alarm'),
  /** All steps must fall within this span of event time. */
  windowSeconds: z.number().positive().max(7 * 86400).default(600),
  /** An open incident with no new matching event for this long is closed. */
  closeAfterSeconds: z.number().positive().max(7 * 86400).default(1800),
  /**
   * What the steps must share: `site` (same gateway), `zone` / `segment` (from `assets` or
   * src.zone / data.interface; an event with no known zone/segment joins any), `asset`
   * (the same configured asset — e.g. a camera by its device id, IPs and MACs).
   */
  join: z.enum(['site', 'zone', 'segment', 'asset']).default('site'),
  steps: z.array(stepSchema).min(1).max(8),
  /** Update events per incident at most (further matches are counted, not announced). */
  maxUpdates: z.number().int().min(0).max(1000).default(20),
});

export const assetSchema = z.strictObject({
  ips: z.array(z.string()).default([]),
  macs: z.array(z.string().transform((s) => s.toLowerCase())).default([]),
  zone: z.string().optional(),
  /** LAN segment: the gateway interface the asset is reached on (e.g. eth1). */
  segment: z.string().optional(),
});

export const correlateConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Include the shipped rules (default-rules.ts). */
  defaultRules: z.boolean().default(true),
  /** Names of shipped rules to leave out. */
  disable: z.array(z.string()).default([]),
  rules: z.array(ruleSchema).default([]),
  /** Known devices by their config device id: how their events and their network identity join. */
  assets: z.record(z.string(), assetSchema).default({}),
  /** Period of the sweep that closes quiet incidents. */
  sweepSeconds: z.number().min(1).max(3600).default(30),
});

export type CorrelateConfig = z.output<typeof correlateConfigSchema>;
export type CorrelateConfigInput = z.input<typeof correlateConfigSchema>;
export type Rule = z.output<typeof ruleSchema>;
export type RuleInput = z.input<typeof ruleSchema>;
export type Step = z.output<typeof stepSchema>;
export type Asset = z.output<typeof assetSchema>;

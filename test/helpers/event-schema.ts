// docs/events.schema.json as a test oracle for `data`: every observation a driver emits in
// an integration test is checked against the `data.<type>` schema that the envelope's
// `allOf` if/then wiring selects for its type (docs/contracts.md §Event: one JSON Schema per type). A type
// no wiring entry covers is an error too, so a new event type cannot ship undocumented.
//
// Failures are recorded, not thrown: emit runs inside driver code (poll loops, stream
// handlers) that may catch and count exceptions, so a throw could vanish. Recorded
// failures fail the running test from a root-level afterEach hook (and an after hook for
// anything emitted after the last test started), registered when this module is loaded
// by a test file.
import { readFileSync } from 'node:fs';
import { after, afterEach } from 'node:test';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (a: Ajv2020) => void;

export const EVENTS_SCHEMA_URL = new URL('../../docs/events.schema.json', import.meta.url);

/** One `allOf` entry of `$defs.body`: which types it matches and the `data.*` def it applies. */
export interface DataSchemaWiring {
  /** `data.<type>` (or `data.<family pattern name>`) in `$defs`. */
  def: string;
  /** Exact type (`if.properties.type.const`) … */
  type?: string;
  /** … or a family (`if.properties.type.pattern`), with the example types given beside it. */
  pattern?: string;
  examples: string[];
}

interface Compiled {
  schema: Record<string, unknown> & { $id: string; $defs: Record<string, unknown> };
  wiring: Array<DataSchemaWiring & { re: RegExp | null; validate: ValidateFunction }>;
  ajv: Ajv2020;
}

let compiled: Compiled | undefined;

/** The schema, compiled once per process (Ajv2020 + ajv-formats, as the platform would). */
function load(): Compiled {
  if (compiled) return compiled;
  const schema = JSON.parse(readFileSync(EVENTS_SCHEMA_URL, 'utf8')) as Compiled['schema'];
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addSchema(schema);
  const body = schema.$defs.body as { allOf?: Array<{ if?: unknown; then?: unknown }> };
  const wiring: Compiled['wiring'] = [];
  for (const entry of body.allOf ?? []) {
    const m = (entry.if as { properties?: { type?: { const?: string; pattern?: string; examples?: string[] } } } | undefined)?.properties?.type;
    const ref = (entry.then as { properties?: { data?: { $ref?: string } } } | undefined)?.properties?.data?.$ref;
    if (!m || !ref || !ref.startsWith('#/$defs/')) throw new Error(`events.schema.json: allOf entry is not a type → data wiring: ${JSON.stringify(entry)}`);
    const def = ref.slice('#/$defs/'.length);
    if (!(def in schema.$defs)) throw new Error(`events.schema.json: ${ref} does not exist`);
    const validate = ajv.compile({ $ref: `${schema.$id}${ref}` });
    wiring.push({ def, type: m.const, pattern: m.pattern, examples: m.examples ?? [], re: m.pattern ? new RegExp(m.pattern, 'u') : null, validate });
  }
  compiled = { schema, wiring, ajv };
  return compiled;
}

/** The parsed schema and its type → data wiring (compiles on first use). */
export function dataSchemaWiring(): { schema: Compiled['schema']; wiring: readonly DataSchemaWiring[] } {
  const c = load();
  return { schema: c.schema, wiring: c.wiring.map(({ def, type, pattern, examples }) => ({ def, type, pattern, examples })) };
}

/**
 * Checks `data` of an event of `type` against every `data.*` schema the envelope wiring
 * applies to that type. Returns null when it conforms, else a message naming the type, the
 * def and the failing paths; a type no wiring covers is reported as undocumented.
 */
export function validateObservationData(type: string, data: unknown): string | null {
  const c = load();
  const hits = c.wiring.filter((w) => w.type === type || (w.re !== null && w.re.test(type)));
  if (hits.length === 0) return `event type ${type} has no data schema in docs/events.schema.json`;
  for (const w of hits) {
    if (w.validate(data)) continue;
    const why = c.ajv.errorsText(w.validate.errors, { dataVar: 'data', separator: '; ' });
    return `event ${type}: data does not match #/$defs/${w.def}: ${why} — data: ${JSON.stringify(data).slice(0, 500)}`;
  }
  return null;
}

/** Failures not yet attributed to a test (see the hooks below). */
const pending: string[] = [];

/** Validate an emitted observation; a failure goes to `sink` (the context's list) and fails the running test. */
export function recordSchemaCheck(o: { type: string; data: unknown }, sink: string[]): void {
  const err = validateObservationData(o.type, o.data);
  if (err === null) return;
  sink.push(err);
  pending.push(err);
}

function flush(when: string): void {
  if (pending.length === 0) return;
  const errs = [...new Set(pending.splice(0))];
  throw new Error(`${errs.length} emitted observation(s) ${when} break docs/events.schema.json:\n${errs.join('\n')}`);
}

// Only inside a test process: `node --test` children carry NODE_TEST_CONTEXT; a test file
// run directly is the entry script. Other importers (benchmarks) must not get a test root.
if (process.env.NODE_TEST_CONTEXT !== undefined || /\.test\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) {
  afterEach(() => flush('during this test'));
  after(() => flush('after the last test'));
}

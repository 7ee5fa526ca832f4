// docs/mqtt-api.yaml (AsyncAPI 3) and docs/events.schema.json are the platform's contract.
// They are checked here against the official AsyncAPI parser and against the code:
// every topic agent/forward/topics.ts builds is a documented channel, every `$ref` resolves
// (external ones only into docs/events.schema.json), every event type literal in the
// sources has a data schema, and a signed command / its result fit the documented payloads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPairSync } from 'node:crypto';
import { Parser, fromFile, DiagnosticSeverity } from '@asyncapi/parser';
import { parse as parseYaml } from 'yaml';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { makeTopics } from '../../agent/forward/topics.js';
import { FAMILIES } from '../../agent/events/types.js';
import { signCommand } from '../../agent/commands/sign.js';
import { validateObservationData } from '../helpers/event-schema.js';

const addFormats = addFormatsModule as unknown as (a: Ajv) => void;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const API_PATH = join(ROOT, 'docs/mqtt-api.yaml');
const SCHEMA_FILE = 'events.schema.json';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const api = (): { [k: string]: Json } => parseYaml(readFileSync(API_PATH, 'utf8')) as { [k: string]: Json };
const eventsSchema = (): Json => JSON.parse(readFileSync(join(ROOT, 'docs', SCHEMA_FILE), 'utf8')) as Json;

/** RFC 6901 pointer lookup; undefined when a segment is missing. */
function resolvePointer(doc: Json, pointer: string): Json | undefined {
  if (pointer === '' || pointer === '/') return doc;
  let cur: Json | undefined = doc;
  for (const raw of pointer.replace(/^\//, '').split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? cur[Number(key)] : (cur as { [k: string]: Json })[key];
    if (cur === undefined) return undefined;
  }
  return cur;
}

function* refs(node: Json, path: string): Generator<{ path: string; ref: string }> {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) yield* refs(node[i], `${path}[${i}]`);
    return;
  }
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string') yield { path, ref: v };
    else yield* refs(v, path ? `${path}.${k}` : k);
  }
}

test('the official AsyncAPI parser accepts docs/mqtt-api.yaml: no error, no warning', async () => {
  const parser = new Parser();
  const { document, diagnostics } = await fromFile(parser, API_PATH).parse();
  // Errors and warnings fail (each one is a real defect of the contract); information and
  // hints (such as "a newer AsyncAPI version exists") do not.
  const bad = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning);
  assert.deepEqual(
    bad.map((d) => `${d.severity === DiagnosticSeverity.Error ? 'error' : 'warning'} ${d.code} at ${d.path.join('.')}: ${d.message}`),
    [],
  );
  assert.ok(document, 'the parser produced a document');
  // The external $ref was followed: the event payload is the envelope from events.schema.json.
  const event = document.components().messages().get('event');
  assert.ok(event, 'components.messages.event');
  const payload = event.payload()?.json() as { properties?: Record<string, unknown> } | undefined;
  assert.ok(payload?.properties && 'body' in payload.properties && 'sig' in payload.properties, 'event payload resolved to the {body, sig} envelope');
});

test('the parser does catch a contract mistake (control: qos in message bindings is an error)', async () => {
  const parser = new Parser();
  const doc = api();
  const msgs = (doc.components as { messages: { [k: string]: { [k: string]: Json } } }).messages;
  msgs.event.bindings = { mqtt: { qos: 1, retain: false } };
  const { diagnostics } = await parser.parse(JSON.stringify(doc), { source: API_PATH });
  assert.ok(
    diagnostics.some((d) => d.severity === DiagnosticSeverity.Error && d.path.join('.').startsWith('components.messages.event.bindings.mqtt')),
    diagnostics.map((d) => d.message).join('; '),
  );
});

test('every $ref resolves; external ones point only into docs/events.schema.json', () => {
  const doc = api();
  const schema = eventsSchema();
  const problems: string[] = [];
  let external = 0;
  for (const { path, ref } of refs(doc, '')) {
    const [file, pointer = ''] = ref.split('#');
    if (file === '') {
      if (resolvePointer(doc, pointer) === undefined) problems.push(`${path}: ${ref} does not resolve in mqtt-api.yaml`);
      continue;
    }
    external++;
    if (file !== SCHEMA_FILE && file !== `./${SCHEMA_FILE}`) problems.push(`${path}: ${ref} points outside docs/${SCHEMA_FILE}`);
    else if (resolvePointer(schema, pointer) === undefined) problems.push(`${path}: ${ref} does not resolve in docs/${SCHEMA_FILE}`);
  }
  assert.deepEqual(problems, []);
  assert.ok(external >= 1, 'the event payload refers to docs/events.schema.json');
  const msgs = (doc.components as { messages: { [k: string]: { payload?: { $ref?: string } } } }).messages;
  assert.equal(msgs.event.payload?.$ref, SCHEMA_FILE, 'the event message payload is the events.schema.json envelope');
});

test('every topic the gateway builds is a documented channel; every channel has an operation and messages that exist', () => {
  const doc = api();
  const channels = doc.channels as { [k: string]: { address: string; messages?: { [k: string]: { $ref?: string } } } };
  const operations = doc.operations as { [k: string]: { action: string; channel: { $ref: string } } };
  const matchers = Object.entries(channels).map(([name, c]) => ({
    name,
    re: new RegExp(`^${c.address.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace('{prefix}', '.+').replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }));
  const t = makeTopics('gatewarden/v1', 'site-a', 'gw-1');
  // Every member of the typed topic map, so a topic added there without a channel fails here.
  const built: Array<[string, string]> = [['diag probe (agent/diag/broker-checks.ts)', 'gatewarden/v1/site-a/gw-1/diag']];
  for (const [k, v] of Object.entries(t) as Array<[string, unknown]>) {
    if (typeof v === 'string') built.push([k, v.replace(/\/\+$/, '/x')]);
    else if (k === 'evt') for (const f of FAMILIES) built.push([`evt(${f})`, t.evt(f)]);
    else if (k !== 'commandName' && typeof v === 'function') built.push([`${k}(x)`, (v as (a: string) => string)('x')]);
  }
  assert.ok(built.length >= 12, `only ${built.length} topics read from makeTopics`);
  const undocumented = built.filter(([, topic]) => !matchers.some((m) => m.re.test(topic))).map(([k, topic]) => `${k}: ${topic}`);
  assert.deepEqual(undocumented, [], 'topics built in agent/forward/topics.ts without a channel in docs/mqtt-api.yaml');
  const family = (channels.events as unknown as { parameters: { family: { enum: string[] } } }).parameters.family.enum;
  assert.deepEqual([...family].sort(), [...FAMILIES].sort(), 'evt/{family} enum = FAMILIES (agent/events/types.ts)');
  const used = new Set(Object.values(operations).map((o) => o.channel.$ref));
  for (const name of Object.keys(channels)) assert.ok(used.has(`#/channels/${name}`), `channel ${name} has no operation`);
  for (const [name, op] of Object.entries(operations)) assert.ok(['send', 'receive'].includes(op.action), `operation ${name}: action ${op.action}`);
  for (const [name, c] of Object.entries(channels)) {
    assert.ok(c.messages && Object.keys(c.messages).length > 0, `channel ${name} has messages`);
    for (const m of Object.values(c.messages ?? {})) assert.ok(m.$ref && resolvePointer(doc, m.$ref.slice(1)) !== undefined, `channel ${name}: ${m.$ref}`);
  }
});

/** Source files (agent/, drivers/, config/) without tests. */
function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.ts$/.test(name) && !/\.test\.ts$/.test(name)) out.push(p);
  }
  return out;
}

test('every event type literal in the sources has a data schema in docs/events.schema.json', () => {
  // Literal types only: a type built at run time (`sensor.${name}.alarm`) is covered by the
  // family patterns and by the integration tests' schema oracle (test/helpers/event-schema.ts).
  const re = /['"`]((?:access|video|sensor|network|incident|system)(?:\.[a-z0-9_]+){1,4})['"`]/g;
  // Literals with the shape of a type that are not event types: command names (a *_COMMANDS
  // list, a handler table key `'x': async`, a `cmd` comparison) and file names.
  const notTypes = (line: string): boolean => /COMMANDS\b.*=\s*\[|^\s*['"][^'"]+['"]\s*:\s*(async\b|\()|\bcmd\s*(===|!==|=)\s*['"]/.test(line);
  const fileName = /\.(db|json|ya?ml|pem|log|sqlite)$/;
  const found = new Map<string, string>();
  for (const file of ['agent', 'drivers', 'config'].flatMap((d) => sources(join(ROOT, d)))) {
    const text = readFileSync(file, 'utf8')
      .split('\n')
      // comments, and correlation rule inputs (`match: [{type: …}]` names what a rule listens to, not what anything emits)
      .filter((l) => !/^\s*(\/\/|\*)/.test(l) && !/\bmatch\s*:/.test(l) && !notTypes(l))
      .join('\n');
    for (const m of text.matchAll(re)) if (!found.has(m[1]) && !fileName.test(m[1])) found.set(m[1], file.slice(ROOT.length));
  }
  assert.ok(found.size >= 40, `only ${found.size} event type literals found: the scan is broken`);
  assert.ok(found.has('system.command.rejected') && found.has('sensor.reading'), 'the scan sees known types');
  const undocumented = [...found].filter(([type]) => validateObservationData(type, {})?.endsWith('has no data schema in docs/events.schema.json')).map(([type, file]) => `${type} (${file})`);
  assert.deepEqual(undocumented, []);
});

test('a signed command and a command result fit the documented payloads (no undocumented body field)', () => {
  const doc = api();
  const msgs = (doc.components as { messages: { [k: string]: { payload: { [k: string]: Json } } } }).messages;
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  const key = generateKeyPairSync('ed25519').privateKey;
  const env = signCommand(key, 'output.pulse', { point: 'siren', ms: 500 }, { site: 'site-a', gw: 'gw-1', target: 'plc-1' });
  const validate = ajv.compile(msgs.command.payload);
  assert.ok(validate(env), JSON.stringify(validate.errors));
  const bodyProps = Object.keys((msgs.command.payload as { properties: { body: { properties: object } } }).properties.body.properties);
  for (const k of Object.keys(env.body)) assert.ok(bodyProps.includes(k), `body.${k} is not documented in components.messages.command`);
  const result = ajv.compile(msgs.commandResult.payload);
  for (const r of [{ id: env.body.id, ok: true, data: { sha256: 'ab' } }, { id: env.body.id, ok: false, error: 'wrong-target-gateway', detail: 'x' }]) {
    assert.ok(result(r), JSON.stringify(result.errors));
  }
  assert.equal(result({ ok: true }), false, 'control: a result without id is refused');
});

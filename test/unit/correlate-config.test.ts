// The correlate config schema: defaults, validation errors that name the path, and how
// configured rules add to, replace or disable the shipped ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { correlateConfigSchema } from '../../agent/correlate/config.js';
import { DEFAULT_RULES } from '../../agent/correlate/default-rules.js';
import { rulesFromConfig } from '../../agent/correlate/engine.js';

test('defaults: the shipped rules', () => {
  const c = correlateConfigSchema.parse({});
  assert.equal(c.enabled, true);
  assert.deepEqual(rulesFromConfig(c).map((r) => r.type), ['incident.intrusion.rogue_device', 'incident.camera.compromise', 'incident.access.brute_force', 'incident.access.brute_force_scan']);
  assert.equal(DEFAULT_RULES[0].windowSeconds, 600);
});

test('configured rules replace by name, add, and disable', () => {
  const c = correlateConfigSchema.parse({
    disable: ['brute_force', 'brute_force_scan'],
    rules: [
      { name: 'rogue_device', type: 'incident.intrusion.rogue_device', windowSeconds: 120, steps: [{ name: 'door', match: [{ type: 'access.door.forced' }] }, { name: 'net', match: [{ type: 'network.*' }] }] },
      { name: 'gone_camera', type: 'incident.camera.gone', severity: 'warning', join: 'asset', steps: [{ name: 'net', match: [{ type: 'network.device.gone' }], keys: ['data.mac'] }] },
    ],
  });
  const rules = rulesFromConfig(c);
  assert.deepEqual(rules.map((r) => r.name), ['camera_compromise', 'rogue_device', 'gone_camera']);
  assert.equal(rules.find((r) => r.name === 'rogue_device')!.windowSeconds, 120);
});

test('invalid rules fail with the path named', () => {
  const r = correlateConfigSchema.safeParse({ rules: [{ name: 'x', type: 'alarm.bad', steps: [{ name: 's', match: [{ type: 'Access.Door' }], keys: ['body.x'] }] }] });
  assert.equal(r.success, false);
  const paths = r.error!.issues.map((i) => i.path.join('.'));
  assert.ok(paths.includes('rules.0.type'), paths.join(' '));
  assert.ok(paths.includes('rules.0.steps.0.match.0.type'), paths.join(' '));
  assert.ok(paths.includes('rules.0.steps.0.keys.0'), paths.join(' '));
  assert.equal(correlateConfigSchema.safeParse({ unknown: 1 }).success, false);
});

// Commands bound to a gateway (agent/commands/verify.ts, docs/contracts.md §Commands), bad
// args refused as `bad-args` by the handler, Modbus coil outputs (drivers/modbus/output-commands.ts)
// and config.get redaction (agent/commands/config-get.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { pino } from 'pino';
import { checkCommand } from '../../agent/commands/verify.js';
import { signCommand } from '../../agent/commands/sign.js';
import { createCommandHandler } from '../../agent/commands/handler.js';
import { SeenIdStore } from '../../agent/commands/seen-ids.js';
import { configGet } from '../../agent/commands/config-get.js';
import { validateConfig } from '../../config/loader.js';
import { CoilOutputs } from '../../drivers/modbus/output-commands.js';
import { modbusConfigSchema } from '../../drivers/modbus/config.js';
import { UnitRuntime } from '../../drivers/modbus/unit.js';
import { CommandArgsError } from '../../drivers/types.js';
import { tempDir } from '../helpers/chain.js';

const platform = generateKeyPairSync('ed25519');
const NOW = Date.parse('2026-06-01T12:00:00Z');
const check = (env: object, gateway?: { site: string; gw: string; require: boolean }, name = 'ping') =>
  checkCommand(JSON.stringify(env), { publicKey: platform.publicKey, topicName: name, now: NOW, maxSkewMs: 30_000, seen: { has: () => false }, ...(gateway ? { gateway } : {}) });

test('site/gw bind a command: another gateway refuses it as wrong-target-gateway; unbound bodies only when not required', () => {
  const here = { site: 's1', gw: 'g1', require: false };
  const bound = signCommand(platform.privateKey, 'ping', {}, { site: 's1', gw: 'g1', now: NOW });
  assert.deepEqual([bound.body.site, bound.body.gw], ['s1', 'g1']);
  const ok = check(bound, here);
  assert.ok(ok.ok && ok.body.site === 's1' && ok.body.gw === 'g1');
  for (const [site, gw] of [['s2', 'g1'], ['s1', 'g2'], ['s1', undefined], [undefined, 'g1']] as const) {
    const other = signCommand(platform.privateKey, 'ping', {}, { ...(site ? { site } : {}), ...(gw ? { gw } : {}), now: NOW });
    const r = check(other, here);
    assert.ok(!r.ok && r.reason === 'wrong-target-gateway', `${site}/${gw}: ${JSON.stringify(r)}`);
    assert.match(!r.ok ? r.detail : '', /this is s1\/g1/);
  }
  const unbound = signCommand(platform.privateKey, 'ping', {}, { now: NOW });
  assert.equal(check(unbound, here).ok, true, 'backward compatible by default');
  const req = check(unbound, { ...here, require: true });
  assert.ok(!req.ok && req.reason === 'wrong-target-gateway' && /requireGatewayBinding/.test(req.detail));
  assert.equal(check(bound, { ...here, require: true }).ok, true);
  // site/gw are signed: re-addressing a captured command breaks its signature.
  const moved = { ...bound, body: { ...bound.body, gw: 'g2' } };
  const r = check(moved, { site: 's1', gw: 'g2', require: false });
  assert.ok(!r.ok && r.reason === 'bad-signature');
  const typed = check({ body: { ...bound.body, site: 5 }, sig: bound.sig }, here);
  assert.ok(!typed.ok && typed.reason === 'malformed');
});

test('handler: a driver CommandArgsError is refused as bad-args (signed rejection and result), a wrong gateway never reaches a driver', async () => {
  const events: Array<{ type: string; data: Record<string, unknown> }> = [];
  const replies: Array<Record<string, unknown>> = [];
  let deviceCalls = 0;
  const h = createCommandHandler({
    publicKey: platform.publicKey,
    maxSkewMs: 30_000,
    gateway: { site: 's1', gw: 'g1', require: false },
    seen: new SeenIdStore(join(tempDir('gw-bind-'), 'seen.json')),
    pipeline: { system: (type: string, _s: string, data: Record<string, unknown>) => void events.push({ type, data }) } as never,
    deviceCommand: async () => {
      deviceCalls++;
      throw new CommandArgsError('output.pulse: args.point: no point "nope"');
    },
    builtins: {},
    publishResult: (p) => void replies.push(JSON.parse(p)),
    log: pino({ level: 'silent' }),
  });
  const incoming = (name: string, env: object) => ({ name, topic: `cmd/${name}`, payload: Buffer.from(JSON.stringify(env)) });
  const bad = signCommand(platform.privateKey, 'output.pulse', { point: 'nope' }, { site: 's1', gw: 'g1', target: 'plc' });
  h(incoming('output.pulse', bad));
  await new Promise((r) => setImmediate(r));
  assert.equal(deviceCalls, 1);
  assert.deepEqual(replies.at(-1), { id: bad.body.id, ok: false, error: 'bad-args', detail: 'output.pulse: args.point: no point "nope"' });
  assert.ok(events.some((e) => e.type === 'system.command.rejected' && e.data.reason === 'bad-args' && e.data.id === bad.body.id));
  const wrong = signCommand(platform.privateKey, 'output.pulse', { point: 'siren' }, { site: 's1', gw: 'g9', target: 'plc' });
  h(incoming('output.pulse', wrong));
  await new Promise((r) => setImmediate(r));
  assert.equal(deviceCalls, 1, 'a command for another gateway reached no driver');
  assert.equal(replies.at(-1)?.error, 'wrong-target-gateway');
});

function coilBus() {
  const cfg = modbusConfigSchema.parse({
    id: 'bus',
    transport: { type: 'tcp', host: '127.0.0.1' },
    units: [
      {
        id: 'plc',
        unitId: 1,
        points: [
          { name: 'siren', table: 'coil', address: 3, type: 'bool', writable: true },
          { name: 'lamp', table: 'coil', address: 4, type: 'bool' },
          { name: 'setpoint', table: 'holding', address: 0, writable: true },
          { name: 'door', table: 'discrete', address: 0, type: 'bool' },
        ],
      },
    ],
  });
  const env = { bus: 'bus', emit: () => true, now: () => 0, mono: () => 0, reportError: () => undefined };
  const units = cfg.units.map((u) => new UnitRuntime(u, env));
  const writes: Array<{ fc: number; address: number; values: unknown[] }> = [];
  const scheduler = { write: async (_u: UnitRuntime, fc: number, address: number, values: number[] | boolean[]) => void writes.push({ fc, address, values: [...values] }) };
  const sleeps: number[] = [];
  const outputs = new CoilOutputs(units, scheduler as never, async (ms) => void sleeps.push(ms));
  return { outputs, writes, sleeps };
}

test('Modbus output.pulse / output.set drive writable coils only; bad args are refused before any write', async () => {
  const { outputs, writes, sleeps } = coilBus();
  const p = await outputs.run('output.pulse', { point: 'siren', durationMs: 700 }, 'plc');
  assert.equal(p.ok, true, p.detail);
  assert.deepEqual(writes, [{ fc: 5, address: 3, values: [true] }, { fc: 5, address: 3, values: [false] }]);
  assert.deepEqual(sleeps, [700]);
  const s = await outputs.run('output.set', { point: 'siren', value: true }, undefined);
  assert.equal(s.ok, true);
  assert.deepEqual(writes.at(-1), { fc: 5, address: 3, values: [true] });
  const n = writes.length;
  const refused: Array<[string, object, RegExp]> = [
    ['output.pulse', { point: 'lamp' }, /not writable/],
    ['output.pulse', { point: 'setpoint' }, /holding point, not a coil/],
    ['output.set', { point: 'door', value: true }, /discrete point, not a coil/],
    ['output.pulse', { point: 'nope' }, /no point "nope"/],
    ['output.pulse', { point: 'siren', durationMs: 'long' }, /args\.durationMs/],
    ['output.pulse', { point: 'siren', extra: 1 }, /args\.\(root\)|extra/],
    ['output.set', { point: 'siren' }, /args\.value/],
  ];
  for (const [name, args, re] of refused) {
    await assert.rejects(outputs.run(name, args as never, undefined), (e: Error) => e instanceof CommandArgsError && re.test(e.message), `${name} ${JSON.stringify(args)}`);
  }
  assert.equal(writes.length, n, 'nothing was written for a refused command');
});

test('config.get answers the running config with schema-marked secrets redacted', async () => {
  const loaded = await validateConfig(
    {
      site: 's1',
      gateway: 'g1',
      mqtt: { url: 'mqtt://bob:hunter2-url@broker:1883', keepaliveSeconds: 30 },
      drivers: { onvif: [{ id: 'cams', cameras: [{ id: 'cam-1', host: '10.0.0.5', username: 'admin', password: 'cam-secret-9' }] }] },
    },
    '/etc/gatewarden/config.yaml',
  );
  const r = await configGet(loaded);
  assert.equal(r.ok, true);
  const text = JSON.stringify(r.data);
  assert.ok(!text.includes('hunter2-url') && !text.includes('cam-secret-9'), text);
  const data = r.data as { source: string; config: { site: string; mqtt: { url: string }; drivers: { onvif: Array<{ cameras: Array<{ host: string; username: string }> }> } } };
  assert.equal(data.source, '/etc/gatewarden/config.yaml');
  assert.equal(data.config.site, 's1');
  assert.equal(data.config.drivers.onvif[0].cameras[0].host, '10.0.0.5', 'non-secret values are kept');
  assert.match(data.config.mqtt.url, /broker:1883/);
});

test('handler: an unknown target is refused as unknown-target before system.command.accepted; OSDP bad args are bad-args; neither reaches a device', async () => {
  const { buildCommand } = await import('../../drivers/osdp/commands.js');
  const events: Array<{ type: string; data: Record<string, unknown> }> = [];
  const replies: Array<Record<string, unknown>> = [];
  const sent: string[] = [];
  const h = createCommandHandler({
    publicKey: platform.publicKey,
    maxSkewMs: 30_000,
    seen: new SeenIdStore(join(tempDir('gw-target-'), 'seen.json')),
    pipeline: { system: (type: string, _s: string, data: Record<string, unknown>) => void events.push({ type, data }) } as never,
    knowsTarget: (t) => t === 'door-1',
    // The OSDP driver's own arg check (drivers/osdp/commands.ts) in front of a device that records what reached it.
    deviceCommand: async (name, args, target) => {
      buildCommand(name as 'led', args);
      sent.push(`${target}:${name}`);
      return { ok: true };
    },
    builtins: { ping: async () => ({ ok: true }) },
    publishResult: (p) => void replies.push(JSON.parse(p)),
    log: pino({ level: 'silent' }),
  });
  const incoming = (name: string, env: object) => ({ name, topic: `cmd/${name}`, payload: Buffer.from(JSON.stringify(env)) });
  const settle = () => new Promise((r) => setImmediate(r));
  const of = (id: string) => events.filter((e) => e.data.id === id).map((e) => e.type);

  const unknown = signCommand(platform.privateKey, 'led', { color: 'red' }, { target: 'door-9' });
  h(incoming('led', unknown));
  await settle();
  assert.deepEqual(of(unknown.body.id), ['system.command.rejected'], 'refused, never recorded as accepted');
  assert.equal(events.find((e) => e.data.id === unknown.body.id)?.data.reason, 'unknown-target');
  assert.deepEqual(replies.at(-1), { id: unknown.body.id, ok: false, error: 'unknown-target', detail: 'no driver instance or device "door-9" on this gateway' });

  const badArgs = signCommand(platform.privateKey, 'led', { color: 'purple-ish' }, { target: 'door-1' });
  h(incoming('led', badArgs));
  await settle();
  assert.deepEqual(of(badArgs.body.id), ['system.command.accepted', 'system.command.rejected']);
  assert.equal(replies.at(-1)?.error, 'bad-args');
  assert.match(String(replies.at(-1)?.detail), /^color: /);
  assert.deepEqual(sent, [], 'nothing reached a device');

  // A known target with good args goes through; a builtin ignores knowsTarget.
  const good = signCommand(platform.privateKey, 'led', { color: 'green' }, { target: 'door-1' });
  h(incoming('led', good));
  const ping = signCommand(platform.privateKey, 'ping', {}, { target: 'anything' });
  h(incoming('ping', ping));
  await settle();
  assert.deepEqual(sent, ['door-1:led']);
  assert.deepEqual(of(good.body.id), ['system.command.accepted', 'system.command.executed']);
  assert.deepEqual(of(ping.body.id), ['system.command.accepted', 'system.command.executed']);
});

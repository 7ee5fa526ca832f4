// docs/events.schema.json is the platform's contract: events the agent really produces
// must validate against it, and broken envelopes must not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { pino } from 'pino';
import { Pipeline, type EventSink } from '../../agent/pipeline.js';
import type { SealedEvent } from '../../agent/chain/chain.js';
import { tempDir, testChain } from '../helpers/chain.js';
import { dataSchemaWiring, validateObservationData } from '../helpers/event-schema.js';
import { netwatchConfigSchema } from '../../agent/anomaly/config.js';
import { ListenerDetector, emptyListenerState } from '../../agent/anomaly/listeners.js';
import { NeighbourDetector, emptyNeighbourState } from '../../agent/anomaly/neighbours.js';
import { ClaimDetector, emptyClaimState } from '../../agent/anomaly/claims.js';
import { ScanDetector, emptyScanState } from '../../agent/anomaly/scan.js';
import { TrafficDetector, emptyTrafficState } from '../../agent/anomaly/traffic.js';
import { correlateConfigSchema } from '../../agent/correlate/config.js';
import { createCorrelator, rulesFromConfig } from '../../agent/correlate/engine.js';
import { createCommandHandler } from '../../agent/commands/handler.js';
import { SeenIdStore } from '../../agent/commands/seen-ids.js';
import { signCommand } from '../../agent/commands/sign.js';
import type { Observation } from '../../agent/events/types.js';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';

const addFormats = addFormatsModule as unknown as (a: Ajv2020) => void;
const schema = JSON.parse(readFileSync(new URL('../../docs/events.schema.json', import.meta.url), 'utf8'));

function validator() {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(schema);
}

test('events produced by the pipeline validate against docs/events.schema.json', () => {
  const out: SealedEvent[] = [];
  const sink: EventSink = { enqueue: (e) => void out.push(e) };
  const chain = testChain();
  const p = new Pipeline({ chain, sink, log: pino({ level: 'silent' }), gw: 'gw-t', checkpoint: { everyEvents: 10, everySeconds: 3600 }, overflowCoalesceMs: 0 });
  p.sinkSealed(chain.newEpoch('fresh', null));
  p.system('system.agent.start', 'notice', { version: '0.1.0', pid: 1, resumed: null, drivers: ['synthetic:a'] });
  for (let i = 0; i < 12; i++) p.ingest('synthetic', { type: 'sensor.reading', severity: 'info', device: 'a', data: { point: 'synthetic', value: i } });
  p.onDropped([{ epoch: chain.head.epoch, from: 3, to: 4 }]);
  p.system('system.agent.stop', 'notice', { reason: 'SIGTERM', uptimeS: 3 });
  p.checkpoint('shutdown');
  const validate = validator();
  const types = new Set<string>();
  for (const e of out) {
    const ok = validate(JSON.parse(e.payload));
    assert.ok(ok, `${e.body.type}: ${JSON.stringify(validate.errors)}`);
    types.add(e.body.type);
  }
  for (const t of ['system.chain.epoch', 'system.chain.checkpoint', 'system.spool.overflow', 'system.agent.start', 'system.agent.stop', 'sensor.reading']) assert.ok(types.has(t), t);
});

test('the schema rejects broken envelopes', () => {
  const chain = testChain();
  const e = chain.newEpoch('fresh', null);
  const validate = validator();
  const good = JSON.parse(e.payload) as { body: Record<string, unknown> & { ts: Record<string, unknown> } };
  assert.ok(validate(good));
  const bad = [
    { ...good, extra: 1 },
    { ...good, sig: 'short' },
    { ...good, body: { ...good.body, seq: 0 } },
    { ...good, body: { ...good.body, severity: 'loud' } },
    { ...good, body: { ...good.body, type: 'weather.rain.start' } },
    { ...good, body: { ...good.body, ts: { ...good.body.ts, wall: '2026-11-27 10:00' } } },
    { ...good, body: { ...good.body, data: { reason: 'fresh' } } },
  ];
  for (const b of bad) assert.equal(validate(b), false, JSON.stringify(b).slice(0, 120));
});

test('every data.* def compiles, is described, and is wired to the types it documents', () => {
  const { schema, wiring } = dataSchemaWiring();
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addSchema(schema);
  const defs = Object.keys(schema.$defs).filter((k) => k.startsWith('data.'));
  assert.ok(defs.length >= 40, `only ${defs.length} data defs`);
  for (const d of defs) {
    assert.doesNotThrow(() => ajv.compile({ $ref: `${schema.$id}#/$defs/${d}` }), d);
    assert.equal(typeof (schema.$defs[d] as { description?: unknown }).description, 'string', `${d}: description`);
    assert.equal(wiring.filter((w) => w.def === d).length, 1, `${d}: exactly one if/then entry applies it`);
  }
  const typeRe = /^(access|video|sensor|network|incident|system)(\.[a-z0-9_]+){1,4}$/;
  for (const w of wiring) {
    assert.ok(w.type !== undefined || w.pattern !== undefined, w.def);
    if (w.type !== undefined) assert.equal(w.def, `data.${w.type}`, 'a type-exact def is named data.<type>');
    else {
      assert.ok(w.examples.length > 0, `${w.def}: a pattern entry lists example types`);
      for (const t of w.examples) assert.match(t, new RegExp(w.pattern as string, 'u'), `${w.def}: example ${t}`);
    }
    for (const t of w.type !== undefined ? [w.type] : w.examples) assert.match(t, typeRe, `${t}: a valid event type`);
  }
});

test('the if/then wiring applies each data.* def to its types in a signed envelope', () => {
  const { wiring } = dataSchemaWiring();
  const validate = validator();
  const chain = testChain();
  chain.newEpoch('fresh', null);
  const probe = { probe: true };
  // Control: a type no entry covers leaves data unconstrained, so a failure below is the wiring's doing.
  assert.ok(validate(JSON.parse(chain.seal({ driver: 't', device: 'd', type: 'sensor.unwired_probe.x', severity: 'info', data: probe }).payload)));
  // wiring[i] is allOf[i] of $defs.body (the helper reads them in order); ajv names the
  // entry whose `then` failed by its `if` schemaPath.
  wiring.forEach((w, i) => {
    for (const type of w.type !== undefined ? [w.type] : w.examples) {
      const env = JSON.parse(chain.seal({ driver: 't', device: 'd', type, severity: 'info', data: probe }).payload);
      assert.equal(validate(env), false, `${type}: data ${JSON.stringify(probe)} should be rejected by ${w.def}`);
      const errs = validate.errors ?? [];
      assert.ok(errs.every((e) => e.instancePath.startsWith('/body/data') || e.keyword === 'if'), `${type}: ${JSON.stringify(errs)}`);
      const fired = errs.filter((e) => e.keyword === 'if').map((e) => e.schemaPath);
      assert.deepEqual(fired, [`#/allOf/${i}/if`], `${type}: only the entry applying ${w.def} fires`);
      assert.notEqual(validateObservationData(type, probe), null, `${type}: helper agrees`);
    }
  });
  assert.equal(validateObservationData('sensor.unwired_probe.x', {}), 'event type sensor.unwired_probe.x has no data schema in docs/events.schema.json');
});

test('agent-side emitters (netwatch detectors, correlator, command handler) produce data the schema accepts', async () => {
  const seen: Observation[] = [];
  const T = 1_900_000_000_000;
  const cfg = netwatchConfigSchema.parse({ neighbours: { goneAfterSeconds: 60, flapAlarmCount: 2, flapWindowSeconds: 60 }, traffic: { floorBytesPerSecond: 100_000, floorPacketsPerSecond: 1e9, minSamples: 5 }, scan: { distinctTargets: 10, outRstsPerInterval: 50 } });
  const nd = new NeighbourDetector(cfg, emptyNeighbourState());
  const sight = (ip: string, mac: string) => ({ ip, mac, iface: 'eth0', via: 'poll' as const });
  nd.sighting(sight('10.0.0.10', 'aa:00:00:00:00:01'), T, true);
  seen.push(...nd.sighting(sight('10.0.0.11', '02:00:00:00:00:02'), T + 1, false));
  seen.push(...nd.sighting(sight('10.0.0.10', '02:00:00:00:00:02'), T + 2, false));
  seen.push(...nd.sweep(T + 120_000, false));
  seen.push(...nd.sighting(sight('10.0.0.12', '02:00:00:00:00:02'), T + 130_000, false));
  const cd = new ClaimDetector(cfg, emptyClaimState(), (mac) => nd.ipsOf(mac));
  cd.identify({ ips: new Map([['10.0.0.1', '02:00:00:00:00:01']]), macs: new Set(['02:00:00:00:00:01']), routers: new Set(['10.0.0.254']) });
  seen.push(...cd.fromArp({ kind: 'arp', op: 'reply', ethSrc: '02:00:00:00:00:02', ethDst: 'ff:ff:ff:ff:ff:ff', senderIp: '10.0.0.1', senderMac: '02:00:00:00:00:02', targetIp: '' }, 'eth0', T));
  cd.fromNeighbour({ ip: '10.0.0.254', mac: '02:00:00:00:00:fe', iface: 'eth0', via: 'poll' }, T);
  seen.push(...cd.fromNeighbour({ ip: '10.0.0.254', mac: '02:00:00:00:00:02', iface: 'eth0', via: 'stream' }, T + 1));
  const cs = new ScanDetector(cfg, emptyScanState());
  for (let p = 1; p <= 12; p++) cs.probe({ src: '10.0.0.77', dst: '10.0.0.1', dport: p, proto: 'tcp' }, T);
  seen.push(...cs.evaluate(T, 'eth0'));
  const td = new TrafficDetector(cfg, emptyTrafficState());
  let rx = 0;
  for (let i = 0; i < 22; i++) {
    rx += i === 21 ? 5_000_000 : i % 2 === 0 ? 1000 : 50_000;
    seen.push(...td.sample({ iface: 'eth0', rxBytes: rx, rxPackets: rx / 100, txBytes: 0, txPackets: 0 }, T + i * 1000, i < 10));
  }
  const ld = new ListenerDetector(cfg, emptyListenerState());
  seen.push(...ld.scan([{ proto: 'tcp', localAddr: '0.0.0.0', localPort: 4444, remoteAddr: '0.0.0.0', remotePort: 0, state: 10, uid: 0, inode: 9, pid: 42, process: 'nc' }], T, false));
  seen.push(...ld.scan([{ proto: 'udp6', localAddr: '::', localPort: 5353, remoteAddr: '::', remotePort: 0, state: 7, uid: 0, inode: 10, pid: null, process: null }], T, false));
  const sd = new ScanDetector(cfg, emptyScanState());
  seen.push(...sd.fromConntrack(Array.from({ length: 12 }, (_, i) => ({ l4: 'tcp', src: '10.0.0.66', dst: '10.0.0.1', dport: 20 + i })), T, new Set(), 'eth0'));
  const snmp = (rsts: number) => ({ Tcp: { OutRsts: rsts }, Udp: { NoPorts: 3 } });
  sd.fromSnmp(snmp(100), T, 'eth0');
  seen.push(...sd.fromSnmp(snmp(400), T + 2000, 'eth0'));

  // Correlator through a real Pipeline: open, update, then close on the sweep.
  let now = T;
  const out: SealedEvent[] = [];
  const chain = testChain();
  const p = new Pipeline({ chain, sink: { enqueue: (e) => void out.push(e) }, log: pino({ level: 'silent' }), gw: 'gw-t', checkpoint: { everyEvents: 1000, everySeconds: 3600 }, overflowCoalesceMs: 0 });
  p.sinkSealed(chain.newEpoch('fresh', null));
  const parsed = correlateConfigSchema.parse({});
  const corr = createCorrelator({ rules: rulesFromConfig(parsed), assets: parsed.assets, log: pino({ level: 'silent' }), clock: { now: () => now, mono: () => now - T } });
  p.addListener(corr.listener);
  p.ingest('osdp', { type: 'access.door.forced', severity: 'alarm', device: 'door-1', data: { reader: 'door-1', address: 1, input: 0 } });
  for (const o of seen.filter((x) => x.type === 'network.device.new')) p.ingest('netwatch', o);
  p.ingest('netwatch', { type: 'network.device.new', severity: 'warning', device: '02:00:00:00:00:09', data: { mac: '02:00:00:00:00:09', ip: '10.0.0.9', interface: 'eth0', oui: '02:00:00', via: 'stream', knownStations: 3 } });
  now += 3 * 3600_000;
  for (const o of corr.sweep()) p.ingest('correlate', o);
  corr.stop();

  // Commands: no key → rejected; then a keyed handler accepts and executes (ok and failing).
  const platform = generateKeyPairSync('ed25519');
  const dir = tempDir('gw-schema-cmd-');
  const base = { maxSkewMs: 30_000, pipeline: p, publishResult: () => undefined, log: pino({ level: 'silent' }) };
  const incoming = (name: string, env: object) => ({ name, topic: `cmd/${name}`, payload: Buffer.from(JSON.stringify(env)) });
  createCommandHandler({ ...base, publicKey: null, seen: new SeenIdStore(join(dir, 'a.json')), deviceCommand: async () => ({ ok: true }), builtins: {} })(incoming('ping', signCommand(platform.privateKey, 'ping')));
  const h = createCommandHandler({
    ...base,
    publicKey: platform.publicKey,
    seen: new SeenIdStore(join(dir, 'b.json')),
    deviceCommand: async () => {
      throw new Error('reader offline');
    },
    builtins: { ping: async () => ({ ok: true, detail: 'pong' }) },
  });
  h(incoming('ping', signCommand(platform.privateKey, 'ping')));
  h(incoming('led', signCommand(platform.privateKey, 'led', { color: 'red' }, { target: 'rdr-1' })));
  await new Promise((r) => setImmediate(r));
  p.system('system.config.rejected', 'warning', { error: 'drivers.osdp[0].port: required' });
  p.system('system.config.reloaded', 'notice', { started: ['osdp:bus2'], stopped: [], restarted: ['modbus:m1'], needRestart: ['mqtt'] });

  for (const o of seen) out.push(chain.seal({ ...o, driver: 'netwatch' }));
  const validate = validator();
  const types = new Set<string>();
  for (const e of out) {
    assert.ok(validate(JSON.parse(e.payload)), `${e.body.type}: ${JSON.stringify(validate.errors)} data=${JSON.stringify(e.body.data)}`);
    assert.equal(validateObservationData(e.body.type, e.body.data), null);
    types.add(e.body.type);
  }
  const want = ['network.device.new', 'network.mac.changed', 'network.station.new', 'network.gateway.claimed', 'network.device.gone', 'network.traffic.spike', 'network.listener.new', 'network.scan.suspected', 'incident.intrusion.rogue_device', 'system.command.rejected', 'system.command.accepted', 'system.command.executed', 'system.config.rejected', 'system.config.reloaded'];
  for (const t of want) assert.ok(types.has(t), `${t} not produced (got ${[...types].join(', ')})`);
  assert.deepEqual(out.filter((e) => e.body.type === 'network.gateway.claimed').map((e) => e.body.data.role), ['self', 'router']);
  assert.ok(out.some((e) => e.body.type === 'network.scan.suspected' && e.body.data.method === 'capture'), 'a capture scan verdict validated');
  const phases = out.filter((e) => e.body.type.startsWith('incident.')).map((e) => e.body.data.phase);
  assert.ok(phases.includes('open') && phases.includes('close'), `incident phases ${phases.join(',')}`);
});

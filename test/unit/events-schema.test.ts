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
import { testChain } from '../helpers/chain.js';

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
  for (let i = 0; i < 12; i++) p.ingest('synthetic', { type: 'sensor.reading', severity: 'info', device: 'a', data: { value: i } });
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

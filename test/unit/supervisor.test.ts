// The supervisor owns retries and isolation (docs/contracts.md §Driver seam), exercised with real
// driver instances registered through a real manifest-shaped object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Supervisor } from '../../agent/supervisor.js';
import type { Observation } from '../../agent/events/types.js';
import { systemClock } from '../../agent/clock.js';
import { waitFor } from '../helpers/mqtt-probe.js';
import { tempDir } from '../helpers/chain.js';

const log = pino({ level: 'silent' });

function sup(emitted: Array<[string, Observation]>) {
  return new Supervisor({ log, clock: systemClock, emit: (d, o) => void emitted.push([d, o]), backoff: { minMs: 20, maxMs: 80 }, startTimeoutMs: 2000, stateDir: tempDir() });
}

test('a failing driver is retried with backoff while another runs; a config error is not retried', async () => {
  const emitted: Array<[string, Observation]> = [];
  const s = sup(emitted);
  await s.startAll([
    { kind: 'synthetic', index: 0, id: 'ok', config: { id: 'ok', intervalMs: 10, type: 'sensor.reading', severity: 'info', count: 0, padBytes: 0 } },
    // An unknown kind is a configuration problem: failed at once, never retried.
    { kind: 'nope', index: 0, id: 'bad', config: { id: 'bad' } },
  ]);
  await waitFor(() => emitted.length >= 3, 'events from the healthy driver', 5000);
  const st = Object.fromEntries(s.status().map((x) => [x.id, x]));
  assert.equal(st.ok.state, 'running');
  assert.equal(st.bad.state, 'failed');
  assert.equal(st.bad.attempts, 1);
  assert.match(st.bad.lastError ?? '', /unknown driver kind "nope"/);
  assert.ok(emitted.every(([driver, o]) => driver === 'synthetic' && o.device === 'ok'));
  const diag = await s.diagnose();
  const badDiag = diag.find((d) => d.instance === 'bad');
  assert.equal(badDiag?.verdict, 'fail');
  assert.ok(badDiag?.hint);
  await s.stopAll();
  const n = emitted.length;
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(emitted.length, n, 'nothing emitted after stop');
});

test('a driver whose start keeps failing (missing serial port) is retried with backoff, never given up', async () => {
  const emitted: Array<[string, Observation]> = [];
  const s = sup(emitted);
  // A modbus bus pointing at a serial port that does not exist: retryable, keeps retrying.
  await s.add({
    kind: 'modbus',
    index: 0,
    id: 'rtu',
    config: (await import('../../drivers/modbus/config.js')).modbusConfigSchema.parse({
      id: 'rtu',
      transport: { type: 'rtu', path: '/dev/does-not-exist-gatewarden' },
      units: [{ id: 'u1', unitId: 1, points: [{ name: 'p', table: 'holding', address: 0, type: 'uint16' }] }],
    }),
  });
  await waitFor(() => (s.status()[0]?.attempts ?? 0) >= 3, 'three attempts', 10_000);
  assert.equal(s.status()[0].state === 'backoff' || s.status()[0].state === 'starting', true);
  await s.stopAll();
  assert.equal(s.status().length, 0);
});

test('refusals (spool backlog full) are counted as refused, not as driver errors; contract breaches as rejected and errors', async () => {
  const { ObservationRefusedError } = await import('../../agent/admission.js');
  let n = 0;
  const s = new Supervisor({
    log,
    clock: systemClock,
    // The pipeline as the daemon wires it: every fifth emit a contract breach, every other one refused for lack of room.
    emit: (driver, o) => {
      n += 1;
      if (n % 5 === 0) throw new Error(`observation.type "${o.type}" breaks the contract`);
      if (n % 2 === 0) throw new ObservationRefusedError(driver, o.type, 10, 10);
    },
    backoff: { minMs: 20, maxMs: 80 },
    startTimeoutMs: 2000,
    stateDir: tempDir(),
  });
  await s.add({ kind: 'synthetic', index: 0, id: 'gen', config: { id: 'gen', intervalMs: 1, type: 'sensor.reading', severity: 'info', count: 40, padBytes: 0 } });
  await waitFor(() => n >= 40, 'forty emits', 5000);
  const [st] = s.status();
  const upTo40 = Array.from({ length: 40 }, (_, i) => i + 1);
  const rejected = upTo40.filter((k) => k % 5 === 0).length;
  const refused = upTo40.filter((k) => k % 5 !== 0 && k % 2 === 0).length;
  assert.deepEqual(st.refused, { 'sensor.reading': refused });
  assert.deepEqual(st.rejected, { 'sensor.reading': rejected });
  assert.equal(st.errors, rejected, 'only contract breaches are driver errors');
  assert.match(st.lastError ?? '', /breaks the contract/);
  assert.equal(st.state, 'running');
  await s.stopAll();
});

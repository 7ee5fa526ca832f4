// Online and degraded are separate facts (drivers/types.ts deviceOnline): a Modbus unit that
// answers but has one point with a standing exception is published on its retained `dev/`
// topic as online and degraded, never `online: false` after `sensor.device.online`. Real
// pymodbus slave, the real supervisor and the daemon's DeviceStatePublisher.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { systemClock } from '../../agent/clock.js';
import { DeviceStatePublisher } from '../../agent/device-state.js';
import type { Observation } from '../../agent/events/types.js';
import { Supervisor } from '../../agent/supervisor.js';
import { tempDir } from '../helpers/chain.js';
import { startStandingExceptionPeer, waitFor } from './modbus-harness.js';

test('a unit with one standing exception: dev/ says online: true, state: degraded', async (t) => {
  const { config } = await startStandingExceptionPeer(t);
  const events: Array<{ driver: string; obs: Observation }> = [];
  const sup = new Supervisor({ log: pino({ level: 'silent' }), clock: systemClock, stateDir: tempDir('gw-mbdev-'), emit: (driver, obs) => void events.push({ driver, obs }) });
  const published: Array<{ device: string; state: Record<string, unknown> }> = [];
  const dev = new DeviceStatePublisher({ supervisor: sup, forwarder: { publishDevice: (device, state) => void published.push({ device, state }) }, intervalMs: 50 });
  t.after(async () => {
    dev.stop();
    await sup.stopAll();
  });
  await sup.add({ kind: 'modbus', index: 0, id: 'bus-x', config });
  dev.start();
  await waitFor(() => events.some((e) => e.obs.type === 'sensor.modbus.exception'), 'the standing exception');
  await waitFor(() => published.some((p) => p.device === 'pm-1' && p.state.state === 'degraded'), 'a degraded dev/ state');
  assert.ok(events.some((e) => e.obs.type === 'sensor.device.online' && e.obs.device === 'pm-1'), 'sensor.device.online was emitted');
  assert.equal(events.filter((e) => e.obs.type === 'sensor.device.offline').length, 0);
  const last = published.filter((p) => p.device === 'pm-1').at(-1)!;
  assert.equal(last.state.online, true, 'answering with one bad point is online');
  assert.equal(last.state.state, 'degraded');
  assert.equal(last.state.driver, 'modbus');
  for (const p of published.filter((x) => x.device === 'pm-1')) assert.equal(p.state.online, p.state.state === 'online' || p.state.state === 'degraded', JSON.stringify(p.state));
});

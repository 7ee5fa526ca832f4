// The "door forced + new device → one incident referencing both" bullet through a real
// Pipeline (agent/pipeline.ts) with a collecting sink: the OSDP-shaped door event and a
// network.device.new recorded from the namespace test (test/integration/netwatch-lan.test.ts)
// go in through ingest(); the correlator is a pipeline listener; the incident comes out
// sealed, right after the event that completed it, in the same chain.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Observation } from '../../agent/events/types.js';
import { correlatingPipeline } from '../helpers/correlating-pipeline.js';

/** As emitted by netwatch in the netns test (intruder appearing on br0). */
const RECORDED_DEVICE_NEW: Observation = {
  type: 'network.device.new',
  severity: 'warning',
  device: '02:00:00:00:66:01',
  data: { mac: '02:00:00:00:66:01', ip: '10.77.0.20', interface: 'br0', oui: '02:00:00', via: 'stream', knownStations: 1 },
};

test('door forced then a new device, through a real Pipeline → exactly one rogue_device incident', () => {
  const { pipe, sunk, corr } = correlatingPipeline();

  const door = pipe.ingest('osdp', { type: 'access.door.forced', severity: 'alarm', device: 'door-1', data: { reader: 0 } });
  pipe.ingest('modbus', { type: 'sensor.value.reading', severity: 'info', device: 'temp-1', data: { v: 21.5 } });
  const nd = pipe.ingest('netwatch', RECORDED_DEVICE_NEW);

  const incidents = sunk.filter((e) => e.body.type.startsWith('incident.'));
  assert.equal(incidents.length, 1);
  const inc = incidents[0].body;
  assert.equal(inc.type, 'incident.intrusion.rogue_device');
  assert.equal(inc.src.driver, 'correlate');
  assert.equal(inc.seq, nd.body.seq + 1, 'sealed right after the event that completed it');
  const refs = inc.data.events as Array<{ epoch: string; seq: number; type: string }>;
  assert.deepEqual(refs.map((r) => [r.epoch, r.seq, r.type]), [
    [door.body.epoch, door.body.seq, 'access.door.forced'],
    [nd.body.epoch, nd.body.seq, 'network.device.new'],
  ]);
  // The referenced seqs are really those events in the sealed chain.
  for (const r of refs) assert.equal(sunk.find((e) => e.body.seq === r.seq)?.body.type, r.type);
  corr.stop();
});

// Observations refused by the pipeline are visible in metrics per driver instance and type.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderMetrics, type MetricsSnapshot } from '../../agent/metrics.js';

test('gatewarden_observations_rejected_total: one sample per instance and type', () => {
  const s: MetricsSnapshot = {
    spool: { depth: 0, unsent: 0, oldestUnsentAgeMs: null, bytes: 0, quotaBytes: 1, droppedEvents: 0, sentTotal: 0 },
    acceptedTotal: 0,
    mqtt: { connected: false, reconnects: 0 },
    devices: [],
    driverErrors: [],
    clockSync: 'none',
    observationsRejected: [
      { driver: 'modbus', instance: 'bus-1', type: 'sensor.threshold.alarm', count: 3 },
      { driver: 'modbus', instance: 'bus-1', type: 'sensor.reading', count: 1 },
    ],
  } as MetricsSnapshot;
  const text = renderMetrics(s, { rss: 1, cpuSeconds: 0, startTime: 0 });
  assert.match(text, /^gatewarden_observations_rejected_total\{driver="modbus",instance="bus-1",type="sensor.threshold.alarm"\} 3$/m);
  assert.match(text, /^gatewarden_observations_rejected_total\{driver="modbus",instance="bus-1",type="sensor.reading"\} 1$/m);
});

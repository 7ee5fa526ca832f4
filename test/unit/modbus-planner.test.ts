// Read planning: merging, protocol limits, gaps, overlap, and splitting after exception 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_LIMITS, planReads, splitRequest, type PlanPoint } from '../../drivers/modbus/planner.js';

const hr = (index: number, address: number, width = 1): PlanPoint => ({ index, table: 'holding', address, width });

test('adjacent and near points of one table merge into one read', () => {
  const r = planReads([hr(0, 10, 2), hr(1, 0), hr(2, 3, 4), hr(3, 20)]);
  assert.equal(r.length, 1);
  assert.deepEqual({ fc: r[0].fc, address: r[0].address, count: r[0].count }, { fc: 3, address: 0, count: 21 });
  assert.deepEqual(r[0].points.map((p) => [p.index, p.offset]), [[1, 0], [2, 3], [0, 10], [3, 20]]);
});

test('a gap wider than maxGap starts a new read; overlapping points share one', () => {
  const r = planReads([hr(0, 0), hr(1, 11), hr(2, 30, 2), hr(3, 31)], { ...PROTOCOL_LIMITS, maxGapRegisters: 10 });
  assert.deepEqual(r.map((x) => [x.address, x.count]), [[0, 12], [30, 2]]);
  assert.deepEqual(r[1].points.map((p) => p.index), [2, 3]);
  const tight = planReads([hr(0, 0), hr(1, 2)], { ...PROTOCOL_LIMITS, maxGapRegisters: 0 });
  assert.equal(tight.length, 2);
});

test('125 registers / 2000 bits per read (spec §6.1–6.4) and configured lower limits', () => {
  const many = Array.from({ length: 300 }, (_, i) => hr(i, i));
  assert.deepEqual(planReads(many).map((x) => x.count), [125, 125, 50]);
  const bits = Array.from({ length: 4100 }, (_, i): PlanPoint => ({ index: i, table: 'coil', address: i, width: 1 }));
  assert.deepEqual(planReads(bits).map((x) => [x.fc, x.count]), [[1, 2000], [1, 2000], [1, 100]]);
  assert.deepEqual(planReads(many.slice(0, 20), { ...PROTOCOL_LIMITS, maxRegisters: 8 }).map((x) => x.count), [8, 8, 4]);
  // a 2-register value never straddles two reads
  const r = planReads([hr(0, 0, 2), hr(1, 123, 2)], PROTOCOL_LIMITS);
  assert.deepEqual(r.map((x) => [x.address, x.count]), [[0, 2], [123, 2]]);
});

test('tables never mix and map to their function codes', () => {
  const r = planReads([
    { index: 0, table: 'input', address: 0, width: 1 },
    { index: 1, table: 'holding', address: 0, width: 1 },
    { index: 2, table: 'discrete', address: 0, width: 1 },
    { index: 3, table: 'coil', address: 1, width: 1 },
  ]);
  assert.deepEqual(r.map((x) => [x.table, x.fc]), [['coil', 1], ['discrete', 2], ['holding', 3], ['input', 4]]);
});

test('splitRequest isolates every point (same-range points stay together)', () => {
  const [req] = planReads([hr(0, 0), hr(1, 50, 2), hr(2, 50, 2)], { ...PROTOCOL_LIMITS, maxGapRegisters: 60 });
  const widths = [1, 2, 2];
  const parts = splitRequest(req, (i) => widths[i]);
  assert.deepEqual(parts.map((p) => [p.address, p.count, p.points.map((x) => x.index)]), [[0, 1, [0]], [50, 2, [1, 2]]]);
});

test('planning refuses points that cannot be read at all', () => {
  assert.throws(() => planReads([hr(0, 65535, 2)]), /past address 65535/);
  assert.throws(() => planReads([hr(0, 0, 126)]), /more than one read allows/);
});

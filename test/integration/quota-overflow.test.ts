// docs/contracts.md §Spool quota: with the spool forced small, the signed system.spool.overflow events
// name exactly the dropped seq ranges, the verifier accounts for every gap with them, and
// evidence (access.*) is kept over low-severity readings. Real chain, real SQLite file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pino } from 'pino';
import { Pipeline } from '../../agent/pipeline.js';
import { openSqliteSpool } from '../../agent/spool/sqlite-spool.js';
import { SpoolWriter } from '../../agent/spool/writer.js';
import { verifyEvents } from '../../agent/verify/index.js';
import { tempDir, testChain, testKeys } from '../helpers/chain.js';
import { allSpoolRows } from '../helpers/daemon.js';

test('quota forced small: overflow events name the exact dropped ranges; evidence kept', async () => {
  const dir = tempDir();
  const path = join(dir, 'spool.db');
  const keys = testKeys(dir);
  const { spool } = openSqliteSpool({ path, quotaBytes: 400_000, retentionHours: 24 });
  const chain = testChain({ keys });
  let pipeline!: Pipeline;
  const writer = new SpoolWriter({ spool, maxEvents: 100, maxDelayMs: 2, onDropped: (r) => pipeline.onDropped(r) });
  pipeline = new Pipeline({ chain, sink: writer, log: pino({ level: 'silent' }), gw: 'gw-t', checkpoint: { everyEvents: 500, everySeconds: 3600 }, overflowCoalesceMs: 0 });
  pipeline.sinkSealed(chain.newEpoch('fresh', null));

  const access: number[] = [];
  for (let i = 0; i < 3000; i++) {
    if (i % 10 === 0) {
      const e = pipeline.ingest('osdp', { type: 'access.card.read', severity: 'notice', device: 'reader-1', data: { cn: i, fc: 1 } });
      access.push(e.body.seq);
    } else {
      pipeline.ingest('modbus', { type: 'sensor.reading', severity: 'info', device: 'temp-1', data: { value: i, pad: 'x'.repeat(200) } });
    }
    if (i % 100 === 99) await writer.flush();
  }
  await writer.flush();
  pipeline.close();
  while (pipeline.hasPendingDrops) {
    pipeline.announceDrops();
    await writer.flush();
  }
  spool.close();

  const rows = allSpoolRows(path);
  const kept = new Set(rows.map((r) => r.seq));
  const head = chain.head.seq;
  const dropped = [];
  for (let s = 1; s <= head; s++) if (!kept.has(s)) dropped.push(s);
  assert.ok(dropped.length > 1000, `the quota really bit: ${dropped.length} dropped`);

  // Every access event survived; every dropped one was a low-severity reading.
  for (const s of access) assert.ok(kept.has(s), `evidence seq ${s} was dropped`);

  // The overflow events, taken together, name exactly the dropped seqs — no more, no less.
  const declared = new Set<number>();
  const overflow = rows.filter((r) => r.type === 'system.spool.overflow');
  assert.ok(overflow.length >= 1);
  for (const r of overflow) {
    const body = JSON.parse(r.payload).body;
    for (const d of body.data.dropped as Array<{ epoch: string; from: number; to: number }>) {
      assert.equal(d.epoch, chain.head.epoch);
      for (let s = d.from; s <= d.to; s++) {
        assert.ok(!declared.has(s), `seq ${s} declared twice`);
        declared.add(s);
      }
    }
  }
  assert.deepEqual([...declared].sort((a, b) => a - b), dropped);

  // The verifier accounts for the gaps with the declarations: a clean report.
  const report = verifyEvents(rows.map((r) => r.payload), { pubkeys: [keys.pubkey] });
  assert.equal(report.ok, true, JSON.stringify(report.chains.flatMap((c) => c.findings).slice(0, 5)));
  assert.equal(report.chains[0].declaredDropped, dropped.length);
});

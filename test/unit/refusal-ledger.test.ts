// Refusals survive a crash (agent/spool/refusal-ledger.ts, agent/refusal-keeper.ts): the
// fixed-size ledger beside the spool holds the failure episode while writes fail, the
// sealed write-failure record until it commits, and a new event path over the same files
// declares what a "killed" one left. Real SQLite spool whose append fails as on a full disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { createEventPath } from '../../agent/event-path.js';
import { openSqliteSpool } from '../../agent/spool/sqlite-spool.js';
import { LEDGER_FILE, readLedger, RefusalLedger } from '../../agent/spool/refusal-ledger.js';
import type { Spool } from '../../agent/spool/types.js';
import { systemClock } from '../../agent/clock.js';
import { tempDir, testKeys } from '../helpers/chain.js';
import { allSpoolRows } from '../helpers/daemon.js';
import { validateObservationData } from '../helpers/event-schema.js';

const log = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (cond: () => boolean, what: string, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(5);
  }
};

function openPath(dir: string, keys: ReturnType<typeof testKeys>) {
  const path = join(dir, 'spool.db');
  const { spool: real } = openSqliteSpool({ path, quotaBytes: 64 * 1024 * 1024, retentionHours: 24 });
  const disk = { full: false };
  const spool: Spool = Object.create(real, {
    append: {
      value: (events: Parameters<Spool['append']>[0]) => {
        if (disk.full) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
        return real.append(events);
      },
    },
  });
  const p = createEventPath({
    site: 's', gw: 'g', keys, head: real.head(), clock: systemClock, spool,
    batch: { maxEvents: 50, maxDelayMs: 1 }, checkpoint: { everyEvents: 1000, everySeconds: 3600 },
    signingWorker: false, log, maxBacklogEvents: 100, ledgerDir: dir,
  });
  if (!real.head()) p.pipeline.sinkSealed(p.chain.newEpoch('fresh', null));
  const isCommitted = (epoch: string, seq: number): boolean => {
    const h = real.head();
    return !!h && h.epoch === epoch && h.seq >= seq;
  };
  return { path, real, disk, p, isCommitted };
}

function flood(p: ReturnType<typeof openPath>['p'], n: number): number {
  let refused = 0;
  for (let i = 0; i < n; i++) {
    try {
      p.pipeline.ingest(i % 2 ? 'modbus' : 'osdp', { type: i % 2 ? 'sensor.reading' : 'access.door.forced', severity: 'notice', device: 'd', data: { i } });
    } catch {
      refused++;
    }
  }
  return refused;
}

test('kill while writes fail: the ledger keeps the refusals; the next start declares them (recovered) and clears it once committed', async () => {
  const dir = tempDir('gw-ledger-');
  const keys = testKeys(dir);
  const a = openPath(dir, keys);
  assert.equal(statSync(join(dir, LEDGER_FILE)).size, 128 * 1024, 'laid at its full size at start');
  a.p.pipeline.ingest('modbus', { type: 'sensor.reading', severity: 'info', device: 'd', data: {} });
  await a.p.flush();

  a.disk.full = true;
  a.p.pipeline.ingest('modbus', { type: 'sensor.reading', severity: 'info', device: 'd', data: {} });
  await until(() => a.p.writer.failing, 'writes fail');
  const refused = flood(a.p, 500) + flood(a.p, 300);
  assert.ok(refused > 600, `refused ${refused}`);
  await sleep(1300); // one save interval
  const saved = readLedger(dir);
  assert.ok(saved, 'the ledger holds the episode');
  assert.equal(saved.records.length, 1);
  assert.equal(saved.records[0].seq, null, 'no seq yet: the episode in progress');
  assert.equal((saved.records[0].data.refused as { count: number }).count, refused);
  // "kill -9": the process ends without recovering; nothing of it is closed or flushed.
  a.p.writer.abandon('test: killed');
  a.real.close();

  const b = openPath(dir, keys);
  const sealed = b.p.declareLeftover(b.isCommitted);
  assert.equal(sealed, 1);
  await b.p.flush();
  const wf = allSpoolRows(b.path).filter((r) => r.type === 'system.spool.write_failed');
  assert.equal(wf.length, 1, 'one write-failure record');
  const data = JSON.parse(wf[0].payload).body.data;
  assert.equal(validateObservationData('system.spool.write_failed', data), null, 'valid against docs/events.schema.json');
  assert.equal(data.refused.count, refused, 'every refusal declared');
  assert.equal(data.recovered.afterCrash, true);
  assert.equal(data.recovered.pid, process.pid);
  assert.equal(data.error.code, 'SQLITE_FULL');
  assert.deepEqual(readLedger(dir)?.records, [], 'cleared once the record committed');
  // A third start finds nothing owed.
  await b.p.close();
  b.real.close();
  const c = openPath(dir, keys);
  assert.equal(c.p.declareLeftover(c.isCommitted), 0);
  await c.p.close();
  c.real.close();
  console.log(`ledger: ${refused} refusals saved while failing, declared after the restart (recovered), cleared after commit`);
});

test('recovery in-process: the sealed record stays owed until committed; a record the spool committed is not declared twice', async () => {
  const dir = tempDir('gw-ledger-');
  const keys = testKeys(dir);
  const a = openPath(dir, keys);
  await a.p.flush();
  a.disk.full = true;
  a.p.pipeline.ingest('modbus', { type: 'sensor.reading', severity: 'info', device: 'd', data: {} });
  await until(() => a.p.writer.failing, 'writes fail');
  const refused = flood(a.p, 300);
  a.disk.full = false;
  a.p.writer.retryNow();
  await until(() => !a.p.writer.failing, 'writes succeed');
  await a.p.flush();
  assert.deepEqual(readLedger(dir)?.records, [], 'cleared after the declaration committed');
  // A ledger left naming that (committed) record is not declared again at the next start.
  const wf = allSpoolRows(a.path).find((r) => r.type === 'system.spool.write_failed')!;
  const body = JSON.parse(wf.payload).body;
  assert.equal(body.data.refused.count, refused);
  const l = RefusalLedger.open(dir).ledger;
  l.save([{ epoch: body.epoch, seq: body.seq, data: body.data }]);
  l.close();
  await a.p.close();
  a.real.close();
  const b = openPath(dir, keys);
  assert.equal(b.p.declareLeftover(b.isCommitted), 0, 'already committed: not declared twice');
  await b.p.close();
  b.real.close();
});

test('ledger file: a torn newer slot leaves the older one; many tallies are trimmed, totals exact', () => {
  const dir = tempDir('gw-ledger-');
  const { ledger } = RefusalLedger.open(dir);
  const tallies = Array.from({ length: 2000 }, (_, i) => ({ driver: `d${i}`, type: 'sensor.reading'.padEnd(60, 'x'), count: 1, first: 'x', last: 'y' }));
  assert.ok(ledger.save([{ epoch: null, seq: null, data: { refused: { count: 2000, byDriverType: tallies, omitted: 0 } } }]));
  const one = readLedger(dir)!;
  const r = one.records[0].data.refused as { count: number; byDriverType: unknown[]; omitted: number };
  assert.equal(r.count, 2000);
  assert.equal(r.byDriverType.length + r.omitted, 2000, 'trimmed tallies are counted in omitted');
  assert.ok(ledger.save([{ epoch: 'E', seq: 7, data: { n: 2 } }]));
  ledger.close();
  assert.equal(readLedger(dir)!.records[0].seq, 7);
  // Tear the newest slot (generation 3 → slot 1): the reader falls back to the older one.
  const file = join(dir, LEDGER_FILE);
  const buf = readFileSync(file);
  buf.write('garbage', 64 * 1024 + 30);
  writeFileSync(file, buf);
  assert.equal(readLedger(dir)!.records[0].seq, null, 'the older intact slot');
  assert.equal(statSync(file).size, 128 * 1024);
});

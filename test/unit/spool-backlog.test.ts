// Bounds of the event path while the spool cannot write (agent/admission.ts): at most
// spool.maxBacklogEvents sealed events wait; beyond it observations are refused before
// they get a seq (counted per driver and type), agent records have a reserve, and once
// writes succeed a signed system.spool.write_failed declares what was refused. The spool
// is a real SQLite file whose append is made to fail the way a full disk fails it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { createEventPath } from '../../agent/event-path.js';
import { ObservationRefusedError } from '../../agent/admission.js';
import { openSqliteSpool } from '../../agent/spool/sqlite-spool.js';
import { SpaceReserve, RESERVE_FILE, isDiskFull } from '../../agent/spool/reserve.js';
import type { Spool } from '../../agent/spool/types.js';
import { verifyEvents } from '../../agent/verify/index.js';
import { systemClock } from '../../agent/clock.js';
import { tempDir, testKeys } from '../helpers/chain.js';
import { allSpoolRows } from '../helpers/daemon.js';
import { validateObservationData } from '../helpers/event-schema.js';
import { rawPublicKey } from '../../agent/chain/keys.js';
import { createPublicKey } from 'node:crypto';

const log = pino({ level: 'silent' });

function fullDiskError(): Error {
  return Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
}

function setup(maxBacklogEvents: number, signingWorker: boolean, reserveBytes = 0) {
  const dir = tempDir();
  const path = join(dir, 'spool.db');
  const keys = testKeys(dir);
  const { spool: real } = openSqliteSpool({ path, quotaBytes: 64 * 1024 * 1024, retentionHours: 24 });
  const disk = { full: false, failures: 0 };
  // The real spool, whose append fails as SQLite's does on a full filesystem while disk.full.
  const spool: Spool = Object.create(real, {
    append: {
      value: (events: Parameters<Spool['append']>[0]) => {
        if (disk.full) {
          disk.failures++;
          throw fullDiskError();
        }
        return real.append(events);
      },
    },
  });
  const p = createEventPath({
    site: 's',
    gw: 'g',
    keys,
    head: null,
    clock: systemClock,
    spool,
    batch: { maxEvents: 50, maxDelayMs: 1 },
    checkpoint: { everyEvents: 1000, everySeconds: 3600 },
    signingWorker,
    log,
    maxBacklogEvents,
    reserve: reserveBytes > 0 ? { dir, bytes: reserveBytes } : undefined,
  });
  p.pipeline.sinkSealed(p.chain.newEpoch('fresh', null));
  const pub = rawPublicKey(createPublicKey(keys.privateKey)).toString('base64url');
  return { dir, path, real, disk, p, pub };
}

const until = async (cond: () => boolean, what: string, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

for (const signingWorker of [false, true]) {
  test(`failing writes: backlog bounded, refusals before seal, declared once writes succeed (signing worker ${signingWorker})`, async () => {
    const max = 200;
    const { path, real, disk, p, pub } = setup(max, signingWorker);
    for (let i = 0; i < 30; i++) p.pipeline.ingest('modbus', { type: 'sensor.reading', severity: 'info', device: 'd1', data: { i } });
    await p.flush();
    const committedBefore = real.head()!.seq;

    disk.full = true;
    let accepted = 0;
    let refused = 0;
    let maxUncommitted = 0;
    for (let i = 0; i < 3000; i++) {
      const type = i % 3 === 0 ? 'access.door.forced' : 'sensor.reading';
      const driver = i % 3 === 0 ? 'osdp' : 'modbus';
      try {
        p.pipeline.ingest(driver, { type, severity: 'notice', device: 'd1', data: { i } });
        accepted++;
      } catch (e) {
        assert.ok(e instanceof ObservationRefusedError, `refusal is classified: ${(e as Error).message}`);
        assert.equal((e as ObservationRefusedError).code, 'SPOOL_BACKLOG_FULL');
        refused++;
      }
      maxUncommitted = Math.max(maxUncommitted, p.admission.uncommitted);
      if (i % 100 === 0) await new Promise((r) => setTimeout(r, 2)); // let the writer fail and retry
    }
    assert.ok(disk.failures > 0, 'appends really failed');
    assert.equal(p.writer.writeState.state, 'failing');
    assert.equal(p.writer.writeState.lastError?.code, 'SQLITE_FULL');
    assert.ok(refused > 2000, `most observations refused (${refused})`);
    assert.ok(maxUncommitted <= max, `uncommitted ${maxUncommitted} stayed within maxBacklogEvents ${max}`);
    // Refused observations took no seq: the chain advanced by exactly what was accepted.
    assert.equal(p.chain.head.seq, committedBefore + accepted);
    assert.equal(real.head()!.seq, committedBefore, 'nothing committed while failing');
    assert.equal(p.pipeline.counters.refused, refused);

    // Agent records: a reserve above the limit, then refused (counted) instead of growing memory.
    let agentOk = 0;
    for (let i = 0; i < 400; i++) if (p.pipeline.system('system.config.reloaded', 'notice', { i })) agentOk++;
    assert.equal(p.admission.uncommitted, max + p.admission.reserveEvents, 'agent records fill exactly the reserve');
    assert.ok(agentOk > 0 && agentOk < 400, `agent records: ${agentOk} within the reserve`);
    console.log(`failing: accepted ${accepted}, refused ${refused}, agent records within the reserve ${agentOk}, max uncommitted ${maxUncommitted}, failed appends ${disk.failures}`);

    disk.full = false;
    p.writer.retryNow();
    await until(() => p.writer.writeState.state === 'ok', 'writer recovers');
    await p.flush();
    assert.equal(p.writer.writeState.state, 'ok');
    assert.equal(p.admission.pendingEpisode().count, 0, 'every refusal declared');

    const rows = allSpoolRows(path);
    const wf = rows.filter((r) => r.type === 'system.spool.write_failed');
    assert.equal(wf.length, 1);
    const data = JSON.parse(wf[0].payload).body.data;
    assert.equal(JSON.parse(wf[0].payload).body.severity, 'alarm');
    assert.equal(validateObservationData('system.spool.write_failed', data), null);
    assert.equal(data.error.code, 'SQLITE_FULL');
    assert.ok(data.attempts >= 1);
    assert.equal(data.refused.count, refused + (400 - agentOk));
    const byKey = new Map(data.refused.byDriverType.map((t: { driver: string; type: string; count: number }) => [`${t.driver}/${t.type}`, t.count]));
    assert.equal(byKey.get('agent/system.config.reloaded'), 400 - agentOk);
    assert.equal((byKey.get('osdp/access.door.forced') as number) + (byKey.get('modbus/sensor.reading') as number), refused);
    assert.ok(Date.parse(data.since) <= Date.parse(data.refused.first) && Date.parse(data.refused.last) <= Date.parse(data.until));

    // Every seq from 1 is there once: no gap, no seq with two bodies.
    const seqs = rows.map((r) => r.seq);
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1));
    const report = verifyEvents(rows.map((r) => r.payload), { pubkeys: [pub] });
    assert.equal(report.ok, true);
    await p.close();
    real.close();
  });
}

test('a healthy writer never refuses, however large the burst', async () => {
  const { real, p } = setup(100, true);
  for (let i = 0; i < 2000; i++) p.pipeline.ingest('modbus', { type: 'sensor.reading', severity: 'info', device: 'd1', data: { i } });
  assert.equal(p.pipeline.counters.refused, 0);
  await p.flush();
  assert.equal(real.head()!.seq, 2001 + p.pipeline.counters.checkpoints);
  await p.close();
  real.close();
});

test('spool reserve: laid with real blocks, released on a full disk and the append retried at once', async () => {
  const { dir, real, disk, p } = setup(1000, false, 256 * 1024);
  const ballast = join(dir, RESERVE_FILE);
  assert.equal(statSync(ballast).size, 256 * 1024);
  assert.ok(statSync(ballast).blocks * 512 >= 256 * 1024, 'not sparse');
  assert.equal(p.reserve?.held, true);
  disk.full = true;
  p.pipeline.ingest('modbus', { type: 'sensor.reading', severity: 'info', device: 'd1', data: { i: 1 } });
  await until(() => disk.failures > 0, 'an append failed');
  assert.equal(existsSync(ballast), false, 'ballast released on SQLITE_FULL');
  assert.equal(p.reserve?.releases, 1);
  disk.full = false;
  await until(() => p.writer.writeState.state === 'ok', 'retried without waiting for the backoff', 2000);
  await p.flush();
  const wf = allSpoolRows(join(dir, 'spool.db')).filter((r) => r.type === 'system.spool.write_failed');
  assert.equal(JSON.parse(wf[0].payload).body.data.reserveReleased, true);
  assert.equal(isDiskFull(Object.assign(new Error('x'), { code: 'ENOSPC' })), true);
  assert.equal(isDiskFull(new Error('SQLITE_BUSY')), false);
  // Laid again by hand (the path does it every 10 s once there is room).
  const r = new SpaceReserve({ dir, bytes: 64 * 1024 });
  assert.equal(r.ensure(), true);
  assert.equal(r.release(), true);
  await p.close();
  real.close();
});

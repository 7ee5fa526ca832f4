// The forwarder against the real SQLite spool (agent/spool/sqlite-spool.ts) and a real
// mosquitto: a backlog drains in order, every row is marked sent in the file, and bdSeq
// persists in the spool's meta across reopen.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSqliteSpool } from '../../agent/spool/sqlite-spool.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { probe, waitFor } from '../helpers/mqtt-probe.js';
import { BASE, makeForwarder } from '../helpers/forwarder-fixture.js';
import { sealMany, tempDir, testChain } from '../helpers/chain.js';

test('SQLite spool: backlog drains in seq order, marked sent; bdSeq survives reopen', async (t) => {
  const broker = await startMosquitto();
  t.after(() => broker.stop());
  const dir = tempDir('gw-fwd-sqlite-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'spool.db');
  const { spool } = openSqliteSpool({ path, quotaBytes: 64 * 1024 * 1024, retentionHours: 24 });
  const N = 3000;
  spool.append(sealMany(testChain(), N));
  const p = await probe(broker.url, `${BASE}/evt/#`);
  t.after(() => p.close());
  const { fwd } = makeForwarder({ spool, mqtt: { url: broker.url, inflightWindow: 200 } });
  fwd.start();
  await waitFor(() => spool.stats().unsent === 0, 'all rows marked sent in SQLite', 60_000);
  await waitFor(() => p.messages.length >= N, `${N} events at the probe`, 60_000);
  assert.deepEqual(p.messages.map((m) => JSON.parse(m.payload).body.seq), Array.from({ length: N }, (_, i) => i + 1));
  const bdSeq = fwd.status().bdSeq;
  await fwd.stop(2000);
  spool.close();

  const reopened = openSqliteSpool({ path, quotaBytes: 64 * 1024 * 1024, retentionHours: 24 }).spool;
  t.after(() => reopened.close());
  assert.equal(reopened.getMeta('bdSeq'), String(bdSeq));
  assert.equal(reopened.stats().unsent, 0);
});

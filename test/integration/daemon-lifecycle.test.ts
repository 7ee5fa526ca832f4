// Daemon lifecycle as an operator meets it: SIGHUP reload (drivers reconciled, a bad
// file rejected while the running config stays), a group-readable key refused at start,
// SIGTERM ending with a shutdown checkpoint and exit 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readdirSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { tempDir } from '../helpers/chain.js';
import Database from 'better-sqlite3';
import { allSpoolRows, gatewayPubkey, spawnDaemon, writeDaemonConfig } from '../helpers/daemon.js';
import { verifyEvents } from '../../agent/verify/index.js';
import { validateObservationData } from '../helpers/event-schema.js';
import { waitFor } from '../helpers/mqtt-probe.js';
import { freePort } from '../helpers/mosquitto.js';
import { keyFilePath } from '../../agent/chain/keys.js';

/** Start the daemon once (creating key, spool and chain), then stop it cleanly. */
async function runOnce(file: string): Promise<void> {
  const d = spawnDaemon(file);
  await d.waitLog(/gatewarden running/);
  d.child.kill('SIGTERM');
  assert.equal(await d.exited, 0);
}

const typesIn = (spool: string): string[] => allSpoolRows(spool).map((r) => r.type);
const bodies = (spool: string, type: string) => allSpoolRows(spool).filter((r) => r.type === type).map((r) => JSON.parse(r.payload).body);

test('SIGHUP: drivers reconciled; an invalid file is rejected and the running config stays', { timeout: 60_000 }, async (t) => {
  const dir = tempDir();
  // No broker needed: events are accepted into the spool regardless of the uplink.
  const url = `mqtt://127.0.0.1:${await freePort()}`;
  const base = { mqtt: { url, reconnect: { minMs: 1000, maxMs: 5000 } } };
  const file = writeDaemonConfig(dir, { ...base, drivers: { synthetic: [{ id: 'a', intervalMs: 50 }] } });
  const spool = join(dir, 'state', 'spool.db');
  const d = spawnDaemon(file);
  t.after(async () => {
    if (d.child.exitCode === null) d.child.kill('SIGKILL');
    await d.exited;
  });
  await d.waitLog(/gatewarden running/);
  writeDaemonConfig(dir, { ...base, log: { level: 'debug', format: 'json' }, drivers: { synthetic: [{ id: 'b', intervalMs: 50 }] } });
  d.child.kill('SIGHUP');
  await waitFor(() => typesIn(spool).includes('system.config.reloaded'), 'reload event', 20_000);
  const [reloaded] = bodies(spool, 'system.config.reloaded');
  assert.deepEqual(reloaded.data.started, ['b']);
  assert.deepEqual(reloaded.data.stopped, ['a']);
  const countB = (): number => allSpoolRows(spool).filter((r) => JSON.parse(r.payload).body.src.device === 'b').length;
  await waitFor(() => countB() > 3, 'events from the new driver', 20_000);

  writeFileSync(file, 'site: s\ngateway: [broken\n');
  d.child.kill('SIGHUP');
  await waitFor(() => typesIn(spool).includes('system.config.rejected'), 'rejected event', 20_000);
  const n = countB();
  await waitFor(() => countB() > n + 3, 'driver b still running after a rejected reload', 20_000);
  assert.equal(d.child.exitCode, null);

  d.child.kill('SIGTERM');
  assert.equal(await d.exited, 0);
  const rows = allSpoolRows(spool);
  assert.equal(rows[rows.length - 1].type, 'system.chain.checkpoint');
  assert.equal(JSON.parse(rows[rows.length - 1].payload).body.data.reason, 'shutdown');
  assert.equal(rows[rows.length - 2].type, 'system.agent.stop');
});

test('a group/world-readable private key: refuses to start, says why and how to fix it', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const file = writeDaemonConfig(dir, { mqtt: { url: `mqtt://127.0.0.1:${await freePort()}` } });
  await runOnce(file);
  const key = keyFilePath(join(dir, 'state'));
  chmodSync(key, 0o640);
  const second = spawnDaemon(file);
  assert.equal(await second.exited, 1);
  assert.match(second.out(), /is readable by group\/others \(mode 0640\); refusing to start/);
  assert.match(second.out(), new RegExp(`chmod 600 ${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
});

test('bad config: `gatewarden run` exits 1 naming every problem by path', { timeout: 30_000 }, async () => {
  const dir = tempDir();
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, stringify({ site: 'x', gateway: 'y', mqtt: { url: 'tcp://x', inflightWindow: 0 }, spool: { quota: 5 } }));
  const d = spawnDaemon(file);
  assert.equal(await d.exited, 1);
  assert.match(d.out(), /mqtt\.url: expected mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\/ URL \(got "tcp:\/\/x"\)/);
  assert.match(d.out(), /mqtt\.inflightWindow: .*\(got 0\)/);
  assert.match(d.out(), /spool\.quota: unknown key/);
});

test('a corrupt spool at start: moved aside (kept), a new epoch announced with the reason', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const file = writeDaemonConfig(dir, { mqtt: { url: `mqtt://127.0.0.1:${await freePort()}` } });
  await runOnce(file);
  const spool = join(dir, 'state', 'spool.db');
  const before = allSpoolRows(spool);
  writeFileSync(spool, Buffer.alloc(8192, 0x5a)); // not a database any more
  const second = spawnDaemon(file);
  await second.waitLog(/gatewarden running/);
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0);
  assert.match(second.out(), /spool failed its integrity check; moved aside/);
  const rows = allSpoolRows(spool);
  const epoch = JSON.parse(rows[0].payload).body;
  assert.equal(epoch.type, 'system.chain.epoch');
  assert.equal(epoch.seq, 1);
  assert.equal(epoch.data.reason, 'spool-reset');
  assert.match(String(epoch.data.movedAside), /spool\.db\.corrupt-/);
  assert.notEqual(epoch.epoch, JSON.parse(before[0].payload).body.epoch);
  assert.ok(readdirSync(join(dir, 'state')).some((f) => f.startsWith('spool.db.corrupt-')), 'the corrupt file is kept');
});

test('an unsent event whose payload row was deleted: removed at start, declared by a signed overflow event, verifier clean', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const file = writeDaemonConfig(dir, { mqtt: { url: `mqtt://127.0.0.1:${await freePort()}` } });
  await runOnce(file); // no broker: everything stays unsent
  const spool = join(dir, 'state', 'spool.db');
  const start = allSpoolRows(spool).find((r) => r.type === 'system.agent.start');
  assert.ok(start, 'an agent.start row');
  const lost = JSON.parse(start.payload).body as { epoch: string; seq: number };
  const db = new Database(spool);
  db.prepare('DELETE FROM payloads WHERE rowid = ?').run(start.rowid);
  db.close();

  const second = spawnDaemon(file);
  await second.waitLog(/gatewarden running/);
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0);
  assert.match(second.out(), /events without their payload row removed/);
  const rows = allSpoolRows(spool);
  assert.ok(!rows.some((r) => r.rowid === start.rowid), 'the orphan row is gone');
  const overflow = bodies(spool, 'system.spool.overflow');
  assert.equal(overflow.length, 1);
  assert.equal(overflow[0].data.reason, 'payload-missing');
  assert.deepEqual(overflow[0].data.dropped, [{ epoch: lost.epoch, from: lost.seq, to: lost.seq }]);
  assert.equal(validateObservationData('system.spool.overflow', overflow[0].data), null, 'data matches docs/events.schema.json');
  const report = verifyEvents(rows.map((r) => r.payload), { pubkeys: [gatewayPubkey(join(dir, 'state'))] });
  assert.equal(report.ok, true, JSON.stringify(report.chains.flatMap((c) => c.findings).slice(0, 5)));
  assert.equal(report.chains[0].declaredDropped, 1);
});

// `gatewarden events list|tail` and `spool stats` read the spool safely while the daemon
// writes it (read-only WAL reader), and their JSONL output feeds `gatewarden verify`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteSpool } from '../../agent/spool/sqlite-spool.js';
import { sealMany, tempDir, testChain, testKeys } from '../helpers/chain.js';
import { buildBigV1 } from '../helpers/spool-v1.js';
import { freePort } from '../helpers/mosquitto.js';
import { gatewayPubkey, spawnDaemon, writeDaemonConfig } from '../helpers/daemon.js';

const BIN = new URL('../../bin/gatewarden.js', import.meta.url).pathname;
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });

test('events list/tail and spool stats beside a running daemon; list | verify is clean', { timeout: 60_000 }, async (t) => {
  const dir = tempDir();
  const state = join(dir, 'state');
  const file = writeDaemonConfig(dir, { mqtt: { url: `mqtt://127.0.0.1:${await freePort()}` }, drivers: { synthetic: [{ id: 's', intervalMs: 5 }] } });
  const d = spawnDaemon(file);
  t.after(async () => {
    if (d.child.exitCode === null) d.child.kill('SIGKILL');
    await d.exited;
  });
  await d.waitLog(/gatewarden running/);
  await new Promise((r) => setTimeout(r, 500));

  const stats = cli('spool', 'stats', '--state-dir', state, '--json');
  assert.equal(stats.status, 0, stats.stderr);
  const s = JSON.parse(stats.stdout);
  assert.ok(s.depth > 10 && s.unsent === s.depth, 'no broker: everything is unsent');
  assert.ok(s.head.seq >= s.depth);
  const human = cli('spool', 'stats', '--config', file);
  assert.match(human.stdout, /head\s+epoch \S+ seq \d+/);

  const unsent = cli('events', 'list', '--unsent', '-n', '5', '--state-dir', state, '--pretty');
  assert.equal(unsent.stdout.trim().split('\n').length, 5);
  assert.match(unsent.stdout, /sensor\.reading/);

  // tail prints the last events, then follows new ones.
  const tail = spawn(process.execPath, [BIN, 'events', 'tail', '-n', '1', '--state-dir', state], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  tail.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const deadline = Date.now() + 15_000;
  while (out.split('\n').filter(Boolean).length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  tail.kill('SIGINT');
  const seqs = out.split('\n').filter(Boolean).map((l) => JSON.parse(l).body.seq as number);
  assert.ok(seqs.length >= 5, 'tail followed new events');
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1);

  d.child.kill('SIGTERM');
  assert.equal(await d.exited, 0);
  const all = cli('events', 'list', '-n', '1000000', '--state-dir', state);
  const v = spawnSync(process.execPath, [BIN, 'verify', '--pubkey', gatewayPubkey(state), '-'], { input: all.stdout, encoding: 'utf8' });
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /^OK/m);
});

test('events tail keeps following across a migrating restart and a spool moved aside', { timeout: 60_000 }, async (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'spool.db');
  buildBigV1(path, 20); // a v1 file: the daemon has not restarted since the upgrade
  const tail = spawn(process.execPath, [BIN, 'events', 'tail', '-n', '2', '--spool', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (tail.exitCode === null) tail.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  tail.stdout.on('data', (b: Buffer) => (out += b.toString()));
  tail.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const lines = () => out.split('\n').filter(Boolean);
  const until = async (cond: () => boolean, what: string) => {
    const deadline = Date.now() + 20_000;
    while (!cond()) {
      if (Date.now() > deadline) assert.fail(`${what}; stdout: ${out.slice(-400)} stderr: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await until(() => lines().length === 2, 'the last two v1 rows');

  // The daemon restarts: the file is migrated to v2 in place and new events follow.
  const chain = testChain({ keys: testKeys(dir), head: null });
  let opened = openSqliteSpool({ path, quotaBytes: 1e9, retentionHours: 24 });
  opened.spool.append(sealMany(chain, 3));
  opened.spool.close();
  await until(() => lines().length === 5, 'the rows written after the migration');
  assert.equal(JSON.parse(lines()[2]).body.type, 'system.chain.epoch');

  // A restart that finds the file corrupt moves it aside and starts a new one at the path.
  renameSync(path, `${path}.corrupt-test`);
  rmSync(`${path}-wal`, { force: true });
  rmSync(`${path}-shm`, { force: true });
  opened = openSqliteSpool({ path, quotaBytes: 1e9, retentionHours: 24 });
  const fresh = testChain({ keys: testKeys(dir), head: null });
  opened.spool.append(sealMany(fresh, 2));
  opened.spool.close();
  await until(() => lines().length === 7, 'the new file followed from its start');
  assert.match(err, /was replaced/);
  assert.equal(JSON.parse(lines()[5]).body.epoch, JSON.parse(lines()[6]).body.epoch);
  assert.notEqual(JSON.parse(lines()[5]).body.epoch, JSON.parse(lines()[2]).body.epoch);
  tail.kill('SIGINT');
});

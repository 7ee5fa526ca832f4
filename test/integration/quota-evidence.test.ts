// Heavy quota eviction against the real daemon process (docs/architecture.md "Evidence
// classes and the quota"): a 300 kB spool, no broker, door-forced alarms and readings as
// fast as the synthetic driver emits, kill -9 at a random moment, restart, graceful stop.
// Right after the kill, every seq the spool lost is declared by a surviving signed
// overflow record or still owed in pending_drops; after the restart the `events list`
// export verifies with `verify --from-start`: seq 1 survives and every missing seq is
// declared. The same export with one undeclared row removed, or without seq 1, fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSpoolReadOnly } from '../../agent/spool/sqlite-spool.js';
import { tempDir } from '../helpers/chain.js';
import { allSpoolRows, gatewayPubkey, spawnDaemon, writeDaemonConfig } from '../helpers/daemon.js';

const MAIN = new URL('../../agent/cli/main.ts', import.meta.url).pathname;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { maxBuffer: 256 * 1024 * 1024, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if (err && code === -1) reject(err);
      else resolve({ code, stdout, stderr });
    });
  });
}

interface Range {
  epoch: string;
  from: number;
  to: number;
}

/** What the spool file holds now: stored seqs, seqs declared by stored overflow records, seqs still owed. */
function account(spoolPath: string) {
  const rows = allSpoolRows(spoolPath);
  const stored = new Set(rows.map((r) => r.seq));
  const declared = new Set<number>();
  let records = 0;
  let ranges = 0;
  for (const r of rows) {
    if (r.type !== 'system.spool.overflow') continue;
    records++;
    for (const d of JSON.parse(r.payload).body.data.dropped as Range[]) {
      ranges++;
      for (let s = d.from; s <= d.to; s++) declared.add(s);
    }
  }
  const db = new Database(spoolPath, { readonly: true });
  const owed = new Set<number>();
  try {
    for (const p of db.prepare('SELECT from_seq, to_seq FROM pending_drops').all() as Array<{ from_seq: number; to_seq: number }>) {
      for (let s = p.from_seq; s <= p.to_seq; s++) owed.add(s);
    }
  } finally {
    db.close();
  }
  const head = Math.max(...rows.map((r) => r.seq));
  const missing: number[] = [];
  for (let s = 1; s <= head; s++) if (!stored.has(s)) missing.push(s);
  return { rows, stored, declared, owed, missing, records, ranges, epochs: new Set(rows.map((r) => r.epoch)) };
}

test('heavy quota eviction, kill -9 at a random moment, restart: every missing seq declared by a surviving signed record; seq 1 survives', { timeout: 180_000 }, async (t) => {
  const dir = tempDir('gw-quota-ev-');
  const state = join(dir, 'state');
  const spoolPath = join(state, 'spool.db');
  const config = writeDaemonConfig(dir, {
    mqtt: { url: 'mqtt://127.0.0.1:1', reconnect: { minMs: 200, maxMs: 1000 } },
    spool: { quotaBytes: 300_000 },
    chain: { checkpoint: { everyEvents: 100, everySeconds: 1 } },
    drivers: {
      synthetic: [
        { id: 'door-1', intervalMs: 1, type: 'access.door.forced', severity: 'alarm', padBytes: 200 },
        { id: 'temp-1', intervalMs: 1, type: 'sensor.reading', severity: 'info', padBytes: 100 },
      ],
    },
  });

  const first = spawnDaemon(config);
  await first.waitLog(/gatewarden running/);
  // Until the quota has bitten hard, then a random moment more.
  const ro = openSpoolReadOnly(spoolPath);
  const deadline = Date.now() + 60_000;
  while (ro.stats().droppedEvents < 3000) {
    assert.ok(Date.now() < deadline, `quota never bit: ${ro.stats().droppedEvents} dropped\n${first.out().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  ro.close();
  await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 1000)));
  first.child.kill('SIGKILL');
  assert.equal(await first.exited, 'SIGKILL');

  // Right after the kill: nothing lost is undeclared — either a stored signed record
  // names it or the spool still owes it (written in the same transaction as the eviction).
  const killed = account(spoolPath);
  const undeclared = killed.missing.filter((s) => !killed.declared.has(s) && !killed.owed.has(s));
  assert.deepEqual(undeclared.slice(0, 20), [], `${undeclared.length} seqs lost with neither a declaration nor a pending record`);
  assert.equal(killed.rows[0].seq, 1);
  assert.equal(killed.rows[0].type, 'system.chain.epoch');
  t.diagnostic(`after kill -9: head ${killed.missing.length + killed.stored.size}, stored ${killed.stored.size}, missing ${killed.missing.length}, declared by ${killed.records} stored records ${killed.declared.size}, owed in pending_drops ${killed.owed.size}`);

  // Restart under the same load for a while, then a graceful stop.
  const second = spawnDaemon(config);
  await second.waitLog(/gatewarden running/);
  await new Promise((r) => setTimeout(r, 1000));
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0, second.out().slice(-3000));

  const end = account(spoolPath);
  assert.equal(end.epochs.size, 1, 'one key, one spool: one epoch');
  assert.equal(end.rows[0].seq, 1, 'seq 1 survives');
  assert.equal(end.rows[0].type, 'system.chain.epoch');
  assert.equal(end.owed.size, 0, 'after a graceful stop nothing is owed');
  const notDeclared = end.missing.filter((s) => !end.declared.has(s));
  assert.deepEqual(notDeclared.slice(0, 20), [], `${notDeclared.length} missing seqs without a surviving declaration`);
  for (const s of end.declared) assert.ok(!end.stored.has(s), `seq ${s} declared dropped but stored`);
  assert.ok(end.missing.length > 3000, `heavy eviction: ${end.missing.length} dropped`);
  const summary = `dropped ${end.missing.length}, declared ${end.declared.size} in ${end.ranges} ranges by ${end.records} surviving overflow records, stored ${end.stored.size}, seq 1 ${end.rows[0].type}`;
  t.diagnostic(summary);
  console.log(`quota-evidence: ${summary}`);

  // The operator's path: events list export | verify --from-start.
  const list = await cli(['events', 'list', '-n', '100000000', '--state-dir', state]);
  assert.equal(list.code, 0, list.stderr);
  const exportFile = join(dir, 'export.jsonl');
  writeFileSync(exportFile, list.stdout);
  const pubkey = gatewayPubkey(state);
  const ok = await cli(['verify', '--from-start', '--json', '--pubkey', pubkey, exportFile]);
  assert.equal(ok.code, 0, ok.stdout.slice(0, 3000) + ok.stderr);
  const rep = JSON.parse(ok.stdout) as { chains: Array<{ declaredDropped: number; firstSeq: number }> };
  assert.equal(rep.chains[0].declaredDropped, end.missing.length);
  assert.equal(rep.chains[0].firstSeq, 1);

  // The same export with one stored, undeclared door event removed: a gap no record declares.
  const lines = readFileSync(exportFile, 'utf8').trim().split('\n');
  const victim = lines.findIndex((l, i) => i > 10 && i < lines.length - 10 && JSON.parse(l).body.type === 'access.door.forced');
  assert.ok(victim > 0);
  const victimSeq = JSON.parse(lines[victim]).body.seq as number;
  const gapFile = join(dir, 'gap.jsonl');
  writeFileSync(gapFile, lines.filter((_, i) => i !== victim).join('\n') + '\n');
  const gap = await cli(['verify', '--from-start', '--pubkey', pubkey, gapFile]);
  assert.equal(gap.code, 1, gap.stdout);
  assert.match(gap.stdout, new RegExp(`DEFECT missing seq ${victimSeq}:`));

  // Without seq 1: a late joiner would accept it, from the start it fails.
  const noStartFile = join(dir, 'no-start.jsonl');
  writeFileSync(noStartFile, lines.slice(1).join('\n') + '\n');
  assert.equal((await cli(['verify', '--pubkey', pubkey, noStartFile])).code, 0);
  const noStart = await cli(['verify', '--from-start', '--pubkey', pubkey, noStartFile]);
  assert.equal(noStart.code, 1, noStart.stdout);
  assert.match(noStart.stdout, /DEFECT missing seq 1:/);
});

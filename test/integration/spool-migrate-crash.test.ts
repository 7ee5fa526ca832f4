// The v1 → v2 spool migration killed with SIGKILL at random moments, in a real process:
// whatever moment it dies, the next open finds either the untouched v1 file (and migrates
// it) or the finished v2 file — every row, payload, sent mark and the head intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteSpool } from '../../agent/spool/sqlite-spool.js';
import { tempDir } from '../helpers/chain.js';
import { buildBigV1 } from '../helpers/spool-v1.js';

const CHILD = new URL('../helpers/spool-open-child.ts', import.meta.url).pathname;
const ROWS = 30_000;

/** Run the child on `path`; kill it `killAfterMs` after it printed `start` (never, if undefined). */
function runChild(path: string, killAfterMs?: number): Promise<{ opened: boolean; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (killAfterMs !== undefined && out.startsWith('start\n') && !killed) {
        killed = true;
        setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.once('error', reject);
    child.once('exit', () => resolve({ opened: /opened \d+/.test(out), killed: killed && !/opened \d+/.test(out) }));
  });
}

test('spool migration v1 → v2 survives SIGKILL at any moment', { timeout: 240_000 }, async (t) => {
  const dir = tempDir('gw-mig-crash-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pristine = join(dir, 'v1.db');
  const v1 = buildBigV1(pristine, ROWS);

  // One undisturbed run gives the scale of the kill delays.
  const timed = join(dir, 'timed.db');
  copyFileSync(pristine, timed);
  const t0 = performance.now();
  assert.equal((await runChild(timed)).opened, true);
  const full = performance.now() - t0;

  let killedMidway = 0;
  for (let i = 0; i < 6; i++) {
    const path = join(dir, `run-${i}.db`);
    copyFileSync(pristine, path);
    const r = await runChild(path, Math.round(((i + 0.5) / 6) * full));
    if (r.killed) killedMidway++;

    const { spool } = openSqliteSpool({ path, quotaBytes: 1e12, retentionHours: 24 });
    const s = spool.stats();
    assert.equal(s.depth, ROWS, `run ${i}: every row`);
    assert.equal(s.unsent, ROWS - Math.floor(ROWS / 3), `run ${i}: sent marks kept`);
    assert.deepEqual(spool.head(), v1.head, `run ${i}: head kept`);
    spool.close();
    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    assert.equal(db.prepare("SELECT v FROM meta WHERE k = 'schema_version'").pluck().get(), '2');
    assert.equal(db.prepare('SELECT count(*) FROM events e JOIN payloads p ON p.rowid = e.rowid').pluck().get(), ROWS, `run ${i}: every payload`);
    const p = db.prepare('SELECT payload FROM payloads WHERE rowid = ?').pluck().get(ROWS / 2) as string;
    assert.match(p, new RegExp(`^\\{"body":\\{"seq":${ROWS / 2},`));
    db.close();
  }
  // At least some kills must land inside the migration, or this test proves nothing.
  assert.ok(killedMidway >= 2, `only ${killedMidway} of 6 kills landed before the child finished`);
});

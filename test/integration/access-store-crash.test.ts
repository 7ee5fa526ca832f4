// The credential store under kill -9: a child process applies full lists (in parts) and
// deltas in a loop; it is SIGKILLed at random moments. After each kill the store opens and
// holds exactly one version's list — every credential id belongs to the held version and
// the count is that version's — never a mix of two.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CredentialStore } from '../../agent/access/store.js';
import { tempDir } from '../helpers/chain.js';
import { countOf } from '../helpers/access-store-child.js';

const CHILD = new URL('../helpers/access-store-child.ts', import.meta.url).pathname;

test('SIGKILL mid-update leaves the old list or the new one, never a mix', { timeout: 120_000 }, async (t) => {
  const dir = tempDir('gw-access-crash-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'access.db');
  const seen = new Set<number>();
  for (let round = 0; round < 8; round++) {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('READY') && resolve());
      child.once('exit', (c) => reject(new Error(`child exited ${c}`)));
    });
    await new Promise((r) => setTimeout(r, 150 + Math.random() * 600));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const store = new CredentialStore(path);
    const v = store.info.version;
    const db = new Database(path, { readonly: true });
    const ids = (db.prepare('SELECT id FROM credentials').all() as Array<{ id: string }>).map((r) => r.id);
    db.close();
    store.close();
    seen.add(v);
    if (v === 0) {
      assert.equal(ids.length, 0);
      continue;
    }
    assert.equal(ids.length, countOf(v), `round ${round}: version ${v} must hold ${countOf(v)} credentials`);
    assert.ok(ids.every((id) => id.startsWith(`v${v}-`)), `round ${round}: ids of another version beside ${v}`);
    assert.equal(store.info.count, ids.length);
  }
  assert.ok([...seen].some((v) => v > 1), `the child applied several versions (${[...seen].join(', ')})`);
});

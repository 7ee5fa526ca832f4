// Accepted = committed under kill -9 (docs/contracts.md §Spool): a child appends sealed events and
// prints each seq after its commit returned; we SIGKILL it at a random moment, reopen
// the real file and check that every printed seq is there, the recovered head is the
// last row, and the chain is intact. Each cycle continues the chain from that head,
// alternating direct appends and the group-commit writer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hashJcs, jcs } from '../../agent/chain/jcs.js';
import type { EventBody } from '../../agent/events/types.js';
import { openSqliteSpool } from '../../agent/spool/sqlite-spool.js';
import { tempDir } from '../helpers/chain.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CHILD = join(ROOT, 'test/helpers/spool-child.ts');
const CYCLES = 12;

interface Run {
  committed: { epoch: string; seq: number }[];
  opened: string;
}

/** Run the child until it reported `target` commits (plus a random extra moment), then SIGKILL it. */
function runAndKill(dir: string, mode: string, target: number, children: Set<ChildProcess>): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, mode], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const run: Run = { committed: [], opened: '' };
    let buf = '';
    let stderr = '';
    let killed = false;
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child did not reach ${target} commits in time (got ${run.committed.length}); stderr: ${stderr}`));
    }, 30_000);
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const [kind, a, b] = line.split(' ');
        if (kind === 'c') run.committed.push({ epoch: a, seq: Number(b) });
        else if (kind === 'open') run.opened = line;
      }
      if (!killed && run.committed.length >= target) {
        killed = true;
        // A random moment after the target: mid-batch, mid-fsync, between transactions.
        setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 15));
      }
    });
    // 'close' fires after stdout drained: every line the child wrote before dying is in.
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      children.delete(child);
      if (signal !== 'SIGKILL') reject(new Error(`child exited on its own (code ${code}); stderr: ${stderr}`));
      else resolvePromise(run);
    });
  });
}

test('spool survives SIGKILL: every reported commit present, head = last row, chain intact', { timeout: 120_000 }, async (t) => {
  const dir = tempDir('gw-spool-crash-');
  const children = new Set<ChildProcess>();
  t.after(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const path = join(dir, 'spool.db');
  let prevHead: { epoch: string; seq: number } | null = null;
  let epoch = '';

  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const mode = cycle % 2 === 0 ? 'direct' : 'writer';
    const run = await runAndKill(dir, mode, 20 + Math.floor(Math.random() * 400), children);
    assert.equal(run.opened.split(' ')[1], cycle === 0 ? 'fresh' : 'resume', `cycle ${cycle}: ${run.opened}`);
    if (prevHead) assert.equal(run.opened, `open resume ${prevHead.epoch} ${prevHead.seq}`, `cycle ${cycle} resumed from the recovered head`);

    const { spool, info } = openSqliteSpool({ path, quotaBytes: 1e12, retentionHours: 24 });
    try {
      assert.equal(info.resetReason, undefined, `cycle ${cycle}: reopened without reset (${JSON.stringify(info)})`);
      const rows = spool.readUnsent(0, 1e9);
      const head = spool.head();
      assert.ok(head, 'head recovered');
      epoch ||= head.epoch;
      // One epoch across all cycles: seqs 1..n contiguous, each prev = hash of the previous body.
      let prevHash = '';
      rows.forEach((r, i) => {
        const body = (JSON.parse(r.payload) as { body: EventBody }).body;
        assert.equal(r.epoch, epoch);
        assert.equal(r.seq, i + 1, `cycle ${cycle}: seq gap at row ${i}`);
        assert.equal(body.seq, r.seq);
        assert.equal(body.prev, prevHash, `cycle ${cycle}: prev chain broken at seq ${r.seq}`);
        prevHash = hashJcs(jcs(body));
      });
      const last = rows.at(-1)!;
      assert.deepEqual(head, { epoch: last.epoch, seq: last.seq, hash: prevHash }, `cycle ${cycle}: head is the last committed row`);
      const stored = rows.length;
      for (const c of run.committed) {
        assert.equal(c.epoch, epoch);
        assert.ok(c.seq <= stored, `cycle ${cycle}: seq ${c.seq} was reported committed but only ${stored} rows survived`);
      }
      assert.ok(run.committed.length > 0);
      assert.ok(stored >= run.committed.at(-1)!.seq);
      prevHead = { epoch: head.epoch, seq: head.seq };
    } finally {
      spool.close();
    }
  }
});

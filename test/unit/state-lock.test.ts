// agent/state-lock.ts: the exclusive lock on <stateDir>/lock is a kernel lock (another
// process is refused at once and told the holder's PID), released on close and on death.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/chain.js';
import { acquireStateLock, StateDirInUseError, stateLockHolder } from '../../agent/state-lock.js';

const LOCK_MODULE = new URL('../../agent/state-lock.ts', import.meta.url).href;

/** Try the lock from another process; returns what it printed. */
function tryInChild(dir: string): string {
  const script = `
    const { acquireStateLock } = await import(${JSON.stringify(LOCK_MODULE)});
    try { acquireStateLock(${JSON.stringify(dir)}); console.log('ACQUIRED'); }
    catch (e) { console.log(e.name + ' ' + e.holderPid + ' ' + e.message); }`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('state lock: another process is refused with the holder PID; free again after release', () => {
  const dir = tempDir();
  assert.equal(stateLockHolder(dir), null, 'no lock file yet');
  const lock = acquireStateLock(dir);
  assert.equal(stateLockHolder(dir), process.pid, '/proc/locks names this process');
  const refused = tryInChild(dir);
  console.log(`child while held: ${refused}`);
  assert.match(refused, new RegExp(`^StateDirInUseError ${process.pid} state directory ${dir} is in use .*PID ${process.pid}\\b`));
  lock.release();
  lock.release(); // idempotent
  assert.equal(stateLockHolder(dir), null);
  assert.equal(tryInChild(dir), 'ACQUIRED', 'free after release');
  // The child exited holding it: the kernel dropped the lock with the process.
  const again = acquireStateLock(dir);
  again.release();
});

test('state lock: the error names directory and PID', () => {
  const e = new StateDirInUseError('/var/lib/gatewarden', 4242);
  assert.match(e.message, /state directory \/var\/lib\/gatewarden is in use .*PID 4242/);
  assert.match(new StateDirInUseError('/x', null).message, /PID unknown/);
});

test('stateLockHolder reads the holder from /proc/locks by device and inode, skipping waiters', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'lock'), '');
  const st = statSync(join(dir, 'lock'));
  const major = Number((BigInt(st.dev) >> 8n) & 0xfffn);
  const minor = Number(BigInt(st.dev) & 0xffn);
  const id = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${st.ino}`;
  const locks = join(dir, 'locks');
  writeFileSync(
    locks,
    [
      `1: POSIX  ADVISORY  WRITE 111 ${major.toString(16).padStart(2, '0')}:${(minor + 1).toString(16).padStart(2, '0')}:${st.ino} 0 EOF`,
      `2: -> POSIX  ADVISORY  WRITE 222 ${id} 1073741824 1073742335`,
      `2: POSIX  ADVISORY  WRITE 333 ${id} 1073741824 1073742335`,
      '',
    ].join('\n'),
  );
  assert.equal(stateLockHolder(dir, locks), 333);
  writeFileSync(locks, `1: FLOCK  ADVISORY  WRITE 9 ${id} 0 EOF\n`);
  assert.equal(stateLockHolder(dir, locks), null);
});

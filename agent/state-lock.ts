// One owner per state directory: the daemon (and `npm start`'s demo) holds an exclusive
// lock on `<stateDir>/lock` for its whole life, taken before keys are created and the
// spool is opened. The lock is a POSIX record lock (fcntl F_SETLK) held by SQLite: the
// file is a tiny SQLite database opened with `locking_mode=EXCLUSIVE`, and one write
// transaction makes SQLite take its EXCLUSIVE lock and keep it until the connection
// closes. The kernel drops the lock when the process dies, SIGKILL included, so there is
// no stale-lock heuristic: a lock that is held is held by a live process. The holder's
// PID is read from /proc/locks (the lock on this file's device and inode), not from a
// pid file that could be stale. See docs/architecture.md, "One owner per state directory".
import Database from 'better-sqlite3';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const STATE_LOCK_FILE = 'lock';

export class StateDirInUseError extends Error {
  override readonly name = 'StateDirInUseError';
  constructor(
    readonly stateDir: string,
    readonly holderPid: number | null,
  ) {
    super(
      `state directory ${stateDir} is in use by another gatewarden process (PID ${holderPid ?? 'unknown'}); ` +
        'only one daemon may own a state directory: stop that one first, or give this one its own stateDir',
    );
  }
}

export interface StateLock {
  readonly stateDir: string;
  readonly file: string;
  /** Close the lock file; the lock is gone. Idempotent. */
  release(): void;
}

/** Held locks stay referenced here so a forgotten handle can never be collected and closed. */
const held = new Set<Database.Database>();

function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

/**
 * Take the exclusive lock on `<stateDir>/lock` (the directory must exist). Throws
 * StateDirInUseError at once, without waiting, when another process holds it. Writes
 * nothing else into the directory.
 */
export function acquireStateLock(stateDir: string): StateLock {
  const file = join(stateDir, STATE_LOCK_FILE);
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: 0 });
  } catch (e) {
    throw new Error(`cannot open the state directory lock ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes SQLite's EXCLUSIVE lock; in this locking mode it is kept after COMMIT.
    db.exec('BEGIN EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS owner (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, since TEXT NOT NULL)');
    db.prepare('INSERT OR REPLACE INTO owner (id, pid, since) VALUES (1, ?, ?)').run(process.pid, new Date().toISOString());
    db.exec('COMMIT');
  } catch (e) {
    db.close();
    if (isBusy(e)) throw new StateDirInUseError(stateDir, stateLockHolder(stateDir));
    throw new Error(`cannot lock the state directory ${stateDir} (${file}): ${(e as Error).message}`, { cause: e });
  }
  held.add(db);
  let open = true;
  return {
    stateDir,
    file,
    release: () => {
      if (!open) return;
      open = false;
      held.delete(db);
      db.close();
    },
  };
}

/** Linux `dev_t` → the "MAJ:MIN" pair /proc/locks prints (hex). */
function devPair(dev: number): string {
  const d = BigInt(dev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
}

/**
 * PID of the process holding a POSIX lock on `<stateDir>/lock`, from /proc/locks (Linux);
 * null when nobody holds it or it cannot be told (no /proc, no file).
 */
export function stateLockHolder(stateDir: string, procLocks = '/proc/locks'): number | null {
  let st;
  let text: string;
  try {
    st = statSync(join(stateDir, STATE_LOCK_FILE));
    text = readFileSync(procLocks, 'utf8');
  } catch {
    return null;
  }
  const want = `${devPair(st.dev)}:${st.ino}`;
  for (const line of text.split('\n')) {
    // "1: POSIX  ADVISORY  WRITE 4359 fe:00:2146858 1073741824 1073742335"
    const f = line.trim().split(/\s+/);
    const i = f.indexOf('POSIX');
    if (i < 0 || f.includes('->') || f[i + 4] !== want) continue; // '->': a waiter, not the holder
    const pid = Number(f[i + 3]);
    if (Number.isInteger(pid) && pid > 0) return pid;
  }
  return null;
}

// `gatewarden diag` on the running daemon's spool writer (health/status `spool.write` over
// the control socket): failing writes are a failure with a fix, a recovered episode a note.
import type { SpoolWriteHealth } from '../metrics.js';
import { pass, problem, type DiagCheck } from './types.js';

export function checkSpoolWrite(write: SpoolWriteHealth | undefined, dir: string): DiagCheck[] {
  if (!write) return [];
  const err = write.lastError ? `${write.lastError.code ?? 'error'}: ${write.lastError.message}` : 'no error recorded';
  if (write.state === 'failing') {
    return [problem('spool', 'fail', 'spool writes',
      `failing since ${write.since ?? '?'} (${write.attempts} attempt(s), last ${err}); ${write.uncommitted} event(s) wait uncommitted (at most ${write.maxBacklogEvents}), ` +
        `${write.refusedUndeclared} observation(s) refused and not yet declared`,
      `free space on the spool's filesystem (df -h ${dir}; journalctl --vacuum-size=50M) and check the filesystem (dmesg for I/O errors, mount for a read-only remount); ` +
        'the daemon retries by itself and declares the refusals with a signed system.spool.write_failed once a write succeeds')];
  }
  const past = write.errorsTotal > 0 ? `; ${write.errorsTotal} failed attempt(s) since start, recovered (last ${err})` : '';
  return [pass('spool', 'spool writes', `ok, ${write.committedTotal} event(s) committed since start${past}`)];
}

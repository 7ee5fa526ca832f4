// The one way gatewarden (re)writes a config file (`init`, `discover --write`). The file is
// read by the service user through its group (docs/contracts.md §Files: root:gatewarden
// 0640), so a rewrite that changed owner, group or mode would lock the daemon out at its
// next start. A rewrite therefore keeps all three, and is atomic and durable: a temp file
// in the same directory (same filesystem, so rename is atomic), created 0600 so the new
// content is never readable by more than the old, fchown + fchmod to the original's,
// fsync, rename over the original, fsync of the directory. A crash leaves the old file or
// the new one, never a torn or wrongly owned one.
import { closeSync, fchmodSync, fchownSync, fstatSync, fsyncSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

export class ConfigWriteError extends Error {
  override readonly name = 'ConfigWriteError';
}

export interface RewriteOptions {
  /** Mode of a file that does not exist yet (default 0640). An existing file keeps its own. */
  newFileMode?: number;
}

/** Replace (or create) `file` with `text`, keeping an existing file's owner, group and mode. */
export function rewriteConfigFile(file: string, text: string, o: RewriteOptions = {}): void {
  let target = file;
  let keep: { uid: number; gid: number; mode: number } | null = null;
  try {
    target = realpathSync(file); // a symlinked config stays a symlink; its target is rewritten
    const st = statSync(target);
    keep = { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const dir = dirname(target);
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    if (keep) {
      const now = fstatSync(fd);
      if (now.uid !== keep.uid || now.gid !== keep.gid) {
        try {
          fchownSync(fd, keep.uid, keep.gid);
        } catch (e) {
          throw new ConfigWriteError(`${file}: cannot keep its owner ${keep.uid}:${keep.gid} (${(e as NodeJS.ErrnoException).code}); run as root or as the file's owner`);
        }
      }
    }
    fchmodSync(fd, keep ? keep.mode : (o.newFileMode ?? 0o640));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, target);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
    try {
      unlinkSync(tmp);
    } catch {
      /* renamed or never created */
    }
    throw e;
  }
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

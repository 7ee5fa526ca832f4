// File permissions as the daemon's user sees them. diag often runs as root (for whom
// access(2) says yes to everything), so "can the service write its spool?" is answered
// from mode bits and ownership for the daemon's uid/gids, not from access(2).
import { readFileSync, type Stats } from 'node:fs';

export interface Identity {
  uid: number;
  gid: number;
  groups: number[];
  /** User name when known (for messages and hints). */
  name?: string;
}

export type Want = 'r' | 'w' | 'x';

/** POSIX permission check for `who` on a file with stat `st` (no ACLs, no capabilities but root). */
export function canAccess(st: Pick<Stats, 'mode' | 'uid' | 'gid'>, who: Identity, want: Want[]): boolean {
  if (who.uid === 0) {
    // root bypasses r/w; x needs at least one x bit (or a directory).
    return !want.includes('x') || (st.mode & 0o111) !== 0 || (st.mode & 0o170000) === 0o040000;
  }
  const bits = { r: 4, w: 2, x: 1 } as const;
  const shift = st.uid === who.uid ? 6 : who.gid === st.gid || who.groups.includes(st.gid) ? 3 : 0;
  return want.every((w) => ((st.mode >> shift) & bits[w]) !== 0);
}

function readLines(file: string): string[][] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

/** Look a user up in /etc/passwd and /etc/group (name or numeric uid); null when unknown. */
export function lookupUser(user: string, etc = '/etc'): Identity | null {
  const pw = readLines(`${etc}/passwd`).find((f) => f[0] === user || (/^\d+$/.test(user) && f[2] === user));
  if (!pw) return /^\d+$/.test(user) ? { uid: Number(user), gid: Number(user), groups: [] } : null;
  const uid = Number(pw[2]);
  const gid = Number(pw[3]);
  const groups = readLines(`${etc}/group`)
    .filter((g) => (g[3] ?? '').split(',').includes(pw[0]))
    .map((g) => Number(g[2]));
  return { uid, gid, groups: [...new Set([gid, ...groups])], name: pw[0] };
}

export function selfIdentity(): Identity {
  return { uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1, groups: process.getgroups?.() ?? [], name: process.env.USER };
}

export function describeIdentity(i: Identity): string {
  return i.name ? `${i.name} (uid ${i.uid})` : `uid ${i.uid}`;
}

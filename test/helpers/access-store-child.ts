// Child process for the credential-store crash test: applies full lists (put, in 5 parts)
// and deltas (patch) to `<dir>/access.db` in a loop until it is killed. Version v holds
// exactly credentials `v<v>-<i>` for i < count(v), so a reader can tell a mix from a list.
import { randomBytes } from 'node:crypto';
import { CredentialStore } from '../../agent/access/store.js';
import type { CredentialRow } from '../../agent/access/credentials.js';

export const countOf = (v: number): number => 4000 + (v % 7) * 500;
export const POLICY = { schedules: {}, groups: { staff: { doors: ['front'] } } };

export function rowsOf(v: number, n = countOf(v)): CredentialRow[] {
  return Array.from({ length: n }, (_, i) => ({ hash: `h${v}-${i}-${randomBytes(4).toString('hex')}`, id: `v${v}-${i}`, groups: ['staff'], validFrom: null, validTo: null, pin: null }));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '\0')) {
  const store = new CredentialStore(process.argv[2]);
  let v = store.info.version;
  process.stdout.write(`READY ${v}\n`);
  for (;;) {
    v += 1;
    if (v % 2 === 0) {
      // A patch: replace every credential with the next version's set.
      const old = store.info.version;
      const ids = Array.from({ length: store.info.count }, (_, i) => `v${old}-${i}`);
      store.patch(old, v, {}, rowsOf(v), ids);
    } else {
      const rows = rowsOf(v);
      const per = Math.ceil(rows.length / 5);
      for (let p = 1; p <= 5; p++) store.put(v, p, 5, POLICY, rows.slice((p - 1) * per, p * per));
    }
  }
}

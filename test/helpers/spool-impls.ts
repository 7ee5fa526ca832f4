// Every implementation of the spool interface (agent/spool/types.ts), opened the same way for
// the contract suites (test/unit/spool-contract*.test.ts): one factory per implementation,
// given a scratch dir and the options the suite varies. Reopening the same dir continues
// what was committed: the SQLite file, or the memory spool's store for that dir.
import { join } from 'node:path';
import { openSqliteSpool } from '../../agent/spool/sqlite-spool.js';
import type { PendingDrops, Spool } from '../../agent/spool/types.js';
import { MemorySpool, MemorySpoolStore } from './memory-spool.js';

export interface OpenOptions {
  quotaBytes?: number;
  retentionHours?: number;
  now?: () => number;
}

/** A spool as the suites see it: the interface, plus the drops still owed a declaration. */
export type ContractSpool = Spool & { pendingDrops(): PendingDrops[] };
export type OpenSpool = (dir: string, o?: OpenOptions) => ContractSpool;

export const openSqlite: OpenSpool = (dir, o = {}) =>
  openSqliteSpool({ path: join(dir, 'spool.db'), quotaBytes: o.quotaBytes ?? 1e9, retentionHours: o.retentionHours ?? 24, now: o.now }).spool;

const memoryStores = new Map<string, MemorySpoolStore>();
export const openMemory: OpenSpool = (dir, o = {}) => {
  const store = memoryStores.get(dir) ?? new MemorySpoolStore();
  memoryStores.set(dir, store);
  return new MemorySpool({ store, quotaBytes: o.quotaBytes ?? 1e9, retentionHours: o.retentionHours ?? 24, now: o.now });
};

export const SPOOL_IMPLEMENTATIONS: ReadonlyArray<[name: string, open: OpenSpool]> = [
  ['sqlite', openSqlite],
  ['memory', openMemory],
];

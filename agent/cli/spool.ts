// `gatewarden spool stats`: depth, unsent, oldest unsent age, head, bytes, drops — read
// through a read-only connection, safe while the daemon writes (WAL).
import type { Command } from 'commander';
import { dirname } from 'node:path';
import { openSpoolForCli } from './open-spool.js';
import { readLedger } from '../spool/refusal-ledger.js';
import { addSpoolPathOptions, resolveSpoolPath, type SpoolPathOptions } from './spool-path.js';

function human(n: number): string {
  return n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

export function registerSpool(program: Command): void {
  const spool = program.command('spool').description('inspect the local event spool');
  addSpoolPathOptions(spool.command('stats').description('spool depth, unsent backlog, head, bytes and drops'))
    .option('--json', 'machine-readable output')
    .action(async (o: SpoolPathOptions & { json?: boolean }) => {
      const path = await resolveSpoolPath(o);
      const ro = openSpoolForCli(path);
      try {
        const s = ro.stats();
        if (o.json) {
          const owed = readLedger(dirname(path));
          console.log(JSON.stringify({ path, ...s, writeFailuresOwed: owed?.records ?? [] }));
          return;
        }
        console.log(`spool ${path}`);
        console.log(`  head            ${s.head ? `epoch ${s.head.epoch} seq ${s.head.seq}` : '(empty)'}`);
        console.log(`  depth           ${s.depth} events (${s.unsent} unsent)`);
        console.log(`  oldest unsent   ${s.oldestUnsentAgeMs === null ? '-' : `${(s.oldestUnsentAgeMs / 1000).toFixed(1)} s ago`}`);
        console.log(`  bytes           ${human(s.bytes)} of ${human(s.quotaBytes)} quota (file ${human(s.fileBytes)})`);
        console.log(`  dropped (quota) ${s.droppedEvents} events${s.pendingDrops ? `, ${s.pendingDrops} not yet declared (pending_drops: declared by the daemon's next overflow record or start)` : ''}`);
        const owed = readLedger(dirname(path));
        if (owed && owed.records.length > 0) {
          const refused = owed.records.reduce((n, r) => n + ((r.data.refused as { count?: number } | undefined)?.count ?? 0), 0);
          const failing = owed.records.some((r) => r.seq === null);
          console.log(`  write failures  ${failing ? 'writes were failing' : 'recovered'} at ${new Date(owed.savedAt).toISOString()} (pid ${owed.pid}): ${refused} refused observation(s) owed a system.spool.write_failed (spool.refusals; declared at the next start if not committed)`);
        }
        console.log(`  sent (total)    ${s.sentTotal}`);
      } finally {
        ro.close();
      }
    });
}

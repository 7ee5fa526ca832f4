// `gatewarden events list|tail [--unsent]`: read events from the spool (read-only, safe
// beside the running daemon). Output is JSONL of the published payloads (pipe it into
// `gatewarden verify`) or, with --pretty, one line per event.
import type { Command } from 'commander';
import { openSpoolReadOnly } from '../spool/sqlite-spool.js';
import type { SpoolRow } from '../spool/types.js';
import { addSpoolPathOptions, resolveSpoolPath, type SpoolPathOptions } from './spool-path.js';

type Opts = SpoolPathOptions & { unsent?: boolean; limit: string; pretty?: boolean };

function line(r: SpoolRow, pretty: boolean | undefined): string {
  if (!pretty) return r.payload;
  const b = (JSON.parse(r.payload) as { body: { ts: { wall: string }; src: { device: string }; data: unknown } }).body;
  return `${b.ts.wall}  #${r.seq}  ${r.severity.padEnd(8)} ${r.type.padEnd(28)} ${b.src.device.padEnd(16)} ${JSON.stringify(b.data)}`;
}

export function registerEvents(program: Command): void {
  const events = program.command('events').description('read events from the local spool');
  addSpoolPathOptions(events.command('list').description('print stored events (newest last)'))
    .option('--unsent', 'only events not yet acknowledged by the broker')
    .option('-n, --limit <n>', 'how many', '100')
    .option('--pretty', 'one human-readable line per event instead of JSONL')
    .action(async (o: Opts) => {
      const ro = openSpoolReadOnly(await resolveSpoolPath(o));
      try {
        for (const r of ro.readRecent(Number(o.limit), { unsentOnly: !!o.unsent })) console.log(line(r, o.pretty));
      } finally {
        ro.close();
      }
    });
  addSpoolPathOptions(events.command('tail').description('print the last events, then follow new ones (Ctrl-C stops)'))
    .option('--unsent', 'only events not yet acknowledged by the broker')
    .option('-n, --limit <n>', 'how many to show first', '10')
    .option('--pretty', 'one human-readable line per event instead of JSONL')
    .action(async (o: Opts) => {
      const ro = openSpoolReadOnly(await resolveSpoolPath(o));
      let last = 0;
      for (const r of ro.readRecent(Number(o.limit), { unsentOnly: !!o.unsent })) {
        console.log(line(r, o.pretty));
        last = r.rowid;
      }
      if (last === 0) last = ro.maxRowid();
      const timer = setInterval(() => {
        for (const r of ro.readAfter(last, 1000)) {
          console.log(line(r, o.pretty));
          last = r.rowid;
        }
      }, 250);
      process.on('SIGINT', () => {
        clearInterval(timer);
        ro.close();
        process.exit(0);
      });
    });
}

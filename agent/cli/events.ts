// `gatewarden events list|tail [--unsent]`: read events from the spool (read-only, safe
// beside the running daemon). Output is JSONL of the published payloads (pipe it into
// `gatewarden verify`) or, with --pretty, one line per event.
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import type { ReadOnlySpool } from '../spool/readonly.js';
import { openSpoolReadOnly } from '../spool/sqlite-spool.js';
import { intOption } from './errors.js';
import { openSpoolForCli, requireSpoolFile } from './open-spool.js';
import type { SpoolRow } from '../spool/types.js';
import { addSpoolPathOptions, resolveSpoolPath, type SpoolPathOptions } from './spool-path.js';

type Opts = SpoolPathOptions & { unsent?: boolean; limit: number; pretty?: boolean };

function line(r: SpoolRow, pretty: boolean | undefined): string {
  if (!pretty) return r.payload;
  const b = (JSON.parse(r.payload) as { body: { ts: { wall: string }; src: { device: string }; data: unknown } }).body;
  return `${b.ts.wall}  #${r.seq}  ${r.severity.padEnd(8)} ${r.type.padEnd(28)} ${b.src.device.padEnd(16)} ${JSON.stringify(b.data)}`;
}

export function registerEvents(program: Command): void {
  const events = program.command('events').description('read events from the local spool');
  addSpoolPathOptions(events.command('list').description('print stored events (newest last)'))
    .option('--unsent', 'only events not yet acknowledged by the broker')
    .option('-n, --limit <n>', 'how many', intOption(1), 100)
    .option('--pretty', 'one human-readable line per event instead of JSONL')
    .option('--json', 'one JSON array of the published payloads ({body, sig}) instead of JSONL')
    .action(async (o: Opts & { json?: boolean }) => {
      const ro = openSpoolForCli(await resolveSpoolPath(o));
      try {
        const rows = ro.readRecent(Number(o.limit), { unsentOnly: !!o.unsent });
        if (o.json) console.log(`[${rows.map((r) => r.payload).join(',\n')}]`);
        else for (const r of rows) console.log(line(r, o.pretty));
      } finally {
        ro.close();
      }
    });
  addSpoolPathOptions(events.command('tail').description('print the last events, then follow new ones (Ctrl-C stops)'))
    .option('--unsent', 'only events not yet acknowledged by the broker')
    .option('-n, --limit <n>', 'how many to show first', intOption(0), 10)
    .option('--pretty', 'one human-readable line per event instead of JSONL')
    .action(async (o: Opts) => {
      const path = await resolveSpoolPath(o);
      requireSpoolFile(path);
      const f = new SpoolFollower(path);
      let last = 0;
      for (const r of f.ro.readRecent(Number(o.limit), { unsentOnly: !!o.unsent })) {
        console.log(line(r, o.pretty));
        last = r.rowid;
      }
      if (last === 0) last = f.ro.maxRowid();
      const timer = setInterval(() => {
        last = f.poll(last, (r) => console.log(line(r, o.pretty)));
      }, 250);
      process.on('SIGINT', () => {
        clearInterval(timer);
        f.close();
        process.exit(0);
      });
    });
}

/**
 * `events tail -f` outlives daemon restarts: a restart may migrate the file's layout
 * (same file: statements fail, reopen and go on from the same rowid) or move a corrupt
 * file aside (a new file at the path: start from its first row, and say so). While the
 * path is missing or unreadable it waits, and says so once.
 */
class SpoolFollower {
  ro: ReadOnlySpool;
  private ino: number;
  private waiting = false;

  constructor(private readonly path: string) {
    this.ro = openSpoolReadOnly(path);
    this.ino = statSync(path).ino;
  }

  /** Print rows after `last`; returns the new `last`. Never throws. */
  poll(last: number, print: (r: SpoolRow) => void): number {
    try {
      const ino = statSync(this.path).ino;
      if (ino !== this.ino) {
        this.reopen();
        this.ino = ino;
        process.stderr.write(`gatewarden: ${this.path} was replaced (spool moved aside by the daemon?); following the new file from its start\n`);
        last = 0;
      }
      for (const r of this.ro.readAfter(last, 1000)) {
        print(r);
        last = r.rowid;
      }
      this.waiting = false;
    } catch (err) {
      if (!this.waiting) process.stderr.write(`gatewarden: reading ${this.path} failed (${(err as Error).message}); retrying\n`);
      this.waiting = true;
      try {
        this.reopen();
      } catch {
        // Still missing or mid-migration: the next tick tries again.
      }
    }
    return last;
  }

  private reopen(): void {
    const next = openSpoolReadOnly(this.path);
    this.ro.close();
    this.ro = next;
  }

  close(): void {
    this.ro.close();
  }
}

// Reads a spool for a test from inside another mount namespace (run under nsenter): SQLite
// resolves /proc/PID/root/... paths to the host's view, so the test cannot open such a file
// itself. One JSON request per stdin line, one JSON answer per stdout line:
//   {"op":"head"} → {"head": {epoch, seq, hash} | null}
//   {"op":"rows"} → {"rows": SpoolRecord[]}
import { createInterface } from 'node:readline';
import { openSpoolReadOnly } from '../../agent/spool/sqlite-spool.js';
import { allSpoolRows } from './daemon.js';

const path = process.argv[2];
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let out: unknown;
  try {
    const req = JSON.parse(line) as { op: string };
    if (req.op === 'head') {
      const ro = openSpoolReadOnly(path);
      try {
        out = { head: ro.stats().head };
      } finally {
        ro.close();
      }
    } else if (req.op === 'rows') out = { rows: allSpoolRows(path) };
    else out = { error: `unknown op ${req.op}` };
  } catch (e) {
    out = { error: (e as Error).message };
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
});

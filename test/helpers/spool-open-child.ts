// Child process for test/integration/spool-migrate-crash.test.ts:
//   node --import tsx test/helpers/spool-open-child.ts <spool.db>
// Opens the spool as the daemon does (which migrates a v1 file), prints `opened` with a
// synchronous write to fd 1, closes it and exits. The parent SIGKILLs it at a random moment.
import { writeSync } from 'node:fs';
import { openSqliteSpool } from '../../agent/spool/sqlite-spool.js';

const [path] = process.argv.slice(2);
if (!path) throw new Error('usage: spool-open-child.ts <spool.db>');
writeSync(1, 'start\n');
const { spool } = openSqliteSpool({ path, quotaBytes: 1e12, retentionHours: 24 });
writeSync(1, `opened ${spool.stats().depth}\n`);
spool.close();

// Child process for test/integration/spool-crash.test.ts:
//   node --import tsx test/helpers/spool-child.ts <dir> <direct|writer>
// Opens <dir>/spool.db, continues the chain from the recovered head (keys in <dir>), and
// appends sealed events forever. After each commit returned it prints one line per
// committed event, `c <epoch> <seq>`, with a synchronous write to fd 1, so every line the
// parent reads names an accepted event. The parent SIGKILLs it at a random moment.
//   direct: Spool.append() of random batches of 1–64 in a loop;
//   writer: SpoolWriter group commit (random maxEvents, 0–2 ms delay), printing from onCommitted.
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { loadOrCreateKeys } from '../../agent/chain/keys.js';
import type { SealedEvent } from '../../agent/chain/chain.js';
import { openSqliteSpool } from '../../agent/spool/sqlite-spool.js';
import { SpoolWriter } from '../../agent/spool/writer.js';
import { testChain } from './chain.js';

const [dir, mode = 'direct'] = process.argv.slice(2);
if (!dir) throw new Error('usage: spool-child.ts <dir> [direct|writer]');

const { spool, info } = openSqliteSpool({ path: join(dir, 'spool.db'), quotaBytes: 1e12, retentionHours: 24 });
const head = spool.head();
const chain = testChain({ keys: loadOrCreateKeys(dir), head });
const out = (s: string) => writeSync(1, s);
out(`open ${info.resetReason ?? 'resume'} ${head ? `${head.epoch} ${head.seq}` : '-'}\n`);

const rand = (n: number) => 1 + Math.floor(Math.random() * n);
const severities = ['debug', 'info', 'notice', 'warning', 'alarm'] as const;
let i = 0;
function next(): SealedEvent {
  if (chain.needsEpoch) return chain.newEpoch('fresh', null);
  i++;
  return chain.seal({
    driver: 'test',
    device: 'dev-1',
    type: i % 3 === 0 ? 'access.card.read' : 'sensor.value.reading',
    severity: severities[i % severities.length],
    data: { i, pad: 'x'.repeat(i % 200) },
  });
}
const report = (evs: readonly SealedEvent[]) => out(evs.map((e) => `c ${e.body.epoch} ${e.body.seq}\n`).join(''));

if (mode === 'direct') {
  const loop = () => {
    for (let k = 0; k < 20; k++) {
      const batch = Array.from({ length: rand(64) }, next);
      spool.append(batch);
      report(batch);
    }
    setImmediate(loop);
  };
  loop();
} else {
  const writer = new SpoolWriter({
    spool,
    maxEvents: rand(100),
    maxDelayMs: Math.floor(Math.random() * 3),
    onCommitted: (b) => report(b.events),
    onError: (err) => {
      process.stderr.write(`append failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  });
  const loop = () => {
    const n = rand(150);
    for (let k = 0; k < n; k++) writer.enqueue(next());
    // Let timers fire (delay-closed batches) before producing more.
    setTimeout(loop, Math.random() < 0.5 ? 0 : 1);
  };
  loop();
}

// Logs fit journald: with stdout being the journal stream (JOURNAL_STREAM = its dev:inode)
// every line starts with the syslog priority of its level and the rest stays one valid
// JSON line; anywhere else lines are plain JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, fdIsJournal, SYSLOG_PRIORITY, withSyslogPrefix } from '../../agent/log.js';
import { tempDir } from '../helpers/chain.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
const EXPECTED: Record<(typeof LEVELS)[number], number> = { trace: 7, debug: 7, info: 6, warn: 4, error: 3, fatal: 2 };

async function logEveryLevel(journal: 'match' | 'other' | 'unset', secrets: string[] = []): Promise<string[]> {
  const file = join(tempDir(), 'out.log');
  const fd = openSync(file, 'w');
  const st = fstatSync(fd, { bigint: true });
  const saved = process.env.JOURNAL_STREAM;
  if (journal === 'unset') delete process.env.JOURNAL_STREAM;
  else process.env.JOURNAL_STREAM = journal === 'match' ? `${st.dev}:${st.ino}` : `${st.dev}:${st.ino + 1n}`;
  try {
    const log = createLogger({ level: 'trace', format: 'json', fd, secrets });
    for (const l of LEVELS) log[l]({ n: l, note: `with ${secrets[0] ?? 'nothing'} inside` }, `a ${l} line\nwith a newline`);
    await new Promise<void>((resolve, reject) => log.flush((e) => (e ? reject(e) : resolve())));
  } finally {
    if (saved === undefined) delete process.env.JOURNAL_STREAM;
    else process.env.JOURNAL_STREAM = saved;
  }
  // sonic-boom writes asynchronously and its flush callback can run before the last write
  // reached the file on a loaded machine: wait (bounded) for every line, then close.
  const read = (): string[] => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  for (let i = 0; i < 100 && read().length < LEVELS.length; i++) await new Promise((r) => setTimeout(r, 20));
  closeSync(fd);
  return read();
}

test('under journald every level carries its syslog priority and the line stays JSON', async () => {
  const lines = await logEveryLevel('match', ['hunter2-secret']);
  assert.equal(lines.length, LEVELS.length);
  const seen = new Set<string>();
  for (const line of lines) {
    const m = /^<(\d)>(\{.*\})$/.exec(line);
    assert.ok(m, `no <N> prefix: ${line}`);
    const o = JSON.parse(m[2]!) as { level: number; n: (typeof LEVELS)[number]; msg: string; note: string };
    seen.add(o.n);
    assert.equal(Number(m[1]), EXPECTED[o.n], `${o.n} → <${m[1]}>`);
    assert.equal(SYSLOG_PRIORITY[o.level], Number(m[1]));
    assert.equal(o.msg, `a ${o.n} line\nwith a newline`);
    assert.ok(!line.includes('hunter2-secret'), 'secrets are still scrubbed');
  }
  assert.deepEqual([...seen].sort(), [...LEVELS].sort(), 'every level once');
});

test('not the journal (no JOURNAL_STREAM, or it names another stream): plain JSON lines', async () => {
  for (const mode of ['unset', 'other'] as const) {
    const lines = await logEveryLevel(mode);
    assert.equal(lines.length, LEVELS.length);
    for (const line of lines) assert.equal((JSON.parse(line) as { n: string }).n.length > 0, true, line);
  }
});

test('fdIsJournal and withSyslogPrefix', () => {
  assert.equal(fdIsJournal(1, {}), false);
  assert.equal(fdIsJournal(1, { JOURNAL_STREAM: 'garbage' }), false);
  assert.equal(withSyslogPrefix('{"level":50,"msg":"x"}\n'), '<3>{"level":50,"msg":"x"}\n');
  assert.equal(withSyslogPrefix('not json\n'), '<6>not json\n');
});

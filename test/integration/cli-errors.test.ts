// Bad invocations as a user types them, each as a real process: the exit code (2 usage,
// 1 failure; agent/cli/errors.ts), a short message naming what is wrong and how to fix
// it, and no stack trace ("    at " lines) unless --debug asks for one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/chain.js';
import { writeDaemonConfig } from '../helpers/daemon.js';

const MAIN = new URL('../../agent/cli/main.ts', import.meta.url).pathname;
const STACK = /^\s{4}at /m;

const dir = tempDir('gw-cli-err-');
const missing = join(dir, 'no-such-state');
const roState = join(dir, 'ro-state');
mkdirSync(roState);
const config = writeDaemonConfig(dir, { stateDir: roState, mqtt: { url: 'mqtt://127.0.0.1:9' } });
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}, wrap: string[] = []): { code: number | null; out: string; err: string } {
  const argv = [process.execPath, '--import', 'tsx', MAIN, ...args];
  const r = wrap.length ? spawnSync(wrap[0], [...wrap.slice(1), ...argv], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 }) : spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A private mount namespace where the state dir is a read-only file system (root only). */
const roWrap = ['unshare', '-m', 'sh', '-c', `mount -t tmpfs -o ro tmpfs ${roState} && exec "$@"`, 'sh'];
const canRo = process.getuid?.() === 0 && spawnSync('unshare', ['-m', 'true']).status === 0;

interface Case {
  name: string;
  args: string[];
  code: number;
  message: RegExp;
  env?: Record<string, string>;
  wrap?: string[];
  skip?: string | false;
}

const cases: Case[] = [
  { name: 'spool stats, missing state dir', args: ['spool', 'stats', '--state-dir', missing], code: 1, message: /no spool at .*no-such-state\/spool\.db.*does not exist[\s\S]*fix: .*--state-dir/ },
  { name: 'events list, missing state dir', args: ['events', 'list', '--state-dir', missing], code: 1, message: /no spool at .*does not exist[\s\S]*fix:/ },
  { name: 'events tail, missing state dir', args: ['events', 'tail', '--state-dir', missing], code: 1, message: /no spool at/ },
  { name: 'events list --limit abc', args: ['events', 'list', '--limit', 'abc', '--state-dir', missing], code: 2, message: /--limit.*'abc'.*whole number/ },
  { name: 'spool stats --spool <a directory>', args: ['spool', 'stats', '--spool', dir], code: 2, message: /is a directory, not a spool file[\s\S]*fix: --spool names the file/ },
  { name: 'discover osdp on a port that does not exist', args: ['discover', 'osdp', '--port', '/dev/ttyNOPE0'], code: 1, message: /\/dev\/ttyNOPE0[\s\S]*fix: no such port: gatewarden discover serial/ },
  { name: 'discover serial without udevadm', args: ['discover', 'serial'], env: { PATH: join(dir, 'empty-path') }, code: 1, message: /udevadm not found[\s\S]*fix: install it \(apt-get install udev\)/ },
  { name: 'support-bundle -o into a missing directory', args: ['support-bundle', '-c', config, '-o', '/nonexistent/dir/x.tar.gz'], code: 1, message: /\/nonexistent\/dir does not exist[\s\S]*fix: create \/nonexistent\/dir/ },
  { name: 'spool stats, read-only state dir', args: ['spool', 'stats', '-c', config], wrap: roWrap, skip: canRo ? false : 'needs root (mount namespace)', code: 1, message: /read-only file system/ },
  { name: 'run, read-only state dir', args: ['run', '-c', config], wrap: roWrap, skip: canRo ? false : 'needs root (mount namespace)', code: 1, message: /ro-state is on a read-only file system[\s\S]*fix: remount it read-write/ },
  { name: 'unknown command', args: ['nope'], code: 2, message: /unknown command 'nope'/ },
  { name: 'unknown option', args: ['spool', 'stats', '--bogus'], code: 2, message: /unknown option '--bogus'/ },
  { name: 'excess argument', args: ['events', 'list', 'extra'], code: 2, message: /too many arguments/ },
];

for (const c of cases) {
  test(`bad invocation: ${c.name} → exit ${c.code}, short message, no stack`, { skip: c.skip ?? false, timeout: 120_000 }, () => {
    const r = run(c.args, c.env, c.wrap);
    const all = `${r.out}${r.err}`;
    assert.equal(r.code, c.code, `exit code for gatewarden ${c.args.join(' ')}:\n${all}`);
    assert.match(r.err, c.message);
    assert.doesNotMatch(all, STACK, `no stack trace:\n${all}`);
    assert.doesNotMatch(all, /uncaught|unhandled/i);
    // "One or two lines" (usage errors add the one-line pointer to --help); pino's JSON
    // lines (run) are the log, not the message.
    const lines = r.err.split('\n').filter((l) => l.trim() && !l.startsWith('{'));
    assert.ok(lines.length <= 3, `short message, got ${lines.length} lines:\n${r.err}`);
  });
}

test('--debug adds the stack trace', () => {
  const r = run(['spool', 'stats', '--state-dir', missing, '--debug']);
  assert.equal(r.code, 1);
  assert.match(r.err, /no spool at/);
  assert.match(r.err, STACK);
});

test('--help documents the exit codes', () => {
  const r = run(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.out, /Exit codes:\n\s+0\s+success\n\s+1\s+.*failed[\s\S]*2\s+usage/);
});

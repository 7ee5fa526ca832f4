// netwatch under the shipped unit's exact /proc view. The /proc options are parsed from
// systemd/gatewarden.service (ProtectProc= → hidepid=, ProcSubset=pid → subset=pid), so the
// test follows the unit: a private mount + pid namespace (`unshare -m -p -f`) mounts a
// fresh procfs with those options and runs the real CLI/daemon inside it.
//   1. With subset=pid added (what ProcSubset=pid does), netwatch is blind: `diag` fails
//      with a hint naming ProcSubset=pid, and the running daemon's `status` does not claim
//      a learned baseline (diag over the control socket fails too).
//   2. With the unit's own options, netwatch reads /proc/net and sees interfaces.
// Root only (mount namespaces); skipped, saying so, otherwise. subset=pid needs Linux ≥ 5.8.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/chain.js';
import { diagJson, runCli } from '../helpers/diag-cli.js';
import { writeDaemonConfig } from '../helpers/daemon.js';
import type { DiagCheck } from '../../agent/diag/types.js';

const MAIN = new URL('../../agent/cli/main.ts', import.meta.url).pathname;
const UNIT = new URL('../../systemd/gatewarden.service', import.meta.url).pathname;

/** mount(8) -o options for procfs that the unit's ProtectProc=/ProcSubset= produce (systemd.exec(5)). */
export function procMountOptions(unitText: string): string[] {
  const last = (key: string): string | undefined => [...unitText.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1].trim()).pop();
  const opts: string[] = [];
  const protect = last('ProtectProc') ?? 'default';
  if (protect !== 'default') opts.push(`hidepid=${protect}`);
  if ((last('ProcSubset') ?? 'all') === 'pid') opts.push('subset=pid');
  return opts;
}

function canMountProc(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (mount namespace)';
  const r = spawnSync('unshare', ['-m', '-p', '-f', '--mount-proc', 'sh', '-c', 'mount -t proc -o subset=pid proc /proc && test ! -e /proc/net/dev'], { encoding: 'utf8' });
  return r.status === 0 ? null : `unshare/mount -o subset=pid unavailable: ${r.stderr.trim() || `exit ${r.status}`}`;
}
const SKIP = canMountProc();

/** argv that runs `node --import tsx main.ts …args` with /proc mounted with `opts`. */
function underProcView(opts: string[], args: string[]): string[] {
  const mount = `mount -t proc ${opts.length ? `-o ${opts.join(',')} ` : ''}proc /proc`;
  return ['--kill-child=SIGKILL', '-m', '-p', '-f', '--mount-proc', 'sh', '-c', `${mount} && exec "$0" "$@"`, process.execPath, '--import', 'tsx', MAIN, ...args];
}

function config(dir: string): string {
  return writeDaemonConfig(dir, {
    // A closed port: the broker checks fail fast; only the netwatch rows matter here.
    mqtt: { url: 'mqtt://127.0.0.1:9', reconnect: { minMs: 1000, maxMs: 5000 } },
    control: { socket: join(dir, 'control.sock') },
    netwatch: { enabled: true, intervalSeconds: 0.5, learningSeconds: 0, monitorNeigh: false },
  });
}

async function diagUnder(opts: string[], cfg: string): Promise<{ code: number; checks: DiagCheck[] }> {
  const r = spawnSync('unshare', underProcView(opts, ['diag', '--json', '-c', cfg]), { encoding: 'utf8', timeout: 120_000 });
  let checks: DiagCheck[];
  try {
    checks = (JSON.parse(r.stdout) as { checks: DiagCheck[] }).checks;
  } catch {
    throw new Error(`diag did not print JSON (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.status ?? -1, checks };
}

const row = (checks: DiagCheck[], name: string): DiagCheck => {
  const c = checks.find((x) => x.check === name);
  assert.ok(c, `no check "${name}" in:\n${checks.map((x) => `${x.verdict} ${x.check}`).join('\n')}`);
  return c;
};

test('unit /proc options are parsed from the shipped unit', () => {
  assert.deepEqual(procMountOptions('ProtectProc=invisible\nProcSubset=pid\n'), ['hidepid=invisible', 'subset=pid']);
  assert.deepEqual(procMountOptions('# ProcSubset=pid\nProtectProc=default\n'), []);
  const opts = procMountOptions(readFileSync(UNIT, 'utf8'));
  assert.ok(opts.includes('hidepid=invisible'), `the unit keeps ProtectProc=invisible: ${opts.join(',')}`);
});

test('netwatch under ProcSubset=pid: diag fails with a fix hint; the unit as shipped: netwatch sees interfaces', { skip: SKIP ?? false, timeout: 240_000 }, async (t) => {
  const dir = tempDir('gw-procview-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = config(dir);
  const unitOpts = procMountOptions(readFileSync(UNIT, 'utf8'));
  const blindOpts = [...unitOpts.filter((o) => !o.startsWith('subset=')), 'subset=pid'];

  const blind = await diagUnder(blindOpts, cfg);
  const procfs = row(blind.checks, 'netwatch: netwatch.procfs');
  assert.equal(procfs.verdict, 'fail', JSON.stringify(procfs));
  assert.equal(procfs.section, 'netwatch');
  assert.match(procfs.hint ?? '', /ProcSubset=pid/);
  assert.equal(row(blind.checks, 'netwatch: netwatch.learning').verdict, 'fail', 'no baseline can be learned while blind');
  assert.equal(blind.code, 2, 'diag exits 2 on a failure');

  const shipped = await diagUnder(unitOpts, cfg);
  const ok = row(shipped.checks, 'netwatch: netwatch.procfs');
  assert.equal(ok.verdict, 'pass', `under the unit's own /proc options (${unitOpts.join(',')}): ${JSON.stringify(ok)}`);
  const m = /(\d+) interface\(s\)/.exec(ok.detail);
  assert.ok(m && Number(m[1]) >= 1, ok.detail);
  assert.equal(row(shipped.checks, 'netwatch: netwatch.neighbours').verdict, 'pass');
});

test('daemon under ProcSubset=pid: status says BLIND, not "baseline learned"; diag over the socket fails', { skip: SKIP ?? false, timeout: 240_000 }, async (t) => {
  const dir = tempDir('gw-procview-d-');
  const cfg = config(dir);
  const opts = [...procMountOptions(readFileSync(UNIT, 'utf8')).filter((o) => !o.startsWith('subset=')), 'subset=pid'];
  const child = spawn('unshare', underProcView(opts, ['run', '--config', cfg]), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  t.after(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const deadline = Date.now() + 60_000;
  while (!/control socket listening/.test(out)) {
    assert.ok(child.exitCode === null, `daemon exited:\n${out}`);
    assert.ok(Date.now() < deadline, `daemon did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // Let netwatch poll at least once (intervalSeconds 0.5).
  await new Promise((r) => setTimeout(r, 1500));
  const st = await runCli(['status', '--json', '-c', cfg]);
  assert.equal(st.code, 0, st.stderr);
  const nw = (JSON.parse(st.stdout) as { netwatch?: { baselineLearned: boolean; blind: boolean } }).netwatch;
  assert.deepEqual({ learned: nw?.baselineLearned, blind: nw?.blind }, { learned: false, blind: true });
  const text = await runCli(['status', '-c', cfg]);
  assert.match(text.stdout, /netwatch BLIND/);
  assert.doesNotMatch(text.stdout, /baseline learned/);

  const report = await diagJson(cfg);
  assert.equal(report.daemon, 'running');
  assert.equal(row(report.checks, 'netwatch: netwatch.procfs').verdict, 'fail');
  const learned = row(report.checks, 'LAN baseline learned');
  assert.equal(learned.verdict, 'fail');
  assert.match(learned.hint ?? '', /ProcSubset=pid/);
});

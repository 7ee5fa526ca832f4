// `npm run bench` section: what a field technician and a Pi feel. Runs the compiled CLI
// in dist/ (`npm run bench` builds it first).
//   1. CLI start-up: wall time of `gatewarden --version` and `gatewarden diag --help`
//      against `node -e 0` in the same run, median of several interleaved runs (goal ≤ 8×).
//   2. Demo RSS: `gatewarden demo` (what `npm start` runs) after warm-up (goal ≤ 100 MB),
//      split by mapping (/proc/PID/smaps: anonymous memory = V8 heaps, worker, SQLite page
//      cache and other malloc; the node binary; native addons; other libraries), and the
//      floor: a node that only imports the same modules.
// Run alone: node --import tsx scripts/bench/startup.ts
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;
const MAIN = join(ROOT, 'dist/agent/cli/main.js');
const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 9);
const WARMUP_S = Number(process.env.BENCH_DEMO_WARMUP_S ?? 25);
const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;

function wallMs(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore', env: { ...process.env, NODE_OPTIONS: '' } });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export function cliStartup(): string[] {
  const cases: Record<string, string[]> = { 'node -e 0': ['-e', '0'], 'gatewarden --version': [MAIN, '--version'], 'gatewarden diag --help': [MAIN, 'diag', '--help'] };
  const times: Record<string, number[]> = {};
  for (const k of Object.keys(cases)) wallMs(cases[k]); // page cache
  for (let i = 0; i < RUNS; i++) for (const [k, a] of Object.entries(cases)) (times[k] ??= []).push(wallMs(a));
  const base = median(times['node -e 0']);
  const out = [`startup  node -e 0 ${base.toFixed(0)} ms (median of ${RUNS})`];
  for (const k of ['gatewarden --version', 'gatewarden diag --help']) {
    const m = median(times[k]);
    out.push(`         ${k.padEnd(24)} ${m.toFixed(0)} ms | ratio ${(m / base).toFixed(1)}× node -e 0 (goal <= 8×)`);
  }
  return out;
}

/** Rss of a process by kind of mapping, in kB. */
function rssByMapping(pid: number): Record<string, number> {
  const parts: Record<string, number> = { anonymous: 0, 'node binary': 0, 'native addons (.node)': 0, 'shared libraries': 0, other: 0 };
  let kind = 'other';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const path = head[1];
      kind = path === '' || path.startsWith('[heap]') || path.startsWith('[anon') || path.startsWith('[stack') ? 'anonymous' : path === process.execPath || path.endsWith('/node') ? 'node binary' : path.endsWith('.node') ? 'native addons (.node)' : /\.so(\.|$)/.test(path) ? 'shared libraries' : 'other';
      continue;
    }
    const m = /^Rss:\s+(\d+) kB/.exec(line);
    if (m) parts[kind] += Number(m[1]);
  }
  return parts;
}

function vmRssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** RSS and V8 heap of a node that imports what the demo imports and starts nothing. */
function floor(): { rssKb: number; heapUsedKb: number; bareKb: number } {
  const mods = ['agent/daemon.js', 'agent/cli/demo.js', 'agent/demo/broker.js', 'agent/demo/sims.js', 'agent/demo/printer.js', 'drivers/registry.js'].map((m) => new URL(`../../dist/${m}`, import.meta.url).href);
  const code = `await Promise.all(${JSON.stringify(mods)}.map((m) => import(m))); await import('better-sqlite3'); await import('mqtt'); globalThis.gc?.(); const s = readFileSync('/proc/self/status', 'utf8'); console.log(JSON.stringify({ rss: Number(/VmRSS:\\s+(\\d+)/.exec(s)[1]), heap: process.memoryUsage().heapUsed }));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', `import { readFileSync } from 'node:fs'; ${code}`], { encoding: 'utf8', cwd: ROOT });
  const j = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { rss: number; heap: number };
  const bare = spawnSync(process.execPath, ['-e', "console.log(/VmRSS:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status','utf8'))[1])"], { encoding: 'utf8' });
  return { rssKb: j.rss, heapUsedKb: Math.round(j.heap / 1024), bareKb: Number(bare.stdout.trim()) };
}

export async function demoRss(): Promise<string[]> {
  const state = mkdtempSync(join(tmpdir(), 'gw-bench-demo-'));
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN, 'demo', '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', GATEWARDEN_STATE_DIR: state, GATEWARDEN_DEMO_PORT: String(port) } });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  try {
    await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
    if (child.exitCode !== null) throw new Error(`demo exited ${child.exitCode}: ${err.slice(-2000)}`);
    const samples: number[] = [];
    for (let i = 0; i < 20; i++) {
      samples.push(vmRssKb(child.pid!));
      await new Promise((r) => setTimeout(r, 250));
    }
    const parts = rssByMapping(child.pid!);
    const f = floor();
    const med = median(samples);
    return [
      `demo RSS ${mb(med)} median after ${WARMUP_S} s warm-up (max ${mb(Math.max(...samples))}) (goal <= 100 MB)`,
      `         by mapping: ${Object.entries(parts).map(([k, v]) => `${k} ${mb(v)}`).join(', ')}`,
      `         floor: node -e 0 ${mb(f.bareKb)}; node importing the demo's modules ${mb(f.rssKb)} (V8 heap used ${mb(f.heapUsedKb)}); the demo's running state on top: ${mb(med - f.rssKb)}`,
    ];
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    rmSync(state, { recursive: true, force: true });
  }
}

export async function startupSection(): Promise<string[]> {
  if (!existsSync(MAIN)) return [`startup  skipped: ${MAIN} missing (npm run build)`];
  return [...cliStartup(), ...(await demoRss())];
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  for (const l of await startupSection()) console.log(l);
}

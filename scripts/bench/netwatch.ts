// Netwatch benchmark (not a test): CPU and RSS of a netwatch child polling at a 5 s interval
// in a network namespace whose neighbour table holds 250 entries. The child is
// test/helpers/netwatch-child.ts under `ip netns exec`, so it pays the real costs: reading
// /proc/net/{arp,dev,tcp*,udp*,snmp}, scanning /proc/<pid>/fd for listener owners, the
// `ip monitor neigh` child, JSON baseline writes. CPU is utime+stime of the node process
// from /proc/<pid>/stat (the `ip monitor` child is reported separately), RSS from VmRSS.
// Needs root. Run: node --import tsx scripts/bench/netwatch.ts [seconds, default 60] [neighbours, default 250]
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SECONDS = Number(process.argv[2] ?? 60);
const NEIGHBOURS = Number(process.argv[3] ?? 250);
const INTERVAL = 5;
const ns = `gw-bench-${randomBytes(3).toString('hex')}`;
const stateDir = mkdtempSync(join(tmpdir(), 'gw-nwbench-'));
const ROOT = new URL('../..', import.meta.url).pathname;
const TICK = 100; // USER_HZ: /proc/<pid>/stat times are in clock ticks (proc(5))

const ip = (...a: string[]): void => void execFileSync('ip', a, { stdio: 'ignore' });

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
}
function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

try {
  ip('netns', 'add', ns);
  ip('-n', ns, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', ns, 'addr', 'add', '10.80.0.1/16', 'dev', 'br0');
  ip('-n', ns, 'link', 'set', 'br0', 'up');
  // Permanent entries: a realistic table size without 250 namespaces (the parser and
  // detectors see exactly what a busy LAN's /proc/net/arp looks like).
  const batch = Array.from({ length: NEIGHBOURS }, (_, i) => {
    const ipAddr = `10.80.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`;
    const mac = `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
    return `neigh add ${ipAddr} lladdr ${mac} dev br0 nud permanent`;
  }).join('\n');
  execFileSync('ip', ['-n', ns, '-batch', '-'], { input: batch });

  const config = { enabled: true, interfaces: ['br0'], intervalSeconds: INTERVAL, learningSeconds: 10 };
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', join(ROOT, 'test/helpers/netwatch-child.ts'), JSON.stringify(config), stateDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let polls = 0;
  child.stdout.on('data', (b: Buffer) => {
    for (const m of b.toString().matchAll(/"polls":(\d+)/g)) polls = Number(m[1]);
  });
  const pid = child.pid!;
  // Skip startup (tsx compile, first poll): measure the steady state only.
  while (polls < 1) await new Promise((r) => setTimeout(r, 200));
  const c0 = cpuTicks(pid);
  const p0 = polls;
  const t0 = performance.now();
  let rssMax = 0;
  while (performance.now() - t0 < SECONDS * 1000) {
    rssMax = Math.max(rssMax, rssKiB(pid));
    await new Promise((r) => setTimeout(r, 1000));
  }
  const wall = (performance.now() - t0) / 1000;
  const cpuS = (cpuTicks(pid) - c0) / TICK;
  const monitor = childPids(pid).map((p) => ({ pid: p, rssKiB: rssKiB(p) }));
  const result = {
    neighbours: NEIGHBOURS,
    intervalSeconds: INTERVAL,
    measuredSeconds: Math.round(wall),
    polls: polls - p0,
    cpuPercent: Math.round((cpuS / wall) * 10000) / 100,
    cpuMsPerPoll: polls > p0 ? Math.round((cpuS * 1000) / (polls - p0)) : null,
    rssMiB: Math.round(rssKiB(pid) / 102.4) / 10,
    rssMaxMiB: Math.round(rssMax / 102.4) / 10,
    ipMonitorRssKiB: monitor.map((m) => m.rssKiB),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
} finally {
  try {
    ip('netns', 'del', ns);
  } catch {
    /* already gone */
  }
  rmSync(stateDir, { recursive: true, force: true });
}

// Lint-like guard: drivers reconnect only through the reconnecting link
// (drivers/transport/link.ts, docs/drivers.md), and netwatch's helper processes restart
// only through agent/restarting-child.ts. A private retry loop in drivers/ outside
// transport/ or in agent/anomaly/ (a timer-scheduled reopen or restart, a doubling delay,
// the backoff helpers used directly) fails this test.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
/** Folders scanned, and the one place under each that may hold the loop. */
const SCANNED: Array<{ dir: string; except?: string }> = [
  { dir: 'drivers', except: 'drivers/transport/' },
  { dir: 'agent/anomaly' },
];

const RULES: Array<{ name: string; re: RegExp }> = [
  { name: 'doubling delay', re: /Math\.min\(\s*[\w.]+\s*\*\s*2\s*,|[\w.]+\s*\*=\s*2\b|[\w.]+\s*\*\s*2\s*\*\*/ },
  { name: 'backoff helper outside the link', re: /\/backoff\.js['"]|fullJitterDelay|new Backoff\(/ },
  { name: 'timer-scheduled reopen', re: /(reopen|reconnect|retry|restart)Timer\b|schedule(Reopen|Reconnect|Retry|Restart)\b/i },
  { name: 'reopen inside a timer', re: /setTimeout\(.*\.(open|connect)\(/ },
];

/**
 * Doubling delays that are not link reconnects: per-device probes on an open line (the link
 * is up; one silent reader or unit among several is polled less often). Adding to this
 * list needs the same argument.
 */
const ALLOWED: Array<{ file: string; includes: string }> = [
  // Per-unit probe backoff on an open line, through the one backoff (full jitter).
  { file: 'drivers/modbus/unit.ts', includes: "import { backoffDelay } from '../../agent/backoff.js';" },
  { file: 'drivers/osdp/cp/reader.ts', includes: 'this.probeBackoff * 2' },
  { file: 'drivers/osdp/cp/reader.ts', includes: 'this.scBackoff * 2' },
];

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

export function findPrivateLoops(file: string, text: string): string[] {
  const hits: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (/^\s*(\/\/|\*)/.test(line)) return;
    for (const r of RULES) {
      if (!r.re.test(line)) continue;
      if (ALLOWED.some((a) => a.file === file && line.includes(a.includes))) continue;
      hits.push(`${file}:${i + 1}: ${r.name}: ${line.trim()}`);
    }
  });
  return hits;
}

test('no driver or netwatch child keeps a private reconnect loop (drivers/ outside transport/, agent/anomaly/)', () => {
  const hits: string[] = [];
  for (const { dir, except } of SCANNED) {
    for (const f of tsFiles(join(ROOT, dir))) {
      const rel = relative(ROOT, f);
      if (except && rel.startsWith(except)) continue;
      hits.push(...findPrivateLoops(rel, readFileSync(f, 'utf8')));
    }
  }
  assert.deepEqual(hits, [], 'reconnect through drivers/transport/link.ts (docs/drivers.md); restart a child through agent/restarting-child.ts');
});

test('the guard catches the loops the drivers used to have', () => {
  const old = [
    "import { Backoff } from '../../agent/backoff.js';",
    '    this.reopenTimer = setTimeout(() => {',
    '      this.port.open().catch(() => this.scheduleReopen(Math.min(delay * 2, 30_000)));',
    '        delay = Math.min(delay * 2, this.o.cfg.reconnect.maxMs);',
    '        await sleep(fullJitterDelay(attempt++, this.cfg.reconnect.minMs, this.cfg.reconnect.maxMs), this.abort.signal);',
    '    setTimeout(() => void this.link.open(), 500);',
  ].join('\n');
  const hits = findPrivateLoops('drivers/x/driver.ts', old);
  assert.equal(new Set(hits.map((h) => h.split(':')[1])).size, 6, hits.join('\n'));
  // The restart loops netwatch's children (tcpdump, ip monitor) used to have.
  const child = [
    '      const delay = Math.min(60_000, 500 * 2 ** Math.min(this.failures, 7));',
    '      this.restartTimer = setTimeout(() => this.start(), delay);',
    "import { Backoff } from '../backoff.js';",
  ].join('\n');
  assert.equal(findPrivateLoops('agent/anomaly/capture.ts', child).length, 3, findPrivateLoops('agent/anomaly/capture.ts', child).join('\n'));
  // The allow-list is per file: the same doubling elsewhere is caught.
  assert.equal(findPrivateLoops('drivers/x/unit.ts', '    this.backoffMs = Math.min(this.backoffMs * 2, backoff.maxMs);').length, 1);
});

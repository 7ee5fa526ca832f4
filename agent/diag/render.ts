// Human rendering of a diag report: one table, ✔/⚠/✖/– per check, the fix hint on the
// line below every non-pass row, and a summary line.
import type { DiagCheck, DiagReport, Verdict } from './types.js';

const MARK: Record<Verdict, string> = { pass: '✔', warn: '⚠', fail: '✖', skip: '–' };

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

export function renderReport(r: DiagReport): string {
  const rows = r.checks;
  const wSec = Math.max(7, ...rows.map((c) => c.section.length));
  const wChk = Math.min(40, Math.max(5, ...rows.map((c) => c.check.length)));
  const wDev = Math.min(24, Math.max(0, ...rows.map((c) => (c.device ?? '').length)));
  const lines = [`gatewarden diag — ${r.host}, version ${r.version}, daemon ${r.daemon}, ${r.ts}`, ''];
  lines.push(`  ${pad('section', wSec)}  ${pad('check', wChk)}  ${pad('device', wDev)}  detail`);
  for (const c of rows) lines.push(...row(c, wSec, wChk, wDev));
  const s = r.summary;
  lines.push('', `${s.pass} ok, ${s.warn} warning(s), ${s.fail} failure(s), ${s.skip} skipped → exit ${r.exitCode}`);
  return lines.join('\n');
}

function row(c: DiagCheck, wSec: number, wChk: number, wDev: number): string[] {
  const out = [`${MARK[c.verdict]} ${pad(c.section, wSec)}  ${pad(c.check, wChk)}  ${pad(c.device ?? '', wDev)}  ${c.detail}`];
  if (c.verdict !== 'pass' && c.hint) out.push(`  ${' '.repeat(wSec)}  → fix: ${c.hint}`);
  return out;
}

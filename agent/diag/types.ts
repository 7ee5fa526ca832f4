// The shape of a `gatewarden diag` run. A check is the driver seam's
// DiagnosticResult (drivers/types.ts) plus the section it belongs to; the report's exit
// code is 0 when everything passed, 1 with warnings, 2 with failures.
import type { DiagnosticResult, Verdict } from '../../drivers/types.js';

export type { Verdict };

export type DiagSection = 'config' | 'key' | 'clock' | 'disk' | 'spool' | 'daemon' | 'broker' | 'drivers' | 'netwatch';

export interface DiagCheck extends DiagnosticResult {
  section: DiagSection;
  /** Driver instance that produced the check (drivers section only). */
  instance?: string;
}

export interface DiagReport {
  version: string;
  host: string;
  ts: string;
  /** How device checks were obtained: from the running daemon, or by creating drivers briefly. */
  daemon: 'running' | 'not running';
  checks: DiagCheck[];
  summary: Record<Verdict, number>;
  exitCode: 0 | 1 | 2;
}

export function summarize(checks: DiagCheck[]): { summary: Record<Verdict, number>; exitCode: 0 | 1 | 2 } {
  const summary: Record<Verdict, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) summary[c.verdict] += 1;
  return { summary, exitCode: summary.fail > 0 ? 2 : summary.warn > 0 ? 1 : 0 };
}

/** Build a check; a non-pass verdict without a hint is a bug in the check, so it is required here. */
export function pass(section: DiagSection, check: string, detail: string, device?: string): DiagCheck {
  return { section, check, verdict: 'pass', detail, ...(device ? { device } : {}) };
}
export function problem(section: DiagSection, verdict: 'warn' | 'fail' | 'skip', check: string, detail: string, hint: string, device?: string): DiagCheck {
  return { section, check, verdict, detail, hint, ...(device ? { device } : {}) };
}

// Runs `gatewarden <args>` (diag, support-bundle …) as a real child process and returns
// its exit code and output; diag --json output is parsed into the report.
import { execFile } from 'node:child_process';
import type { DiagCheck, DiagReport } from '../../agent/diag/types.js';

const MAIN = new URL('../../agent/cli/main.ts', import.meta.url).pathname;

export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export async function diagJson(config: string, extra: string[] = [], env: Record<string, string> = {}): Promise<DiagReport & { code: number }> {
  const r = await runCli(['diag', '--json', '-c', config, ...extra], env);
  let report: DiagReport;
  try {
    report = JSON.parse(r.stdout) as DiagReport;
  } catch {
    throw new Error(`diag did not print JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { ...report, code: r.code };
}

export function find(r: DiagReport, check: string): DiagCheck {
  const c = r.checks.find((x) => x.check === check);
  if (!c) throw new Error(`no check "${check}" in:\n${r.checks.map((x) => `${x.verdict} ${x.check}`).join('\n')}`);
  return c;
}

export function failures(r: DiagReport): string[] {
  return r.checks.filter((c) => c.verdict === 'fail' || c.verdict === 'warn').map((c) => `${c.verdict} ${c.section}/${c.check}: ${c.detail}`);
}

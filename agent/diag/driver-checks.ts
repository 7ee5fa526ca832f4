// Device checks come from each driver's own diagnose() (docs/contracts.md §Driver seam), never from a central
// switch, so a driver that lands later brings its checks with it. While the daemon runs,
// its supervisor runs them over the control socket (diag must not open serial ports the
// daemon holds). An instance the daemon could not start holds no port, so diag creates
// it here, unstarted, to ask it why; with no daemon at all, diag creates each instance
// briefly (start → diagnose → stop).
import pino from 'pino';
import type { DriverInstanceConfig } from '../../config/loader.js';
import { loadManifest } from '../../drivers/registry.js';
import { systemClock } from '../clock.js';
import type { DiagnosticResult, Driver } from '../../drivers/types.js';
import type { InstanceStatus } from '../supervisor.js';
import type { Identity } from './perms.js';
import { problem, type DiagCheck } from './types.js';

/** The control socket's `diag` answer (agent/control/endpoints.ts). */
export interface DaemonDiag {
  identity: Identity & { pid: number };
  instances: InstanceStatus[];
  checks: Array<DiagnosticResult & { instance: string; kind: string }>;
}

function toCheck(r: DiagnosticResult, inst: DriverInstanceConfig | { id: string; kind: string }): DiagCheck {
  const c: DiagCheck = { section: inst.kind === 'netwatch' ? 'netwatch' : 'drivers', instance: inst.id, check: `${inst.kind}: ${r.check}`, verdict: r.verdict, detail: r.detail, device: r.device ?? inst.id };
  if (r.verdict !== 'pass') c.hint = r.hint ?? `see drivers/${inst.kind}/README.md`;
  return c;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p.finally(() => clearTimeout(t)), new Promise<T>((_, rej) => (t = setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms`)), ms)))]);
}

async function briefInstance(inst: DriverInstanceConfig, start: boolean, timeoutMs: number, stateDir: string): Promise<DiagCheck[]> {
  const out: DiagCheck[] = [];
  const abort = new AbortController();
  let driver: Driver;
  try {
    const m = await loadManifest(inst.kind);
    driver = m.create(inst.config, { emit: () => undefined, reportError: () => undefined, log: pino({ level: 'silent' }), clock: systemClock, signal: abort.signal, stateDir });
  } catch (e) {
    return [problem('drivers', 'fail', `${inst.kind}: create`, (e as Error).message, `fix drivers.${inst.kind}[${inst.index}] in the config`, inst.id)];
  }
  let started = false;
  try {
    if (start) {
      try {
        await withTimeout(driver.start(), timeoutMs, 'start');
        started = true;
      } catch (e) {
        out.push({ ...problem('drivers', 'fail', `${inst.kind}: start`, (e as Error).message, 'see the device checks that follow', inst.id), instance: inst.id });
      }
    }
    const rs = await withTimeout(driver.diagnose(), timeoutMs, 'diagnose');
    out.push(...rs.map((r) => toCheck(r, inst)));
  } catch (e) {
    out.push({ ...problem('drivers', 'fail', `${inst.kind}: diagnose`, (e as Error).message, 'the driver could not run its checks; see the journal', inst.id), instance: inst.id });
  } finally {
    abort.abort();
    if (started || start) await withTimeout(driver.stop(), 5000, 'stop').catch(() => undefined);
  }
  return out;
}

/** Device checks while the daemon runs: its answers, plus a local look at instances it could not start. */
export async function driverChecksFromDaemon(d: DaemonDiag, instances: DriverInstanceConfig[], stateDir: string, timeoutMs = 20_000): Promise<DiagCheck[]> {
  const out: DiagCheck[] = d.checks.map((r) => toCheck(r, { id: r.instance, kind: r.kind }));
  for (const st of d.instances) {
    if (st.state === 'running') continue;
    const cfg = instances.find((i) => i.id === st.id);
    if (cfg) out.push(...(await briefInstance(cfg, false, timeoutMs, stateDir)));
  }
  return out;
}

/** Device checks with no daemon: each instance is created, started, diagnosed and stopped. */
export async function driverChecksStandalone(instances: DriverInstanceConfig[], stateDir: string, timeoutMs = 20_000): Promise<DiagCheck[]> {
  const out: DiagCheck[] = [];
  for (const inst of instances) out.push(...(await briefInstance(inst, true, timeoutMs, stateDir)));
  return out;
}

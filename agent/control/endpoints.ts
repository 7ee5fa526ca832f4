// The daemon's field endpoints: the control socket (always on; docs/contracts.md §Files) and
// the optional Prometheus endpoint. Kept out of daemon.ts so the composition root only
// starts and stops them. A failure to bind either is logged and the daemon runs on:
// losing local diagnostics must never stop evidence from flowing.
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { ClockSync } from '../events/types.js';
import type { ForwarderStatus } from '../forward/forwarder-types.js';
import type { SpoolStats } from '../spool/types.js';
import type { Supervisor } from '../supervisor.js';
import { deviceOnline, type DiagnosticResult } from '../../drivers/types.js';
import { VERSION } from '../version.js';
import { errorCount, MetricsServer, stateFsFigures, type MetricsSnapshot, type SpoolWriteHealth } from '../metrics.js';
import type { ClockSyncDetail } from '../clock-sync.js';
import { controlSocketPath } from './client.js';
import { ControlServer } from './server.js';

/** What the endpoints read from the daemon (agent/daemon.ts implements it). */
export interface DaemonView {
  status(): Record<string, unknown>;
  healthSnapshot(): Record<string, unknown>;
  spoolStats(): SpoolStats;
  clockSyncState(): ClockSync;
  /** The clock probe's last full answer (source, offset; agent/clock-sync.ts). */
  clockSyncDetail?(): ClockSyncDetail;
  supervisor: Pick<Supervisor, 'diagnose' | 'status' | 'health'>;
  /** netwatch's checks while it is not running (drivers/netwatch/), reported as instance/kind `netwatch`. */
  netwatchDiagnose?(): Promise<DiagnosticResult[]>;
  forwarder: { status(): ForwarderStatus };
  /** Committed state only: what the spool writer committed, and how it is doing. */
  spoolWriteHealth(): SpoolWriteHealth;
  /** Re-read the config as SIGHUP does; resolves with the outcome (ReloadOutcome, agent/control/reload-outcome.ts). */
  reload(): Promise<unknown>;
  /** Rotate the gateway key (agent/key-rotation.ts); resolves with the old and new kid. */
  rotateKey(reason?: string): Promise<unknown>;
  /** Technician override: open a door for `ms` (agent/access/); absent when access decisions are off. */
  doorUnlock?(door: string, ms: number): Promise<unknown>;
}

export interface FieldEndpoints {
  control: ControlServer | null;
  metricsPort: number | null;
  stop(): Promise<void>;
}

/** Who the daemon runs as: diag checks file permissions as this identity. */
export function processIdentity(): { pid: number; uid: number; gid: number; groups: number[] } {
  return { pid: process.pid, uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1, groups: process.getgroups?.() ?? [] };
}

export function metricsSnapshot(d: DaemonView, o: { stateDir?: string } = {}): MetricsSnapshot {
  const f = d.forwarder.status();
  const clock = d.clockSyncDetail?.();
  const spool = d.spoolStats();
  const write = d.spoolWriteHealth();
  return {
    spool,
    acceptedTotal: write.committedTotal,
    committedHead: spool.head ? { epoch: spool.head.epoch, seq: spool.head.seq } : null,
    write,
    mqtt: { connected: f.connected, reconnects: f.reconnects },
    devices: d.supervisor.health().map((h) => ({ driver: h.kind, instance: h.instance, device: h.device, online: deviceOnline(h.state), errors: errorCount(h.counters) })),
    driverErrors: d.supervisor.status().map((s) => ({ driver: s.kind, instance: s.id, errors: s.errors })),
    observationsRejected: d.supervisor.status().flatMap((s) => Object.entries(s.rejected ?? {}).map(([type, count]) => ({ driver: s.kind, instance: s.id, type, count }))),
    clockSync: d.clockSyncState(),
    ...(clock ? { clock: { offsetSeconds: clock.offsetSeconds, via: clock.via } } : {}),
    mqttInflight: f.inflight,
    mqttLastAckSeconds: f.lastAckAt ? Date.parse(f.lastAckAt) / 1000 : null,
    driverRestarts: d.supervisor.status().map((s) => ({ driver: s.kind, instance: s.id, restarts: Math.max(0, s.attempts - 1) })),
    deviceLastSeen: d.supervisor.health().flatMap((h) => (h.lastSeen === null ? [] : [{ driver: h.kind, instance: h.instance, device: h.device, seconds: h.lastSeen / 1000 }])),
    stateFs: o.stateDir ? stateFsFigures(o.stateDir) : null,
    build: { version: VERSION, node: process.version, arch: process.arch },
  };
}

export async function startFieldEndpoints(o: { daemon: DaemonView; config: Config; source: string; log: Logger }): Promise<FieldEndpoints> {
  const { daemon: d, config, log } = o;
  const path = controlSocketPath(config);
  let metrics: MetricsServer | null = null;
  let metricsPort: number | null = null;
  const control = new ControlServer({
    path,
    onError: (err) => log.warn({ err }, 'control socket error'),
    handlers: {
      status: () => ({ ...d.status(), version: VERSION, config: o.source, identity: processIdentity(), controlSocket: path, metricsPort }),
      health: () => d.healthSnapshot(),
      'spool-stats': () => d.spoolStats(),
      reload: () => d.reload(),
      'key-rotate': () => d.rotateKey('operator'),
      'door-unlock': (p) => {
        if (!d.doorUnlock) throw new Error('access decisions are off on this gateway (access.enabled: false)');
        const { door, forMs } = p;
        if (typeof door !== 'string' || door === '') throw new Error('door-unlock: params.door must be a door id');
        if (typeof forMs !== 'number' || !Number.isInteger(forMs) || forMs < 100 || forMs > 600_000) throw new Error('door-unlock: params.forMs must be 100–600000 ms');
        return d.doorUnlock(door, forMs);
      },
      diag: async () => ({
        identity: processIdentity(),
        instances: d.supervisor.status(),
        checks: [...(await d.supervisor.diagnose()), ...((await d.netwatchDiagnose?.()) ?? []).map((r) => ({ ...r, instance: 'netwatch', kind: 'netwatch' }))],
      }),
    },
  });
  let controlUp: ControlServer | null = control;
  try {
    await control.start();
    log.info({ socket: path }, 'control socket listening');
  } catch (err) {
    controlUp = null;
    log.error({ err, socket: path }, 'control socket not available; `gatewarden diag` will work without the daemon view');
  }
  if (config.metrics.enabled) {
    metrics = new MetricsServer({ host: config.metrics.host, port: config.metrics.port, snapshot: () => metricsSnapshot(d, { stateDir: config.stateDir }) });
    try {
      metricsPort = await metrics.start();
      log.info({ host: config.metrics.host, port: metricsPort }, 'metrics endpoint listening');
    } catch (err) {
      metrics = null;
      log.error({ err }, 'metrics endpoint could not listen');
    }
  }
  return {
    control: controlUp,
    get metricsPort() {
      return metricsPort;
    },
    stop: async () => {
      await Promise.all([controlUp?.stop(), metrics?.stop()]);
    },
  };
}

// Optional Prometheus endpoint: Prometheus text exposition format 0.0.4 served
// on GET /metrics, default off, 127.0.0.1 when on. Hand-written rather than prom-client:
// every value here already exists as a counter or gauge in the daemon, so a snapshot
// rendered on scrape is enough. Measured (Node 20, x64, after GC, 12 gauges x 20 devices,
// 100 scrapes): prom-client 15 with default metrics +1.7 MiB heap / +11-15 MiB RSS; this
// file +0.2 MiB heap / <3 MiB RSS (mostly module load). The snapshot is built by the daemon.
import { statfsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';

export interface DeviceMetric {
  driver: string;
  instance: string;
  device: string;
  online: boolean;
  /** Sum of the device's error-like counters (crcErrors, timeouts, naks …). */
  errors: number;
}

/** The spool writer's state as health (`spool.write`) and metrics show it (agent/daemon.ts builds it). */
export interface SpoolWriteHealth {
  state: 'ok' | 'failing';
  /** First failed attempt of the current failure (ISO), null when ok. */
  since: string | null;
  attempts: number;
  lastError: { message: string; code: string | null } | null;
  /** Failed append attempts since start. */
  errorsTotal: number;
  /** Sealed events not yet committed (signing stage + writer). */
  uncommitted: number;
  maxBacklogEvents: number;
  /** Events committed by this process (= accepted). */
  committedTotal: number;
  refusedTotal: number;
  /** Refusals not yet declared by a signed system.spool.write_failed. */
  refusedUndeclared: number;
  refused: Array<{ driver: string; type: string; count: number; first: string; last: string }>;
  reserve: { bytes: number; held: boolean; releases: number } | null;
}

export interface MetricsSnapshot {
  spool: { depth: number; unsent: number; oldestUnsentAgeMs: number | null; bytes: number; quotaBytes: number; droppedEvents: number; sentTotal: number };
  /** Events committed to the spool by this process (accepted), never merely sealed. */
  acceptedTotal: number;
  /** Head of the last committed batch (null before the first commit). */
  committedHead?: { epoch: string; seq: number } | null;
  write?: SpoolWriteHealth;
  mqtt: { connected: boolean; reconnects: number };
  devices: DeviceMetric[];
  driverErrors: Array<{ driver: string; instance: string; errors: number }>;
  /** Observations the pipeline rejected as contract breaches, per driver instance and event type (refusals for a full backlog are in `write.refused`). */
  observationsRejected?: Array<{ driver: string; instance: string; type: string; count: number }>;
  clockSync: 'ntp' | 'rtc' | 'none';
  /** Local clock minus NTP time (s) and the source that said so (agent/clock-sync.ts); absent or null offset when unknown. */
  clock?: { offsetSeconds: number | null; via: string | null };
  /** Broker side: publishes awaiting PUBACK, last PUBACK (unix s, null before the first). */
  mqttInflight?: number;
  mqttLastAckSeconds?: number | null;
  /** Start attempts after the first, per driver instance (restarts after a failed start or a fault). */
  driverRestarts?: Array<{ driver: string; instance: string; restarts: number }>;
  /** Last valid frame/answer per device (unix s); devices never seen are left out. */
  deviceLastSeen?: Array<{ driver: string; instance: string; device: string; seconds: number }>;
  /** The filesystem holding the state directory (statfs). */
  stateFs?: { path: string; freeBytes: number; sizeBytes: number } | null;
  build?: { version: string; node: string; arch: string };
}

type Labels = Record<string, string>;

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labels(l: Labels): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

class Exposition {
  private out: string[] = [];
  metric(name: string, type: 'gauge' | 'counter', help: string, samples: Array<[Labels, number]>): void {
    this.out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [l, v] of samples) this.out.push(`${name}${labels(l)} ${Number.isFinite(v) ? v : 'NaN'}`);
  }
  text(): string {
    return `${this.out.join('\n')}\n`;
  }
}

/** Renders a snapshot (plus this process's RSS/CPU) as Prometheus text format 0.0.4. */
export function renderMetrics(s: MetricsSnapshot, proc = processFigures()): string {
  const e = new Exposition();
  const g = (name: string, help: string, v: number): void => e.metric(name, 'gauge', help, [[{}, v]]);
  const c = (name: string, help: string, v: number): void => e.metric(name, 'counter', help, [[{}, v]]);
  g('gatewarden_spool_depth', 'Events stored in the spool (sent and unsent).', s.spool.depth);
  g('gatewarden_spool_unsent', 'Events not yet acknowledged by the broker.', s.spool.unsent);
  g('gatewarden_spool_oldest_unsent_age_seconds', 'Age of the oldest unsent event (0 when none).', (s.spool.oldestUnsentAgeMs ?? 0) / 1000);
  g('gatewarden_spool_bytes', 'Bytes of stored events.', s.spool.bytes);
  g('gatewarden_spool_quota_bytes', 'Spool quota in bytes.', s.spool.quotaBytes);
  c('gatewarden_events_accepted_total', 'Events committed to the spool by this process (accepted).', s.acceptedTotal);
  e.metric('gatewarden_chain_committed_seq', 'gauge', 'Seq of the last committed event (the head health publishes).', s.committedHead ? [[{ epoch: s.committedHead.epoch }, s.committedHead.seq]] : []);
  if (s.write) {
    const w = s.write;
    g('gatewarden_spool_write_failing', '1 while spool appends fail (disk full, I/O errors).', w.state === 'failing' ? 1 : 0);
    c('gatewarden_spool_write_errors_total', 'Failed spool append attempts.', w.errorsTotal);
    g('gatewarden_spool_uncommitted_events', 'Sealed events waiting in memory to be committed.', w.uncommitted);
    e.metric('gatewarden_observations_refused_total', 'counter', 'Observations refused before sealing while the spool could not write.', w.refused.map((r) => [{ driver: r.driver, type: r.type }, r.count]));
    if (w.reserve) g('gatewarden_spool_reserve_held', '1 while the spool reserve (ballast) is held.', w.reserve.held ? 1 : 0);
  }
  c('gatewarden_events_sent_total', 'Events acknowledged by the broker (spool lifetime).', s.spool.sentTotal);
  c('gatewarden_events_dropped_total', 'Events dropped under quota (each announced by a signed overflow event).', s.spool.droppedEvents);
  g('gatewarden_mqtt_connected', '1 when connected to the broker.', s.mqtt.connected ? 1 : 0);
  c('gatewarden_mqtt_reconnects_total', 'Broker connection attempts after the first.', s.mqtt.reconnects);
  e.metric('gatewarden_device_online', 'gauge', '1 when the device is online.', s.devices.map((d) => [{ driver: d.driver, instance: d.instance, device: d.device }, d.online ? 1 : 0]));
  e.metric('gatewarden_device_errors_total', 'counter', 'Protocol errors per device (CRC, timeouts, NAKs …).', s.devices.map((d) => [{ driver: d.driver, instance: d.instance, device: d.device }, d.errors]));
  e.metric('gatewarden_driver_errors_total', 'counter', 'Errors reported by each driver instance.', s.driverErrors.map((d) => [{ driver: d.driver, instance: d.instance }, d.errors]));
  e.metric('gatewarden_observations_rejected_total', 'counter', 'Observations the pipeline rejected as contract breaches (a driver fault), per driver instance and event type (not in the chain; the driver was told). Refusals for a full backlog are gatewarden_observations_refused_total.', (s.observationsRejected ?? []).map((r) => [{ driver: r.driver, instance: r.instance, type: r.type }, r.count]));
  e.metric('gatewarden_clock_sync', 'gauge', 'Clock source of event timestamps (1 for the current one).', (['ntp', 'rtc', 'none'] as const).map((k) => [{ source: k }, s.clockSync === k ? 1 : 0]));
  if (s.clock) {
    e.metric('gatewarden_clock_offset_seconds', 'gauge', 'Local clock minus NTP time as the time daemon reports it (positive = fast); absent when it reports none.', s.clock.offsetSeconds === null ? [] : [[{ via: s.clock.via ?? 'unknown' }, s.clock.offsetSeconds]]);
  }
  if (s.mqttInflight !== undefined) g('gatewarden_mqtt_inflight', 'QoS 1 publishes awaiting the broker PUBACK.', s.mqttInflight);
  if (s.mqttLastAckSeconds !== undefined) e.metric('gatewarden_mqtt_last_ack_timestamp_seconds', 'gauge', 'Unix time of the last broker PUBACK (absent before the first).', s.mqttLastAckSeconds === null ? [] : [[{}, s.mqttLastAckSeconds]]);
  if (s.driverRestarts) e.metric('gatewarden_driver_restarts_total', 'counter', 'Driver start attempts after the first (after a failed start or a fault), per instance.', s.driverRestarts.map((d) => [{ driver: d.driver, instance: d.instance }, d.restarts]));
  if (s.deviceLastSeen) e.metric('gatewarden_device_last_seen_timestamp_seconds', 'gauge', 'Unix time of the last valid frame or answer from the device (absent if never seen).', s.deviceLastSeen.map((d) => [{ driver: d.driver, instance: d.instance, device: d.device }, d.seconds]));
  if (s.stateFs) {
    e.metric('gatewarden_state_fs_free_bytes', 'gauge', 'Bytes available to the daemon on the filesystem of the state directory.', [[{ path: s.stateFs.path }, s.stateFs.freeBytes]]);
    e.metric('gatewarden_state_fs_size_bytes', 'gauge', 'Size of the filesystem of the state directory.', [[{ path: s.stateFs.path }, s.stateFs.sizeBytes]]);
  }
  if (s.build) e.metric('gatewarden_build_info', 'gauge', 'Build of the running daemon (always 1).', [[{ version: s.build.version, node: s.build.node, arch: s.build.arch }, 1]]);
  g('process_resident_memory_bytes', 'Resident memory size in bytes.', proc.rss);
  c('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', proc.cpuSeconds);
  g('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', proc.startTime);
  return e.text();
}

const START = Date.now() / 1000 - process.uptime();

export function processFigures(): { rss: number; cpuSeconds: number; startTime: number } {
  const cpu = process.cpuUsage();
  return { rss: process.memoryUsage.rss(), cpuSeconds: (cpu.user + cpu.system) / 1e6, startTime: Math.round(START) };
}

/** Free and total bytes of the filesystem holding `dir` (statfs); null when it cannot be read. */
export function stateFsFigures(dir: string): { path: string; freeBytes: number; sizeBytes: number } | null {
  try {
    const st = statfsSync(dir);
    return { path: dir, freeBytes: st.bavail * st.bsize, sizeBytes: st.blocks * st.bsize };
  } catch {
    return null;
  }
}

/** Counter names that count errors, summed into gatewarden_device_errors_total. */
export function errorCount(counters: Record<string, number>): number {
  let n = 0;
  for (const [k, v] of Object.entries(counters)) if (/error|timeout|nak|exception|fail/i.test(k)) n += v;
  return n;
}

export interface MetricsServerOptions {
  host: string;
  port: number;
  snapshot(): MetricsSnapshot;
}

export class MetricsServer {
  private server: Server | null = null;
  constructor(private readonly o: MetricsServerOptions) {}

  /** Resolves with the bound port (useful with port 0). */
  async start(): Promise<number> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics\n');
        return;
      }
      try {
        const body = renderMetrics(this.o.snapshot());
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
      } catch (e) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`);
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.host, () => resolve());
    });
    this.server = server;
    const a = server.address();
    return typeof a === 'object' && a ? a.port : this.o.port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

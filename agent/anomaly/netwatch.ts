// Netwatch: the gateway's own LAN telemetry as `network.*` observations (docs/contracts.md
// §Pipeline, docs/netwatch.md). A component with the driver lifecycle (start/stop/health/diagnose, drivers/types.ts)
// but owned by the agent: it watches the network namespace it runs in. Polls /proc on
// `intervalSeconds`; follows `ip -ts monitor neigh` between polls. Baselines (stations,
// listeners, traffic EWMAs, learning start) persist in `<stateDir>/netwatch-baseline.json`
// so a restart neither re-learns nor re-reports what it already knew.
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Observation } from '../events/types.js';
import type { Clock } from '../clock.js';
import type { DeviceHealth, DiagnosticResult } from '../../drivers/types.js';
import type { NetwatchConfig } from './config.js';
import { ListenerDetector, emptyListenerState, type ListenerState } from './listeners.js';
import { NeighMonitor } from './neigh-monitor.js';
import { NeighbourDetector, emptyNeighbourState, type NeighbourState } from './neighbours.js';
import type { NeighbourChange } from './proc-parse.js';
import { ScanDetector, emptyScanState, type ScanState } from './scan.js';
import { ProcSources } from './sources.js';
import { readJson, writeJsonAtomic } from '../state-file.js';
import { TrafficDetector, emptyTrafficState, type TrafficState } from './traffic.js';
import { emptyClaimState, type ClaimState } from './claims.js';
import { WireWatch } from './wire.js';

export interface NetwatchOptions {
  config: NetwatchConfig;
  stateDir: string;
  emit(obs: Observation): void;
  log: Logger;
  clock: Clock;
  /** After every poll: whether `<procRoot>/net/dev` was readable (the netwatch driver's liveness). */
  onPolled?(procVisible: boolean): void;
}

export interface NetwatchBaseline {
  v: 1;
  learningSince: number;
  neighbours: NeighbourState;
  listeners: ListenerState;
  traffic: TrafficState;
  scan: ScanState;
  /** Owners of guarded router IPs and claim alarm times (absent in older baselines). */
  claims?: ClaimState;
}

export const BASELINE_FILE = 'netwatch-baseline.json';
const SAVE_EVERY_MS = 5000;

export class Netwatch {
  private readonly src: ProcSources;
  private readonly path: string;
  private base!: NetwatchBaseline;
  private neigh!: NeighbourDetector;
  private traffic!: TrafficDetector;
  private listeners!: ListenerDetector;
  private scan!: ScanDetector;
  private wire!: WireWatch;
  private monitor: NeighMonitor | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private running = false;
  private dirty = false;
  private lastSave = 0;
  private lastPollAt: number | null = null;
  private readonly seenIfaces = new Set<string>();
  private conntrackSeen: boolean | null = null;
  /** Whether the last poll could read `<procRoot>/net/dev` (null before the first poll). */
  private procVisible: boolean | null = null;
  private lastError: string | undefined;
  readonly counters = { polls: 0, pollErrors: 0, streamChanges: 0, emitted: 0, emitErrors: 0, saves: 0 };

  constructor(private readonly o: NetwatchOptions) {
    this.src = new ProcSources(o.config.procRoot);
    this.path = join(o.stateDir, BASELINE_FILE);
  }

  /** True while the baseline is still learning (nothing is reported as new). */
  get learning(): boolean {
    return this.o.clock.now() - this.base.learningSince < this.o.config.learningSeconds * 1000;
  }

  get baseline(): NetwatchBaseline {
    return this.base;
  }

  async start(): Promise<void> {
    this.load();
    this.running = true;
    if (this.o.config.monitorNeigh) {
      this.monitor = new NeighMonitor({
        onChange: (c) => this.onStream(c),
        onError: (e) => {
          this.lastError = e.message;
          this.o.log.warn({ err: e.message }, 'netwatch: neighbour monitor');
        },
      });
      this.monitor.start();
    }
    await this.wire.start();
    await this.pollOnce();
    this.timer = setInterval(() => {
      if (!this.inFlight) void this.pollOnce();
    }, this.o.config.intervalSeconds * 1000);
  }

  /** Stop emitting, wait for the in-flight poll, persist the baseline. */
  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.timer);
    await this.inFlight;
    await this.monitor?.stop();
    await this.wire?.stop();
    if (this.base) this.save(true);
  }

  /** One poll of every source; also used directly by tests and the benchmark. */
  pollOnce(): Promise<void> {
    const p = this.poll().finally(() => {
      this.inFlight = undefined;
    });
    this.inFlight = p;
    return p;
  }

  private watched(iface: string): boolean {
    const list = this.o.config.interfaces;
    return list.length === 0 ? iface !== 'lo' : list.includes(iface);
  }

  private async poll(): Promise<void> {
    const now = this.o.clock.now();
    const learning = this.learning;
    const out: Observation[] = [];
    try {
      await this.wire.refresh();
      const neighbours = await this.src.neighbours();
      for (const n of neighbours ?? []) {
        if (!n.complete || !this.watched(n.iface)) continue;
        const s = { ip: n.ip, mac: n.mac, iface: n.iface, via: 'poll' as const };
        out.push(...this.wire.neighbour(s, now), ...this.neigh.sighting(s, now, learning));
      }
      out.push(...this.neigh.sweep(now, learning));
      const counters = await this.src.counters();
      this.procVisible = counters !== null;
      this.seenIfaces.clear();
      for (const c of counters ?? []) {
        this.seenIfaces.add(c.iface);
        if (this.watched(c.iface)) out.push(...this.traffic.sample(c, now, learning));
      }
      if (this.o.config.listeners.enabled) {
        const ls = await this.src.listeners(this.o.config.listeners.processNames);
        if (ls) out.push(...this.listeners.scan(ls, now, learning));
      }
      const device = this.scanDevice();
      const ct = await this.src.conntrack();
      this.conntrackSeen = ct !== null && ct.length > 0 ? true : this.conntrackSeen ?? false;
      if (ct && ct.length > 0 && !learning) out.push(...this.scan.fromConntrack(ct, now, localIps(), device));
      const snmp = await this.src.snmp();
      if (snmp) {
        const r = this.scan.fromSnmp(snmp, now, device);
        if (!learning) out.push(...r);
      }
      this.counters.polls += 1;
      this.lastPollAt = now;
    } catch (e) {
      this.counters.pollErrors += 1;
      this.lastError = (e as Error).message;
      this.o.log.warn({ err: this.lastError }, 'netwatch: poll failed');
    }
    this.dirty = true;
    this.publish(out);
    this.save(false);
    if (this.running && this.procVisible !== null) this.o.onPolled?.(this.procVisible);
  }

  /** The scan verdict's device: the watched interface when there is exactly one, else 'gateway'. */
  private scanDevice(): string {
    const list = this.o.config.interfaces;
    return list.length === 1 ? list[0] : 'gateway';
  }

  private onStream(c: NeighbourChange): void {
    if (!this.running || c.deleted || !c.mac || !this.watched(c.iface)) return;
    if (c.states.some((s) => s === 'FAILED' || s === 'INCOMPLETE')) return;
    this.counters.streamChanges += 1;
    this.dirty = true;
    const s = { ip: c.ip, mac: c.mac, iface: c.iface, via: 'stream' as const };
    const now = this.o.clock.now();
    this.publish([...this.wire.neighbour(s, now), ...this.neigh.sighting(s, now, this.learning)]);
  }

  private publish(obs: Observation[]): void {
    for (const o of obs) {
      if (!this.running) return;
      try {
        this.o.emit(o);
        this.counters.emitted += 1;
      } catch (e) {
        this.counters.emitErrors += 1;
        this.o.log.error({ err: (e as Error).message, type: o.type }, 'netwatch: emit failed');
      }
    }
  }

  private load(): void {
    const raw = readJson(this.path, (e) => this.o.log.warn({ err: e.message, path: this.path }, 'netwatch: baseline unreadable; starting a new one')) as Partial<NetwatchBaseline> | null;
    const ok = raw !== null && typeof raw === 'object' && raw.v === 1;
    this.base = {
      v: 1,
      learningSince: ok && typeof raw.learningSince === 'number' ? raw.learningSince : this.o.clock.now(),
      neighbours: (ok && raw.neighbours) || emptyNeighbourState(),
      listeners: (ok && raw.listeners) || emptyListenerState(),
      traffic: (ok && raw.traffic) || emptyTrafficState(),
      scan: (ok && raw.scan) || emptyScanState(),
      claims: (ok && raw.claims) || emptyClaimState(),
    };
    // Rates across a restart would span the downtime: start counters afresh.
    this.base.traffic.last = {};
    this.base.scan.lastSnmp = null;
    this.neigh = new NeighbourDetector(this.o.config, this.base.neighbours);
    this.traffic = new TrafficDetector(this.o.config, this.base.traffic);
    this.listeners = new ListenerDetector(this.o.config, this.base.listeners);
    this.scan = new ScanDetector(this.o.config, this.base.scan);
    this.wire = new WireWatch({ config: this.o.config, src: this.src, neigh: this.neigh, scan: this.scan, claims: this.base.claims!, clock: this.o.clock, log: this.o.log, watched: (i) => this.watched(i), publish: (obs) => ((this.dirty = true), this.publish(obs)) });
    if (!ok) this.save(true);
  }

  private save(force: boolean): void {
    const now = Date.now();
    if (!force && (!this.dirty || now - this.lastSave < SAVE_EVERY_MS)) return;
    try {
      writeJsonAtomic(this.path, this.base);
      this.counters.saves += 1;
      this.dirty = false;
      this.lastSave = now;
    } catch (e) {
      this.lastError = (e as Error).message;
      this.o.log.error({ err: this.lastError, path: this.path }, 'netwatch: baseline not saved');
    }
  }

  health(): DeviceHealth[] {
    const ifaces = this.o.config.interfaces.length > 0 ? this.o.config.interfaces : [...this.seenIfaces].filter((i) => i !== 'lo');
    return ifaces.map((iface) => ({
      device: iface,
      state: this.lastPollAt === null ? 'unknown' : this.seenIfaces.has(iface) ? 'online' : 'offline',
      lastSeen: this.lastPollAt,
      counters: { ...this.counters, stations: Object.keys(this.base?.neighbours.stations ?? {}).length },
      info: { learning: this.base ? String(this.learning) : 'unknown' },
      ...(this.lastError ? { lastError: this.lastError } : {}),
    }));
  }

  /**
   * What `status` and `diag` say about the LAN baseline. A netwatch that cannot read
   * /proc/net has learned nothing, however long it has run: `blind`, never "learned".
   */
  view(): { baselineLearned: boolean; blind: boolean; detail: string } {
    const root = this.o.config.procRoot;
    if (this.procVisible === false) return { baselineLearned: false, blind: true, detail: `${root}/net/dev is unreadable: netwatch sees no interface (a unit with ProcSubset=pid hides /proc/net)` };
    if (this.base && this.learning) return { baselineLearned: false, blind: false, detail: `learning for ${this.o.config.learningSeconds} s after first start` };
    return { baselineLearned: this.procVisible === true, blind: false, detail: this.procVisible === true ? `baseline complete, ${this.seenIfaces.size} interface(s) visible` : 'no poll yet' };
  }

  async diagnose(): Promise<DiagnosticResult[]> {
    const r: DiagnosticResult[] = [];
    const root = this.o.config.procRoot;
    const procHint = `netwatch reads ${root}/net/*; under systemd remove ProcSubset=pid from the unit (systemctl edit gatewarden: [Service] ProcSubset=all, then systemctl restart gatewarden), or fix netwatch.procRoot`;
    // Read now, not from the last poll: diag may run before (or without) any poll.
    const counters = await this.src.counters();
    const visible = (counters ?? []).map((c) => c.iface);
    r.push(
      counters === null
        ? { check: 'netwatch.procfs', verdict: 'fail', detail: `${root}/net/dev unreadable: netwatch sees no interface`, hint: procHint }
        : { check: 'netwatch.procfs', verdict: 'pass', detail: `${root}/net readable: ${visible.length} interface(s) (${visible.join(', ') || 'none'})` },
    );
    const arp = await this.src.neighbours();
    r.push(
      arp
        ? { check: 'netwatch.neighbours', verdict: 'pass', detail: `${arp.length} neighbour entries` }
        : { check: 'netwatch.neighbours', verdict: 'fail', detail: `${root}/net/arp unreadable`, hint: procHint },
    );
    const missing = counters === null ? [] : this.o.config.interfaces.filter((i) => !visible.includes(i));
    if (counters !== null) {
      r.push(
        missing.length === 0
          ? { check: 'netwatch.interfaces', verdict: 'pass', detail: `watching ${this.o.config.interfaces.join(', ') || 'all interfaces'}` }
          : { check: 'netwatch.interfaces', verdict: 'warn', detail: `not present: ${missing.join(', ')}`, hint: 'fix netwatch.interfaces or bring the interface up' },
      );
    }
    if (this.o.config.monitorNeigh) {
      r.push(
        this.monitor?.running
          ? { check: 'netwatch.monitor', verdict: 'pass', detail: '`ip monitor neigh` running' }
          : { check: 'netwatch.monitor', verdict: 'warn', detail: 'neighbour stream not running; polling only', hint: 'install iproute2 (`ip`) or set netwatch.monitorNeigh: false' },
      );
    }
    r.push(...(this.wire?.diagnose() ?? [])); // unstarted (diag): no wire watch yet
    const ct = await this.src.conntrack();
    r.push(
      ct && ct.length > 0
        ? { check: 'netwatch.conntrack', verdict: 'pass', detail: `${ct.length} tracked flows` }
        : { check: 'netwatch.conntrack', verdict: 'skip', detail: 'no conntrack flows: scans are detected from Tcp OutRsts / Udp NoPorts (source not named)' },
    );
    if (counters === null) {
      r.push({ check: 'netwatch.learning', verdict: 'fail', detail: 'nothing observed: no baseline can be learned while /proc/net is hidden', hint: procHint });
    } else if (this.base) {
      const left = Math.max(0, this.base.learningSince + this.o.config.learningSeconds * 1000 - this.o.clock.now());
      r.push({ check: 'netwatch.learning', verdict: left > 0 ? 'warn' : 'pass', detail: left > 0 ? `learning: ${Math.ceil(left / 1000)} s left; nothing is reported as new yet` : 'baseline learned', ...(left > 0 ? { hint: 'wait for the learning period to end' } : {}) });
    }
    return r;
  }
}

function localIps(): Set<string> {
  const s = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) s.add(a.address);
  return s;
}

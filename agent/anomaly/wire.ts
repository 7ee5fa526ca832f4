// What netwatch learns about the gateway itself and from the wire: its own addresses and
// default route (refreshed every poll), the claim detector (claims.ts) fed by the
// neighbour table and by packet capture (capture.ts), and capture's probes handed to the
// scan detector. Netwatch (netwatch.ts) owns the lifecycle and calls in here.
import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import type { DiagnosticResult } from '../../drivers/types.js';
import type { Clock } from '../clock.js';
import type { Observation } from '../events/types.js';
import { CaptureMonitor, type CaptureRecord } from './capture.js';
import { ClaimDetector, type ClaimState } from './claims.js';
import type { NetwatchConfig } from './config.js';
import type { NeighbourDetector, NeighbourSighting } from './neighbours.js';
import type { ScanDetector } from './scan.js';
import type { ProcSources } from './sources.js';

export interface WireWatchOptions {
  config: NetwatchConfig;
  src: ProcSources;
  neigh: NeighbourDetector;
  scan: ScanDetector;
  claims: ClaimState;
  clock: Clock;
  log: Logger;
  watched(iface: string): boolean;
  /** Verdicts found between polls (claims seen on the wire). */
  publish(obs: Observation[]): void;
}

export class WireWatch {
  readonly claims: ClaimDetector;
  private monitors: CaptureMonitor[] = [];
  readonly counters = { captured: 0, probes: 0 };

  constructor(private readonly o: WireWatchOptions) {
    this.claims = new ClaimDetector(o.config, o.claims, (mac) => o.neigh.ipsOf(mac));
  }

  /** Starts one capture per watched interface (when enabled); failures only degrade. */
  async start(): Promise<void> {
    await this.refresh();
    if (!this.o.config.capture.enabled) return;
    const ifaces = this.o.config.interfaces.length > 0 ? this.o.config.interfaces : Object.keys(networkInterfaces()).filter((i) => this.o.watched(i));
    for (const iface of ifaces) {
      const m = new CaptureMonitor({
        iface,
        command: this.o.config.capture.command,
        onRecord: (r, i) => this.onRecord(r, i),
        onError: (e) => this.o.log.warn({ err: e.message, iface }, 'netwatch: packet capture'),
        onUnavailable: (why) => this.o.log.warn({ reason: why, iface }, 'netwatch: packet capture unavailable; claims of the gateway IP and scan sources rely on the kernel tables only'),
      });
      this.monitors.push(m);
      m.start();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.monitors.map((m) => m.stop()));
  }

  /** The gateway's own addresses and default route, read now. */
  async refresh(): Promise<void> {
    const ips = new Map<string, string>();
    const macs = new Set<string>();
    for (const [name, list] of Object.entries(networkInterfaces())) {
      for (const a of list ?? []) {
        if (a.internal) continue;
        if (a.mac && a.mac !== '00:00:00:00:00:00') macs.add(a.mac.toLowerCase());
        if (a.family === 'IPv4' && (this.o.watched(name) || this.o.config.interfaces.length === 0)) ips.set(a.address, a.mac.toLowerCase());
      }
    }
    const routes = (await this.o.src.routes()) ?? [];
    const routers = new Set(routes.filter((r) => r.destination === '0.0.0.0').map((r) => r.gateway));
    this.claims.identify({ ips, macs, routers });
  }

  /** A neighbour-table sighting (poll or stream): claims of guarded router IPs. */
  neighbour(s: NeighbourSighting, now: number): Observation[] {
    return this.claims.fromNeighbour(s, now);
  }

  private onRecord(r: CaptureRecord, iface: string): void {
    this.counters.captured += 1;
    this.o.scan.captureActive = true;
    const now = this.o.clock.now();
    const own = this.claims.identity.ips;
    if (r.kind === 'arp') {
      this.o.publish(this.claims.fromArp(r, iface, now));
    } else if (r.kind === 'syn') {
      // Connection attempts to the gateway itself; its own outbound SYNs are not probes.
      if (!own.has(r.dst) || own.has(r.src)) return;
      this.counters.probes += 1;
      this.o.scan.probe({ src: r.src, dst: r.dst, dport: r.dport, proto: 'tcp' }, now);
    } else if (own.has(r.from) && !own.has(r.to)) {
      // The gateway answered a UDP probe of a closed port: the prober is the ICMP's destination.
      this.counters.probes += 1;
      this.o.scan.probe({ src: r.to, dst: r.origDst, dport: r.dport, proto: 'udp' }, now);
    }
  }

  diagnose(): DiagnosticResult[] {
    if (!this.o.config.capture.enabled) return [{ check: 'netwatch.capture', verdict: 'skip', detail: 'packet capture off (netwatch.capture.enabled: false)' }];
    const down = this.monitors.filter((m) => m.unavailable);
    if (this.monitors.length === 0) return [{ check: 'netwatch.capture', verdict: 'skip', detail: 'no interface to capture on' }];
    if (down.length > 0)
      return [
        {
          check: 'netwatch.capture',
          verdict: 'warn',
          detail: `packet capture unavailable: ${down[0].unavailable}; claims of the gateway's own IP are not seen and scan sources are named only by conntrack`,
          hint: 'install tcpdump and grant the unit CAP_NET_RAW with AF_PACKET (docs/netwatch.md "Packet capture"), or set netwatch.capture.enabled: false',
        },
      ];
    return [{ check: 'netwatch.capture', verdict: 'pass', detail: `capturing ARP and probes on ${this.monitors.length} interface(s); ${this.counters.captured} packets seen` }];
  }
}

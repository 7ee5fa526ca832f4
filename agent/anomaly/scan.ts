// Scan detection. With conntrack (/proc/net/nf_conntrack): one source with many distinct
// (destination, port) flows in the table at one poll. Without it — conntrack hooks are only
// registered in a namespace once a ruleset uses them, so it is often empty or absent — the
// gateway still sees a sweep aimed at itself: every SYN to a closed port makes it send a
// RST (Tcp OutRsts in /proc/net/snmp) and every UDP probe to a closed port bumps Udp
// NoPorts. That path cannot name the source; the verdict says so (`source: null`).
import type { Observation } from '../events/types.js';
import type { NetwatchConfig } from './config.js';
import type { ConntrackEntry } from './proc-parse.js';

export interface ScanState {
  lastSnmp: { at: number; outRsts: number; udpNoPorts: number } | null;
  /** source (or '*' for the snmp path) → last report wall ms. */
  lastReport: Record<string, number>;
}

export function emptyScanState(): ScanState {
  return { lastSnmp: null, lastReport: {} };
}

export class ScanDetector {
  constructor(
    private readonly cfg: NetwatchConfig,
    readonly state: ScanState,
  ) {}

  private cooled(key: string, now: number): boolean {
    const last = this.state.lastReport[key] ?? 0;
    if (now - last < this.cfg.scan.cooldownSeconds * 1000) return false;
    this.state.lastReport[key] = now;
    return true;
  }

  /** `localIps`: addresses of the gateway, so its own outbound flows are not judged. */
  fromConntrack(entries: ConntrackEntry[], now: number, localIps: Set<string>, device: string): Observation[] {
    const bySrc = new Map<string, { targets: Set<string>; hosts: Set<string>; ports: Set<number> }>();
    for (const e of entries) {
      if (localIps.has(e.src) || e.src === '127.0.0.1' || e.src === '::1') continue;
      let s = bySrc.get(e.src);
      if (!s) bySrc.set(e.src, (s = { targets: new Set(), hosts: new Set(), ports: new Set() }));
      s.targets.add(`${e.dst}:${e.dport ?? e.l4}`);
      s.hosts.add(e.dst);
      if (e.dport !== null) s.ports.add(e.dport);
    }
    const out: Observation[] = [];
    for (const [src, s] of bySrc) {
      if (s.targets.size < this.cfg.scan.distinctTargets || !this.cooled(src, now)) continue;
      out.push({
        type: 'network.scan.suspected',
        severity: 'alarm',
        device,
        data: {
          method: 'conntrack',
          source: src,
          interface: device,
          distinctTargets: s.targets.size,
          hosts: [...s.hosts].slice(0, 32),
          hostCount: s.hosts.size,
          portCount: s.ports.size,
          portsSample: [...s.ports].sort((a, b) => a - b).slice(0, 32),
          threshold: this.cfg.scan.distinctTargets,
        },
      });
    }
    return out;
  }

  fromSnmp(snmp: Record<string, Record<string, number>>, now: number, device: string): Observation[] {
    const outRsts = snmp.Tcp?.OutRsts;
    const noPorts = snmp.Udp?.NoPorts ?? 0;
    if (outRsts === undefined) return [];
    const prev = this.state.lastSnmp;
    this.state.lastSnmp = { at: now, outRsts, udpNoPorts: noPorts };
    if (!prev || outRsts < prev.outRsts) return [];
    const rsts = outRsts - prev.outRsts;
    const udp = Math.max(0, noPorts - prev.udpNoPorts);
    const threshold = this.cfg.scan.outRstsPerInterval;
    if (rsts + udp < threshold || !this.cooled('*', now)) return [];
    return [
      {
        type: 'network.scan.suspected',
        severity: 'alarm',
        device,
        data: { method: 'snmp', source: null, interface: device, tcpOutRsts: rsts, udpNoPorts: udp, intervalSeconds: Math.round((now - prev.at) / 100) / 10, threshold },
      },
    ];
  }
}

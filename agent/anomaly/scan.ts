// Scan detection: one `network.scan.suspected` per scan and source (docs/netwatch.md).
// Evidence, per source IP, is a set of (destination, port, protocol) targets with the time
// each was first seen. It comes from:
//  - conntrack (/proc/net/nf_conntrack): flows in the table at a poll; an entry that lives
//    on across polls is the same target, never new evidence;
//  - capture (capture.ts, needs CAP_NET_RAW): SYNs without ACK, and the gateway's own ICMP
//    port-unreachable answers to UDP probes (these are rate limited by the kernel, so a UDP
//    scan is attributed through the counters below rather than counted port by port);
//  - the gateway's counters (/proc/net/snmp Tcp OutRsts + Udp NoPorts), which see a sweep
//    aimed at the gateway but not who sent it.
// A source's scan is one episode: reported once when its targets first seen within
// `windowSeconds` reach `distinctTargets`, then silent until no new target has been seen
// for `cooldownSeconds`. A counter surge is attributed to the sources with new evidence in
// that interval; only when nobody is named does it become an anonymous event (`source: null`).
import type { Observation } from '../events/types.js';
import type { NetwatchConfig } from './config.js';
import type { ConntrackEntry } from './proc-parse.js';

export interface SourceScan {
  /** `dst:port/proto` → first and last seen (wall ms). */
  targets: Record<string, { first: number; last: number }>;
  /** When this source's current episode was reported (null: no open episode). */
  reportedAt: number | null;
  /** Last time a target not seen before (or not within the window) appeared. */
  lastNew: number;
  /** Which sources gave evidence during the current episode. */
  methods: Array<'conntrack' | 'capture'>;
}

export interface ScanState {
  lastSnmp: { at: number; outRsts: number; udpNoPorts: number } | null;
  /** '*' (the anonymous counter path) → last report wall ms. */
  lastReport: Record<string, number>;
  /** Per source IP (absent in baselines written before per-source episodes). */
  sources?: Record<string, SourceScan>;
  /** A counter surge nobody was named for yet: captured probes may arrive a poll late. */
  pendingSurge?: { at: number; prevAt: number; tcpOutRsts: number; udpNoPorts: number } | null;
}

export function emptyScanState(): ScanState {
  return { lastSnmp: null, lastReport: {}, sources: {} };
}

export interface Probe {
  src: string;
  dst: string;
  dport: number;
  proto: 'tcp' | 'udp';
}

const SAMPLE = 32;
/**
 * New probes of one protocol a captured source needs to be credited with a counter surge. The
 * kernel rate-limits port-unreachables, so a UDP sweep shows a handful of ports, never one; a
 * lone packet to a closed port (a client's stray datagram) is not a sweep, and while the real
 * prober's packets are still on their way from the capture the surge waits a poll instead.
 */
const MIN_ATTRIBUTION_PROBES = 3;

export class ScanDetector {
  private readonly sources: Record<string, SourceScan>;
  /** Set while packet capture runs: an unattributed surge then waits one poll for its prober. */
  captureActive = false;

  constructor(
    private readonly cfg: NetwatchConfig,
    readonly state: ScanState,
  ) {
    this.sources = state.sources ??= {};
  }

  private get windowMs(): number {
    return this.cfg.scan.windowSeconds * 1000;
  }

  private get quietMs(): number {
    return this.cfg.scan.cooldownSeconds * 1000;
  }

  /** Record one target of `src`; returns whether it is new evidence. */
  private record(src: string, key: string, method: 'conntrack' | 'capture', now: number): boolean {
    let s = this.sources[src];
    if (!s) this.sources[src] = s = { targets: {}, reportedAt: null, lastNew: 0, methods: [] };
    // An episode ends after a quiet spell: the next sweep is a new scan.
    if (s.reportedAt !== null && now - s.lastNew >= this.quietMs) {
      s.reportedAt = null;
      s.methods = [];
    }
    if (!s.methods.includes(method)) s.methods.push(method);
    const t = s.targets[key];
    if (t && now - t.first <= this.windowMs) {
      t.last = now;
      return false;
    }
    if (t && method === 'conntrack' && now - t.last <= this.windowMs) {
      // The same conntrack entry still listed: not a new probe.
      t.last = now;
      return false;
    }
    s.targets[key] = { first: now, last: now };
    s.lastNew = now;
    return true;
  }

  /** A probe seen on the wire (capture.ts). Evaluated at the next poll. */
  probe(p: Probe, now: number): void {
    this.record(p.src, `${p.dst}:${p.dport}/${p.proto}`, 'capture', now);
  }

  /** `localIps`: addresses of the gateway, so its own outbound flows are not judged. */
  fromConntrack(entries: ConntrackEntry[], now: number, localIps: Set<string>, device: string): Observation[] {
    for (const e of entries) {
      if (localIps.has(e.src) || e.src === '127.0.0.1' || e.src === '::1') continue;
      this.record(e.src, `${e.dst}:${e.dport ?? '-'}/${e.l4}`, 'conntrack', now);
    }
    return this.evaluate(now, device);
  }

  /** Sources over the threshold and not already reported in this episode. */
  evaluate(now: number, device: string, counters?: { tcpOutRsts: number; udpNoPorts: number }, attribute?: Set<string>): Observation[] {
    const out: Observation[] = [];
    for (const [src, s] of Object.entries(this.sources)) {
      this.prune(src, s, now);
      if (!this.sources[src] || s.reportedAt !== null) continue;
      const recent = Object.entries(s.targets).filter(([, t]) => now - t.first <= this.windowMs);
      if (recent.length < this.cfg.scan.distinctTargets && !attribute?.has(src)) continue;
      s.reportedAt = now;
      out.push(this.verdict(src, s, recent.map(([k]) => k), device, counters));
    }
    return out;
  }

  private prune(src: string, s: SourceScan, now: number): void {
    const keep = this.windowMs + this.quietMs;
    for (const [k, t] of Object.entries(s.targets)) if (now - t.last > keep) delete s.targets[k];
    if (Object.keys(s.targets).length === 0 && (s.reportedAt === null || now - s.lastNew >= this.quietMs)) delete this.sources[src];
  }

  private verdict(src: string, s: SourceScan, keys: string[], device: string, counters?: { tcpOutRsts: number; udpNoPorts: number }): Observation {
    const hosts = new Set<string>();
    const ports = new Set<number>();
    const protos = new Set<string>();
    for (const k of keys) {
      const m = /^(.*):([^:/]+)\/(.+)$/.exec(k);
      if (!m) continue;
      hosts.add(m[1]);
      if (m[2] !== '-') ports.add(Number(m[2]));
      protos.add(m[3]);
    }
    const method = s.methods.includes('capture') ? 'capture' : 'conntrack';
    return {
      type: 'network.scan.suspected',
      severity: 'alarm',
      device,
      data: {
        method,
        source: src,
        interface: device,
        distinctTargets: keys.length,
        hosts: [...hosts].slice(0, SAMPLE),
        hostCount: hosts.size,
        portCount: ports.size,
        portsSample: [...ports].sort((a, b) => a - b).slice(0, SAMPLE),
        threshold: this.cfg.scan.distinctTargets,
        protocols: [...protos].sort(),
        ...(method === 'capture' && counters ? counters : {}),
      },
    };
  }

  /**
   * The gateway's RST / NoPorts counters. A surge is attributed to the sources with new
   * evidence since the previous poll (one event per source, at most once per episode);
   * with nobody named it is one anonymous event per `cooldownSeconds`.
   */
  fromSnmp(snmp: Record<string, Record<string, number>>, now: number, device: string): Observation[] {
    const outRsts = snmp.Tcp?.OutRsts;
    const noPorts = snmp.Udp?.NoPorts ?? 0;
    const out = this.settlePending(now, device);
    if (outRsts === undefined) return [...out, ...this.evaluate(now, device)];
    const prev = this.state.lastSnmp;
    this.state.lastSnmp = { at: now, outRsts, udpNoPorts: noPorts };
    if (!prev || outRsts < prev.outRsts) return [...out, ...this.evaluate(now, device)];
    const rsts = outRsts - prev.outRsts;
    const udp = Math.max(0, noPorts - prev.udpNoPorts);
    if (rsts + udp < this.cfg.scan.outRstsPerInterval) return [...out, ...this.evaluate(now, device)];
    const counters = { tcpOutRsts: rsts, udpNoPorts: udp };
    // Named: probes seen on the wire since the previous poll. Conntrack flows alone under
    // the threshold name nobody: a client that merely opened a connection during someone
    // else's sweep is not the scanner.
    const fresh = this.capturedSince(prev.at, counters);
    if (fresh.size > 0) return [...out, ...this.evaluate(now, device, counters, fresh)];
    const open = Object.values(this.sources).some((s) => s.reportedAt !== null && now - s.lastNew < this.quietMs);
    if (open || this.captureActive) {
      // Part of an open scan, or its prober's packets are still on their way from the
      // capture: decided at the next poll.
      this.state.pendingSurge = { at: now, prevAt: prev.at, ...counters };
      return [...out, ...this.evaluate(now, device)];
    }
    return [...out, ...this.anonymous(now, device, counters, Math.round((now - prev.at) / 100) / 10)];
  }

  /**
   * Who a surge is credited to: per protocol whose counter moved (RSTs → tcp, NoPorts → udp),
   * the captured source(s) with the most new probes of that protocol since `t`, and at least
   * MIN_ATTRIBUTION_PROBES of them. Anyone else with a stray probe in the same interval (a
   * client's one UDP packet during another host's sweep) is not named; a source over the
   * threshold on its own is reported by evaluate().
   */
  private capturedSince(t: number, c: { tcpOutRsts: number; udpNoPorts: number }): Set<string> {
    const out = new Set<string>();
    for (const [proto, moved] of [['tcp', c.tcpOutRsts], ['udp', c.udpNoPorts]] as const) {
      if (moved <= 0) continue;
      let best = 0;
      const counts: Array<[string, number]> = [];
      for (const [src, s] of Object.entries(this.sources)) {
        if (s.reportedAt !== null || s.lastNew <= t || !s.methods.includes('capture')) continue;
        let n = 0;
        for (const [k, v] of Object.entries(s.targets)) if (v.first > t && k.endsWith(`/${proto}`)) n++;
        if (n === 0) continue;
        counts.push([src, n]);
        best = Math.max(best, n);
      }
      if (best < MIN_ATTRIBUTION_PROBES) continue;
      for (const [src, n] of counts) if (n === best) out.add(src);
    }
    return out;
  }

  /** A surge left from the previous poll: its prober if captured since, else anonymous unless a scan is open. */
  private settlePending(now: number, device: string): Observation[] {
    const p = this.state.pendingSurge;
    if (!p) return [];
    this.state.pendingSurge = null;
    const counters = { tcpOutRsts: p.tcpOutRsts, udpNoPorts: p.udpNoPorts };
    const fresh = this.capturedSince(p.prevAt, counters);
    if (fresh.size > 0) return this.evaluate(now, device, counters, fresh);
    const open = Object.values(this.sources).some((s) => s.reportedAt !== null && now - s.lastNew < this.quietMs);
    return open ? [] : this.anonymous(now, device, counters, Math.round((p.at - p.prevAt) / 100) / 10);
  }

  private anonymous(now: number, device: string, c: { tcpOutRsts: number; udpNoPorts: number }, intervalSeconds: number): Observation[] {
    const last = this.state.lastReport['*'] ?? 0;
    if (now - last < this.quietMs) return [];
    this.state.lastReport['*'] = now;
    return [
      {
        type: 'network.scan.suspected',
        severity: 'alarm',
        device,
        data: { method: 'snmp', source: null, interface: device, ...c, intervalSeconds, threshold: this.cfg.scan.outRstsPerInterval },
      },
    ];
  }
}

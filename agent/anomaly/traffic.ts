// Per-interface traffic spike detector. Rates (per second) of rx/tx bytes and packets are
// compared with an EWMA mean and EWMA mean absolute deviation kept per time-of-day bucket
// (a robust stand-in for a standard deviation; RFC 6298 uses the same pair for RTT).
// Alarm only when rate > mean + k·dev AND rate > an absolute floor, so idle links never
// alarm on noise. Spiking samples are folded in at a tenth of the weight so one attack
// does not teach the baseline that attacks are normal, while a lasting shift still adapts.
import type { Observation } from '../events/types.js';
import type { NetwatchConfig } from './config.js';
import type { IfaceCounters } from './proc-parse.js';

export const METRICS = ['rxBytes', 'txBytes', 'rxPackets', 'txPackets'] as const;
export type Metric = (typeof METRICS)[number];

export interface Ewma {
  mean: number;
  dev: number;
  n: number;
}

export interface TrafficState {
  /** iface → bucket index (as string) → metric → EWMA. */
  baselines: Record<string, Record<string, Partial<Record<Metric, Ewma>>>>;
  /** Last raw counters per iface, to turn counters into rates. */
  last: Record<string, { at: number } & Record<Metric, number>>;
  /** Last spike event per iface (wall ms), for the cooldown. */
  lastSpike: Record<string, number>;
}

export function emptyTrafficState(): TrafficState {
  return { baselines: {}, last: {}, lastSpike: {} };
}

/** Relative deviation floor: a perfectly steady link must not alarm on +1 %. */
const MIN_REL_DEV = 0.1;

export class TrafficDetector {
  constructor(
    private readonly cfg: NetwatchConfig,
    readonly state: TrafficState,
  ) {}

  private bucketOf(now: number): string {
    const hours = this.cfg.traffic.bucketHours;
    if (hours >= 24) return '0';
    return String(Math.floor(new Date(now).getUTCHours() / hours));
  }

  sample(c: IfaceCounters, now: number, learning: boolean): Observation[] {
    const prev = this.state.last[c.iface];
    this.state.last[c.iface] = { at: now, rxBytes: c.rxBytes, txBytes: c.txBytes, rxPackets: c.rxPackets, txPackets: c.txPackets };
    if (!prev) return [];
    const dt = (now - prev.at) / 1000;
    if (dt <= 0) return [];
    const t = this.cfg.traffic;
    const bucket = this.bucketOf(now);
    const perIface = (this.state.baselines[c.iface] ??= {});
    const b = (perIface[bucket] ??= {});
    const spikes: Array<{ metric: Metric; rate: number; mean: number; deviation: number; threshold: number; floor: number; samples: number }> = [];
    for (const m of METRICS) {
      const delta = c[m] - prev[m];
      if (delta < 0) continue; // counter reset (interface re-created): skip, don't learn garbage
      const rate = delta / dt;
      const e = b[m];
      if (!e) {
        b[m] = { mean: rate, dev: 0, n: 1 };
        continue;
      }
      const floor = m.endsWith('Bytes') ? t.floorBytesPerSecond : t.floorPacketsPerSecond;
      const dev = Math.max(e.dev, e.mean * MIN_REL_DEV);
      const threshold = e.mean + t.k * dev;
      const spiking = !learning && e.n >= t.minSamples && rate > floor && rate > threshold;
      if (spiking) spikes.push({ metric: m, rate: round(rate), mean: round(e.mean), deviation: round(e.dev), threshold: round(Math.max(threshold, floor)), floor, samples: e.n });
      const a = spiking ? t.alpha / 10 : t.alpha;
      const err = rate - e.mean;
      e.mean += a * err;
      e.dev += a * (Math.abs(err) - e.dev);
      e.n += 1;
    }
    if (spikes.length === 0) return [];
    const last = this.state.lastSpike[c.iface] ?? 0;
    if (now - last < t.cooldownSeconds * 1000) return [];
    this.state.lastSpike[c.iface] = now;
    return [
      {
        type: 'network.traffic.spike',
        severity: 'warning',
        device: c.iface,
        data: { interface: c.iface, intervalSeconds: round(dt), bucket: Number(bucket), k: t.k, metrics: spikes },
      },
    ];
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

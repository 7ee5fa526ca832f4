// Neighbour-table detectors, after arpwatch's verdicts: "new station" → network.device.new
// (a MAC never seen) or network.station.new (a known MAC on an IP it never held),
// "flip flop"/"changed ethernet address" → network.mac.changed (flipFlop tells which), and a known station that
// stops answering → network.device.gone. Input is both the polled /proc/net/arp snapshot
// and the `ip monitor neigh` stream; the state dedupes the two so one appearance gives one
// event. The state object is plain JSON and persisted by the caller (baseline file).
import type { Observation } from '../events/types.js';
import type { NetwatchConfig } from './config.js';
import { ouiOf } from './proc-parse.js';

export interface Station {
  mac: string;
  iface: string;
  firstSeen: number;
  lastSeen: number;
  /** Set once device.gone was reported; cleared when it answers again. */
  gone: boolean;
  /** Wall ms of recent MAC changes (flap detection). */
  changes: number[];
  /** The MAC this IP had before `mac` (arpwatch's "flip flop" compares with it); absent in old baselines. */
  prevMac?: string | null;
}

export interface NeighbourState {
  /** Every MAC ever seen (first-seen wall ms): the "known stations" of arpwatch. */
  macs: Record<string, number>;
  /** Current binding per IP. */
  stations: Record<string, Station>;
}

export function emptyNeighbourState(): NeighbourState {
  return { macs: {}, stations: {} };
}

export interface NeighbourSighting {
  ip: string;
  mac: string;
  iface: string;
  /** 'stream' (ip monitor) or 'poll' (/proc/net/arp): carried as evidence. */
  via: 'stream' | 'poll';
}

export class NeighbourDetector {
  constructor(
    private readonly cfg: NetwatchConfig,
    readonly state: NeighbourState,
  ) {}

  private allowed(mac: string): boolean {
    return this.cfg.allow.macs.includes(mac) || this.cfg.allow.ouis.includes(ouiOf(mac));
  }

  /** A complete (resolved) neighbour entry. Returns the verdicts; mutates the state. */
  sighting(s: NeighbourSighting, now: number, learning: boolean): Observation[] {
    const out: Observation[] = [];
    const mac = s.mac.toLowerCase();
    if (!mac || mac === '00:00:00:00:00:00') return out;
    const knownMac = mac in this.state.macs;
    if (!knownMac) {
      this.state.macs[mac] = now;
      if (!learning && !this.allowed(mac)) {
        out.push({
          type: 'network.device.new',
          severity: 'warning',
          device: mac,
          data: { mac, ip: s.ip, interface: s.iface, oui: ouiOf(mac), via: s.via, knownStations: Object.keys(this.state.macs).length - 1 },
        });
      }
    }
    const st = this.state.stations[s.ip];
    if (!st) {
      // arpwatch's "new station": a MAC it already knew now holds an IP it never held.
      if (knownMac && !learning) {
        const otherIps = this.ipsOf(mac);
        out.push({
          type: 'network.station.new',
          severity: 'notice',
          device: s.ip,
          data: { ip: s.ip, mac, interface: s.iface, via: s.via, macFirstSeen: new Date(this.state.macs[mac]).toISOString(), otherIps },
        });
      }
      this.state.stations[s.ip] = { mac, iface: s.iface, firstSeen: now, lastSeen: now, gone: false, changes: [], prevMac: null };
      return out;
    }
    if (st.mac !== mac) {
      const windowMs = this.cfg.neighbours.flapWindowSeconds * 1000;
      st.changes = [...st.changes.filter((t) => now - t <= windowMs), now];
      const flapping = st.changes.length >= this.cfg.neighbours.flapAlarmCount;
      const previousMac = st.prevMac ?? null;
      // arpwatch's "flip flop": back to the MAC it had before the current one. A revert
      // after an attack (the restore) is a flip flop; the attack itself usually is not.
      const flipFlop = previousMac === mac;
      const newMacOtherIps = this.ipsOf(mac).filter((ip) => ip !== s.ip);
      out.push({
        type: 'network.mac.changed',
        severity: flapping ? 'alarm' : 'warning',
        device: s.ip,
        data: {
          ip: s.ip,
          oldMac: st.mac,
          newMac: mac,
          interface: s.iface,
          oldMacFirstSeen: new Date(this.state.macs[st.mac] ?? st.firstSeen).toISOString(),
          newMacKnown: knownMac,
          changesInWindow: st.changes.length,
          windowSeconds: this.cfg.neighbours.flapWindowSeconds,
          flapping,
          via: s.via,
          previousMac,
          flipFlop,
          newMacOtherIps,
        },
      });
      st.prevMac = st.mac;
      st.mac = mac;
    }
    st.iface = s.iface;
    st.lastSeen = now;
    st.gone = false;
    return out;
  }

  /** IPs currently bound to `mac` (sorted). */
  ipsOf(mac: string): string[] {
    return Object.entries(this.state.stations)
      .filter(([, st]) => st.mac === mac)
      .map(([ip]) => ip)
      .sort();
  }

  /** Stations that stopped answering (no complete entry for goneAfterSeconds) → device.gone, once. */
  sweep(now: number, learning: boolean): Observation[] {
    const after = this.cfg.neighbours.goneAfterSeconds * 1000;
    if (after === 0 || learning) return [];
    const watch = this.cfg.neighbours.watchGone.map((x) => x.toLowerCase());
    const out: Observation[] = [];
    for (const [ip, st] of Object.entries(this.state.stations)) {
      if (st.gone || now - st.lastSeen < after) continue;
      if (watch.length > 0 && !watch.includes(ip) && !watch.includes(st.mac)) continue;
      st.gone = true;
      out.push({
        type: 'network.device.gone',
        severity: watch.length > 0 ? 'warning' : 'notice',
        device: st.mac,
        data: { mac: st.mac, ip, interface: st.iface, lastSeen: new Date(st.lastSeen).toISOString(), silentSeconds: Math.round((now - st.lastSeen) / 1000), goneAfterSeconds: this.cfg.neighbours.goneAfterSeconds },
      });
    }
    return out;
  }
}

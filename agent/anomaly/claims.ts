// Claims of the gateway's addresses: `network.gateway.claimed` (alarm), naming the claimed
// IP and the claimant's MAC (docs/netwatch.md). Guarded addresses:
//  - self: the gateway's own IPs. The kernel never shows a claim of them (it keeps no
//    neighbour entry for its own address and drops such ARP as martian), so only an ARP
//    packet seen by capture.ts can: sender IP ours, sender MAC not ours;
//  - router: the default route's next hop(s) (/proc/net/route), plus `claims.guardIps`.
//    A claim shows in the neighbour table when the gateway's own entry is overwritten
//    (netlink stream / /proc/net/arp) and, with capture, on the wire even when it is
//    aimed at another host (a unicast reply to a victim).
// The owner of a router IP is the MAC first seen for it; a move back to the owner is the
// restore (reported by network.mac.changed with flipFlop), not a claim. One alarm per
// (claimed IP, claimant MAC) per `claims.cooldownSeconds`, whichever path saw it first.
import type { JsonObject, Observation } from '../events/types.js';
import type { CaptureRecord } from './capture.js';
import type { NetwatchConfig } from './config.js';
import type { NeighbourSighting } from './neighbours.js';

export interface ClaimState {
  /** Guarded router IP → the MAC that owns it (first seen). */
  owners: Record<string, string>;
  /** `ip|mac` → last alarm wall ms. */
  lastAlarm: Record<string, number>;
}

export function emptyClaimState(): ClaimState {
  return { owners: {}, lastAlarm: {} };
}

export interface GatewayIdentity {
  /** The gateway's own IPv4 addresses → the MAC of the interface holding each. */
  ips: Map<string, string>;
  /** The gateway's own MACs (every interface). */
  macs: Set<string>;
  /** Default-route next hops and configured guard IPs. */
  routers: Set<string>;
}

export class ClaimDetector {
  private id: GatewayIdentity = { ips: new Map(), macs: new Set(), routers: new Set() };

  constructor(
    private readonly cfg: NetwatchConfig,
    readonly state: ClaimState,
    /** IPs a MAC currently holds in the neighbour baseline (evidence). */
    private readonly ipsOf: (mac: string) => string[],
  ) {}

  /** Refreshed every poll: addresses and routes may change at runtime (DHCP). */
  identify(id: GatewayIdentity): void {
    this.id = { ...id, routers: new Set([...id.routers, ...this.cfg.claims.guardIps]) };
  }

  get identity(): GatewayIdentity {
    return this.id;
  }

  /** A neighbour-table sighting (stream or poll). Only guarded router IPs matter here. */
  fromNeighbour(s: NeighbourSighting, now: number): Observation[] {
    if (!this.id.routers.has(s.ip)) return [];
    const mac = s.mac.toLowerCase();
    const owner = this.state.owners[s.ip];
    if (!owner) {
      this.state.owners[s.ip] = mac;
      return [];
    }
    if (mac === owner) return [];
    return this.alarm({ ip: s.ip, role: 'router', claimant: mac, owner, iface: s.iface, method: 'neighbour-table', via: s.via, arp: null }, now);
  }

  /** An ARP packet seen on the wire. */
  fromArp(r: Extract<CaptureRecord, { kind: 'arp' }>, iface: string, now: number): Observation[] {
    const mac = r.senderMac;
    if (r.senderIp === '0.0.0.0' || this.id.macs.has(mac) || this.id.macs.has(r.ethSrc)) return [];
    const arp = { op: r.op, ethSrc: r.ethSrc, ethDst: r.ethDst, targetIp: r.targetIp || null, broadcast: r.ethDst === 'ff:ff:ff:ff:ff:ff' };
    if (this.id.ips.has(r.senderIp)) {
      return this.alarm({ ip: r.senderIp, role: 'self', claimant: mac, owner: this.id.ips.get(r.senderIp) ?? null, iface, method: 'capture', via: 'capture', arp }, now);
    }
    if (this.id.routers.has(r.senderIp)) {
      const owner = this.state.owners[r.senderIp];
      if (!owner) {
        this.state.owners[r.senderIp] = mac;
        return [];
      }
      if (mac === owner) return [];
      return this.alarm({ ip: r.senderIp, role: 'router', claimant: mac, owner, iface, method: 'capture', via: 'capture', arp }, now);
    }
    return [];
  }

  private alarm(
    c: { ip: string; role: 'self' | 'router'; claimant: string; owner: string | null; iface: string; method: 'capture' | 'neighbour-table'; via: string; arp: JsonObject | null },
    now: number,
  ): Observation[] {
    const key = `${c.ip}|${c.claimant}`;
    if (now - (this.state.lastAlarm[key] ?? -Infinity) < this.cfg.claims.cooldownSeconds * 1000) return [];
    this.state.lastAlarm[key] = now;
    return [
      {
        type: 'network.gateway.claimed',
        severity: 'alarm',
        device: c.ip,
        data: {
          claimedIp: c.ip,
          role: c.role,
          claimantMac: c.claimant,
          ownerMac: c.owner,
          interface: c.iface,
          method: c.method,
          via: c.via,
          claimantOtherIps: this.ipsOf(c.claimant).filter((ip) => ip !== c.ip),
          arp: c.arp,
        },
      },
    ];
  }
}

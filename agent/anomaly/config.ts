// Config of the network watcher (`netwatch:` in config.yaml; the lead mounts this schema
// in config/schema.ts). Defaults live here and nowhere else (docs/contracts.md §Practices).
import { z } from 'zod';

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const OUI_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){2}$/;
const lowerMac = z
  .string()
  .transform((s) => s.toLowerCase().replace(/-/g, ':'))
  .pipe(z.string().regex(MAC_RE, 'expected a MAC such as 00:1a:2b:3c:4d:5e'));
const lowerOui = z
  .string()
  .transform((s) => s.toLowerCase().replace(/-/g, ':'))
  .pipe(z.string().regex(OUI_RE, 'expected an OUI (first 3 octets) such as 00:1a:2b'));

export const netwatchConfigSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** Interfaces to watch (neighbours, counters). Empty = every non-loopback interface. */
  interfaces: z.array(z.string().min(1).max(15)).default([]),
  /** Poll period of /proc sources. The neighbour stream (`ip monitor`) is event-driven on top. */
  intervalSeconds: z.number().min(0.2).max(3600).default(10),
  /** Nothing is reported as new (devices, listeners) and no spike alarms until the baseline has learned this long. */
  learningSeconds: z.number().min(0).max(30 * 86400).default(3600),
  /** Use the `ip -ts monitor neigh` stream in addition to polling /proc/net/arp. */
  monitorNeigh: z.boolean().default(true),
  /** Root of the proc filesystem (tests point this at recorded files). */
  procRoot: z.string().default('/proc'),
  allow: z
    .strictObject({
      /** Known stations: never reported as new (still watched for MAC changes). */
      macs: z.array(lowerMac).default([]),
      /** Known vendors, by OUI (first three octets). */
      ouis: z.array(lowerOui).default([]),
      /** Listening ports on the gateway that are expected (never reported). */
      listenerPorts: z.array(z.number().int().min(0).max(65535)).default([]),
    })
    .prefault({}),
  neighbours: z
    .strictObject({
      /** A known device unseen (no neighbour entry, or FAILED) this long → `network.device.gone`. 0 = off. */
      goneAfterSeconds: z.number().min(0).default(600),
      /** Report gone only for these MACs/IPs (cameras, controllers); empty = every learned device. */
      watchGone: z.array(z.string()).default([]),
      /** MAC changes of one IP within this window count as flapping … */
      flapWindowSeconds: z.number().min(1).default(300),
      /** … and this many changes in the window raise severity from warning to alarm. */
      flapAlarmCount: z.number().int().min(2).default(3),
    })
    .prefault({}),
  traffic: z
    .strictObject({
      /** EWMA weight of a new sample (0–1]. */
      alpha: z.number().gt(0).max(1).default(0.1),
      /** Spike when rate > mean + k·deviation … */
      k: z.number().min(1).default(6),
      /** … and rate > floor (per second): idle links never alarm on noise. */
      floorBytesPerSecond: z.number().min(0).default(1_000_000),
      floorPacketsPerSecond: z.number().min(0).default(1_000),
      /** Baselines are kept per time-of-day bucket (hours); 24 = one bucket. */
      bucketHours: z.number().int().min(1).max(24).default(24),
      /** Samples a bucket needs before it may alarm. */
      minSamples: z.number().int().min(1).default(10),
      /** At most one spike event per interface per this many seconds. */
      cooldownSeconds: z.number().min(0).default(300),
    })
    .prefault({}),
  listeners: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Read process names from /proc/<pid>/fd (needs the rights to read other users' fds). */
      processNames: z.boolean().default(true),
    })
    .prefault({}),
  scan: z
    .strictObject({
      /** Distinct (host, port) targets from one source within one interval (conntrack). */
      distinctTargets: z.number().int().min(2).default(50),
      /** Without conntrack: TCP OutRsts (RSTs the gateway sent) per interval. */
      outRstsPerInterval: z.number().int().min(1).default(100),
      /** A source's scan is one event: a new one only after no new target for this many seconds. */
      cooldownSeconds: z.number().min(0).default(300),
      /** Targets count towards distinctTargets when first seen within this many seconds. */
      windowSeconds: z.number().min(1).default(60),
    })
    .prefault({}),
  /**
   * Packet-level observation (`tcpdump`, Debian package tcpdump): ARP on the wire (claims of
   * the gateway's own IP, unicast claims between other hosts where the interface sees them)
   * and probes of the gateway (SYNs, its ICMP port-unreachable answers). Needs CAP_NET_RAW
   * and AF_PACKET, which the shipped unit does not grant; without them netwatch says so once
   * and runs on the kernel tables alone (docs/netwatch.md).
   */
  capture: z
    .strictObject({
      enabled: z.boolean().default(true),
      command: z.string().min(1).default('tcpdump'),
    })
    .prefault({}),
  claims: z
    .strictObject({
      /** One claim alarm per (claimed IP, claimant MAC) per this many seconds. */
      cooldownSeconds: z.number().min(0).default(300),
      /** Extra IPs to guard like the gateway router's (e.g. a second router, the DNS server). */
      guardIps: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
});

export type NetwatchConfig = z.output<typeof netwatchConfigSchema>;
export type NetwatchConfigInput = z.input<typeof netwatchConfigSchema>;

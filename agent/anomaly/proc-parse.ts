// Pure parsers of the kernel's text interfaces netwatch reads. Each takes the file's (or
// the stream line's) text and returns plain records; no I/O here so they are tested with
// recorded vectors. Formats: proc(5) (/proc/net/arp, dev, tcp, tcp6, udp, snmp),
// route, nf_conntrack's seq_file format, and iproute2's `ip -ts monitor neigh` lines.
import { endianness } from 'node:os';

export interface NeighbourEntry {
  ip: string;
  /** Lowercase, colon separated; '' while incomplete/failed. */
  mac: string;
  iface: string;
  /** ARP flags: 0x2 ATF_COM (complete), 0x4 ATF_PERM (permanent). */
  complete: boolean;
}

const ZERO_MAC = '00:00:00:00:00:00';

/** /proc/net/arp (IPv4 neighbour table). Incomplete entries carry mac ''. */
export function parseArp(text: string): NeighbourEntry[] {
  const out: NeighbourEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    const flags = Number.parseInt(f[2], 16);
    const mac = f[3].toLowerCase();
    const complete = (flags & 0x2) !== 0 && mac !== ZERO_MAC;
    out.push({ ip: f[0], mac: complete ? mac : '', iface: f[5], complete });
  }
  return out;
}

export interface IfaceCounters {
  iface: string;
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
}

/** /proc/net/dev: two header lines, then `iface: 8 rx fields 8 tx fields`. */
export function parseNetDev(text: string): IfaceCounters[] {
  const out: IfaceCounters[] = [];
  for (const line of text.split('\n').slice(2)) {
    const c = line.indexOf(':');
    if (c < 0) continue;
    const f = line.slice(c + 1).trim().split(/\s+/).map(Number);
    if (f.length < 16 || f.some((x) => !Number.isFinite(x))) continue;
    out.push({ iface: line.slice(0, c).trim(), rxBytes: f[0], rxPackets: f[1], txBytes: f[8], txPackets: f[9] });
  }
  return out;
}

export interface SocketEntry {
  proto: 'tcp' | 'tcp6' | 'udp' | 'udp6';
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
  /** Kernel TCP state number (0x0A LISTEN, 0x07 CLOSE). */
  state: number;
  uid: number;
  inode: number;
}

const LE = endianness() === 'LE';

/** The kernel prints each 32-bit word of an address as host-order hex (proc(5) tcp). */
function word(hex: string): number[] {
  const b = [0, 2, 4, 6].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
  return LE ? b.reverse() : b;
}

export function hexToIp(hex: string): string {
  if (hex.length === 8) return word(hex).join('.');
  const bytes: number[] = [];
  for (let i = 0; i < 32; i += 8) bytes.push(...word(hex.slice(i, i + 8)));
  if (bytes.slice(0, 10).every((x) => x === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  // Compress the longest zero run (RFC 5952 §4.2.3) for readable evidence.
  const s = groups.join(':');
  const runs = [...s.matchAll(/(?:^|:)0(?::0)+(?::|$)/g)];
  if (runs.length === 0) return s;
  const best = runs.reduce((a, b) => (b[0].length > a[0].length ? b : a));
  return `${s.slice(0, best.index)}::${s.slice(best.index + best[0].length)}`;
}

/** /proc/net/{tcp,tcp6,udp,udp6}. */
export function parseSockets(text: string, proto: SocketEntry['proto']): SocketEntry[] {
  const out: SocketEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [la, lp] = f[1].split(':');
    const [ra, rp] = f[2].split(':');
    if (!la || !lp || !ra || !rp) continue;
    out.push({
      proto,
      localAddr: hexToIp(la),
      localPort: Number.parseInt(lp, 16),
      remoteAddr: hexToIp(ra),
      remotePort: Number.parseInt(rp, 16),
      state: Number.parseInt(f[3], 16),
      uid: Number(f[7]),
      inode: Number(f[9]),
    });
  }
  return out;
}

export const TCP_LISTEN = 0x0a;
export const TCP_CLOSE = 0x07;

/** Listening sockets: TCP in LISTEN; UDP bound and unconnected (remote port 0). */
export function isListener(s: SocketEntry): boolean {
  if (s.proto === 'tcp' || s.proto === 'tcp6') return s.state === TCP_LISTEN;
  return s.state === TCP_CLOSE && s.remotePort === 0 && s.localPort !== 0;
}

/** /proc/net/snmp: header/value line pairs per protocol → { Tcp: { OutRsts: n, … }, … }. */
export function parseSnmp(text: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const h = lines[i].split(/\s+/);
    const v = lines[i + 1].split(/\s+/);
    const proto = h[0].replace(/:$/, '');
    if (v[0] !== h[0]) return out; // misaligned: stop rather than mislabel numbers
    const rec: Record<string, number> = {};
    for (let j = 1; j < h.length && j < v.length; j++) rec[h[j]] = Number(v[j]);
    out[proto] = rec;
  }
  return out;
}

export interface ConntrackEntry {
  l4: string;
  src: string;
  dst: string;
  dport: number | null;
}

/** /proc/net/nf_conntrack: only the original direction (first src/dst/dport) matters. */
export function parseConntrack(text: string): ConntrackEntry[] {
  const out: ConntrackEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    const kv = (k: string): string | undefined => f.find((x) => x.startsWith(`${k}=`))?.slice(k.length + 1);
    const src = kv('src');
    const dst = kv('dst');
    if (!src || !dst) continue;
    const dport = kv('dport');
    out.push({ l4: f[2], src, dst, dport: dport === undefined ? null : Number(dport) });
  }
  return out;
}

export interface NeighbourChange {
  /** ISO timestamp from `-ts`, when present. */
  at: string | null;
  deleted: boolean;
  ip: string;
  iface: string;
  mac: string;
  /** NUD state words (REACHABLE, STALE, FAILED, PERMANENT …). */
  states: string[];
}

/** One line of `ip -ts monitor neigh` (iproute2 print_neigh). Returns null for other lines. */
export function parseMonitorLine(line: string): NeighbourChange | null {
  let rest = line.trim();
  let at: string | null = null;
  const ts = /^\[([^\]]+)\]\s*/.exec(rest);
  if (ts) {
    at = ts[1];
    rest = rest.slice(ts[0].length);
  }
  const f = rest.split(/\s+/);
  let deleted = false;
  if (f[0] === 'Deleted') {
    deleted = true;
    f.shift();
  }
  if (f[0] === 'miss') f.shift();
  const ip = f[0];
  if (!ip || !/^[0-9a-f.:]+$/i.test(ip) || (!ip.includes('.') && !ip.includes(':'))) return null;
  let iface = '';
  let mac = '';
  const states: string[] = [];
  for (let i = 1; i < f.length; i++) {
    if (f[i] === 'dev') iface = f[++i] ?? '';
    else if (f[i] === 'lladdr') mac = (f[++i] ?? '').toLowerCase();
    else if (/^[A-Z_]+$/.test(f[i])) states.push(f[i]);
  }
  if (!iface) return null;
  return { at, deleted, ip, iface, mac, states };
}

export interface RouteEntry {
  iface: string;
  destination: string;
  gateway: string;
}

/** /proc/net/route (IPv4 routing table, addresses as host-order hex): routes with a gateway. */
export function parseRoute(text: string): RouteEntry[] {
  const out: RouteEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || !/^[0-9A-Fa-f]{8}$/.test(f[1]) || !/^[0-9A-Fa-f]{8}$/.test(f[2])) continue;
    const flags = Number.parseInt(f[3], 16);
    if ((flags & 0x2) === 0) continue; // RTF_GATEWAY
    out.push({ iface: f[0], destination: hexToIp(f[1]), gateway: hexToIp(f[2]) });
  }
  return out;
}

/** OUI (first three octets) of a MAC, lowercase. */
export function ouiOf(mac: string): string {
  return mac.toLowerCase().split(':').slice(0, 3).join(':');
}

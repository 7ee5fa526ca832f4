// WS-Discovery (OASIS WS-Discovery 2005/04, as ONVIF Core §7 uses it): a Probe for
// dn:NetworkVideoTransmitter sent to the multicast group 239.255.255.250:3702, plus an
// optional unicast sweep (the same Probe to each host of a subnet, for networks that drop
// multicast). Address and port are injectable so tests probe a loopback peer.
// Used by `gatewarden discover cameras` to print a config snippet.
import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { stringify } from 'yaml';
import { childrenNamed, findFirst, parseXml, path, textOf } from './xml.js';

export const WSD_MULTICAST = '239.255.255.250';
export const WSD_PORT = 3702;

export interface DiscoveredCamera {
  /** WS-Addressing endpoint reference (urn:uuid:…), stable per device. */
  endpoint: string;
  xaddrs: string[];
  /** Of the first usable XAddr: an https device service becomes `scheme: https` in the snippet. */
  scheme: 'http' | 'https';
  host: string;
  port: number;
  /** Device service path of the first XAddr. */
  devicePath: string;
  scopes: string[];
  name?: string;
  hardware?: string;
}

export interface DiscoverOptions {
  address?: string;
  port?: number;
  /** How long to collect ProbeMatches. */
  timeoutMs?: number;
  /** Also probe each host of this IPv4 CIDR by unicast (at most `maxSweepHosts`). */
  sweep?: string;
  maxSweepHosts?: number;
  /** Local address to bind (choose the interface). */
  bind?: string;
}

export function probeMessage(messageId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" ` +
    `xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" ` +
    `xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header><a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>` +
    `<a:MessageID>${messageId}</a:MessageID><a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>` +
    `<a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>` +
    `<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>`
  );
}

/** ProbeMatches → cameras; anything unparseable or hostile yields []. */
export function parseProbeMatches(msg: Buffer | string, relatesTo?: string): DiscoveredCamera[] {
  let doc;
  try {
    doc = parseXml(msg, { maxBytes: 64 * 1024 });
  } catch {
    return [];
  }
  if (relatesTo && textOf(findFirst(path(doc, 'Header'), 'RelatesTo')) !== relatesTo) return [];
  const out: DiscoveredCamera[] = [];
  for (const pm of childrenNamed(findFirst(doc, 'ProbeMatches'), 'ProbeMatch')) {
    const xaddrs = textOf(path(pm, 'XAddrs')).split(/\s+/).filter(Boolean);
    // Prefer an https XAddr when the camera offers both: never suggest the weaker transport.
    const urls = xaddrs.map((x) => safeUrl(x)).filter((u): u is URL => u !== null);
    const first = urls.find((u) => u.protocol === 'https:') ?? urls[0];
    if (!first) continue;
    const scopes = textOf(path(pm, 'Scopes')).split(/\s+/).filter(Boolean);
    const scope = (k: string): string | undefined => {
      const s = scopes.find((x) => x.startsWith(`onvif://www.onvif.org/${k}/`));
      return s ? safeDecode(s.slice(`onvif://www.onvif.org/${k}/`.length)) : undefined;
    };
    out.push({
      endpoint: textOf(path(pm, 'EndpointReference', 'Address')) || first.origin,
      xaddrs,
      scheme: first.protocol === 'https:' ? 'https' : 'http',
      host: first.hostname.replace(/^\[|\]$/g, ''),
      port: Number(first.port || (first.protocol === 'https:' ? 443 : 80)),
      devicePath: first.pathname || '/onvif/device_service',
      scopes,
      ...(scope('name') ? { name: scope('name') } : {}),
      ...(scope('hardware') ? { hardware: scope('hardware') } : {}),
    });
  }
  return out;
}

function safeUrl(s: string): URL | null {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : null;
  } catch {
    return null;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Hosts of an IPv4 CIDR (network and broadcast addresses excluded for prefixes < 31). */
export function sweepTargets(cidr: string, max = 1024): string[] {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  if (!m || m.slice(1, 5).some((x) => Number(x) > 255) || Number(m[5]) > 32) throw new Error(`sweep: expected an IPv4 CIDR such as 192.168.1.0/24 (got "${cidr}")`);
  const bits = Number(m[5]);
  const ip = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  const size = 2 ** (32 - bits);
  const net = bits === 0 ? 0 : (ip & (~0 << (32 - bits))) >>> 0;
  const first = bits >= 31 ? net : net + 1;
  const last = bits >= 31 ? net + size - 1 : net + size - 2;
  if (last - first + 1 > max) throw new Error(`sweep: ${cidr} has ${last - first + 1} hosts; the limit is ${max}`);
  const out: string[] = [];
  for (let a = first; a <= last; a++) out.push([a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.'));
  return out;
}

export async function discoverCameras(opts: DiscoverOptions = {}): Promise<DiscoveredCamera[]> {
  const port = opts.port ?? WSD_PORT;
  const targets = [opts.address ?? WSD_MULTICAST, ...(opts.sweep ? sweepTargets(opts.sweep, opts.maxSweepHosts) : [])];
  const messageId = `urn:uuid:${randomUUID()}`;
  const msg = Buffer.from(probeMessage(messageId));
  const sock = createSocket({ type: 'udp4', reuseAddr: true });
  const found = new Map<string, DiscoveredCamera>();
  sock.on('message', (buf) => {
    for (const c of parseProbeMatches(buf, messageId)) if (!found.has(c.endpoint)) found.set(c.endpoint, c);
  });
  sock.on('error', () => undefined);
  await new Promise<void>((resolve) => sock.bind(0, opts.bind, () => resolve()));
  try {
    if ((opts.address ?? WSD_MULTICAST) === WSD_MULTICAST) sock.setMulticastTTL(1);
    // SOAP-over-UDP §3.4 suggests repeating the message; two sends cover a dropped datagram.
    for (let round = 0; round < 2; round++) {
      for (const t of targets) await new Promise<void>((r) => sock.send(msg, port, t, () => r()));
    }
    await new Promise((r) => setTimeout(r, opts.timeoutMs ?? 3000));
  } finally {
    await new Promise<void>((r) => sock.close(() => r()));
  }
  return [...found.values()];
}

/** Camera id from its scope name or address, valid for config/schema.ts idString. */
function cameraId(c: DiscoveredCamera, used: Set<string>): string {
  const base = (c.name ?? `cam-${c.host}`).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 56) || 'cam';
  let id = base;
  for (let i = 2; used.has(id); i++) id = `${base}-${i}`;
  used.add(id);
  return id;
}

/** A `drivers.onvif` instance for the found cameras: object (for validation) and YAML text. */
export function configSnippet(found: DiscoveredCamera[], opts: { id?: string; username?: string } = {}): { config: Record<string, unknown>; yaml: string } {
  const used = new Set<string>();
  const config = {
    id: opts.id ?? 'cameras',
    cameras: found.map((c) => ({
      id: cameraId(c, used),
      host: c.host,
      port: c.port,
      // https: certificate verification stays on; the technician adds tls.certSha256 or tls.caFile.
      ...(c.scheme === 'https' ? { scheme: 'https' } : {}),
      ...(c.devicePath !== '/onvif/device_service' && c.devicePath !== '/' ? { devicePath: c.devicePath } : {}),
      username: opts.username ?? 'admin',
      password: 'CHANGE-ME',
    })),
  };
  const header = found.map((c) => `# ${c.name ?? '?'} (${c.hardware ?? '?'}) ${c.xaddrs.join(' ')}`).join('\n');
  return { config, yaml: `${header}${header ? '\n' : ''}${stringify({ drivers: { onvif: [config] } })}` };
}

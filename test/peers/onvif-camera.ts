// A faithful ONVIF camera for tests (no packaged simulator exists): an HTTP SOAP 1.2
// server on 127.0.0.1 speaking the device, media and event services, checking
// WS-UsernameToken PasswordDigest against its own (offsettable) clock, answering
// PRE_AUTH operations without login as ONVIF Core §5.12.2 requires, holding PullMessages
// as a long poll, expiring subscriptions, restarting, answering WS-Discovery probes on
// its own UDP port, serving a digest-protected snapshot, and, on demand, turning hostile.
// With `tls` it serves everything over HTTPS (as hardened-site cameras do) while still
// advertising `http://` service XAddrs and snapshot URI, as many such cameras do.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { child, findFirst, parseXml, textOf, type XmlElement } from '../../drivers/onvif/xml.js';
import * as T from './onvif-templates.js';

export type EventKind = 'motion' | 'cellmotion' | 'tamper' | 'blurry' | 'dark' | 'bright' | 'signal' | 'input' | 'unknown';
export type HostileMode = 'xxe' | 'bomb' | 'deep' | 'huge' | null;

export interface OnvifCameraOptions {
  username?: string;
  password?: string;
  /** Camera clock − real clock, ms. */
  clockOffsetMs?: number;
  /** Reject tokens whose Created is further than this from camera time (s); null = no window. */
  authWindowSeconds?: number | null;
  vendor?: T.Vendor;
  /** Answer PullMessages at once even when empty (a camera ignoring the long-poll Timeout). */
  instantPull?: boolean;
  snapshotAuth?: 'digest' | 'basic';
  snapshotBytes?: number;
  /** Serve HTTPS with this certificate and key (PEM file paths). */
  tls?: { cert: string; key: string };
  /** Login, profiles and subscription work, but every PullMessages answers HTTP 500 without a SOAP body. */
  failPulls?: boolean;
  /** Frozen-clock mode: every PullMessages answers this CurrentTime (ms) while the clock runs on (seen in recorded real captures). */
  frozenPullTimeMs?: number;
  /** Notification UtcTime = camera clock + this (ms): a camera stamping its events off its own clock. */
  eventTimeOffsetMs?: number;
  /** The port the camera names in its XAddrs and snapshot URI (behind NAT / a port forward, e.g. 80) instead of the one it listens on. */
  advertisedPort?: number;
  /** The snapshot URI names this port (a separate snapshot server) instead of the advertised one. */
  snapshotUriPort?: number;
}

export interface OnvifCamera {
  port: number;
  discoveryPort: number;
  deviceUrl: string;
  jpeg: Buffer;
  stats: { requests: number; byOp: Record<string, number>; authFailures: number; pulls: number; unsubscribes: number; snapshots: number };
  emit(kind: EventKind, state: boolean, source?: string): void;
  expireSubscriptions(): void;
  subscriptions(): number;
  restart(): Promise<void>;
  setHostile(mode: HostileMode): void;
  setPassword(p: string): void;
  setClockOffset(ms: number): void;
  /** Switch the failPulls mode at run time. */
  setFailPulls(on: boolean): void;
  close(): Promise<void>;
}

const PRE_AUTH = new Set(['GetSystemDateAndTime', 'GetCapabilities', 'GetServices', 'GetWsdlUrl', 'GetEndpointReference']);

interface Sub {
  id: string;
  expiresAt: number;
  queue: T.PeerMessage[];
  wake: (() => void) | null;
}

function topicFor(kind: EventKind, vendor: T.Vendor): { topic: string; source: Record<string, string>; field: string; value: (s: boolean) => string } {
  const bool = (s: boolean): string => (vendor === 'axis' ? (s ? '1' : '0') : String(s));
  const vs = { VideoSourceConfigurationToken: 'VideoSourceToken' };
  switch (kind) {
    case 'motion':
      return { topic: 'tns1:VideoSource/MotionAlarm', source: { Source: 'VideoSource_1' }, field: vendor === 'axis' ? 'IsMotion' : 'State', value: bool };
    case 'cellmotion':
      return { topic: 'tns1:RuleEngine/CellMotionDetector/Motion', source: { ...vs, VideoAnalyticsConfigurationToken: 'VideoAnalyticsToken', Rule: 'MyMotionDetectorRule' }, field: 'IsMotion', value: bool };
    case 'tamper':
      return { topic: 'tns1:VideoSource/GlobalSceneChange/ImagingService', source: { Source: 'VideoSource_1' }, field: 'State', value: bool };
    case 'blurry':
      return { topic: 'tns1:VideoSource/ImageTooBlurry/ImagingService', source: { Source: 'VideoSource_1' }, field: 'State', value: bool };
    case 'dark':
      return { topic: 'tns1:VideoSource/ImageTooDark/AnalyticsService', source: { Source: 'VideoSource_1' }, field: 'State', value: bool };
    case 'bright':
      return { topic: 'tns1:VideoSource/ImageTooBright/RecordingService', source: { Source: 'VideoSource_1' }, field: 'State', value: bool };
    case 'signal':
      return { topic: 'tns1:VideoSource/SignalLoss', source: { Source: 'VideoSource_1' }, field: 'State', value: bool };
    case 'input':
      return { topic: 'tns1:Device/Trigger/DigitalInput', source: { InputToken: 'DigitalInput_1' }, field: vendor === 'hikvision' ? 'State' : 'LogicalState', value: bool };
    case 'unknown':
      return { topic: 'tns1:Monitoring/ProcessorUsage', source: { Token: 'Processor_Usage' }, field: 'Value', value: (s) => (s ? '93.5' : '4.0') };
  }
}

export async function startOnvifCamera(opts: OnvifCameraOptions = {}): Promise<OnvifCamera> {
  const vendorName = opts.vendor ?? 'generic';
  const v = T.VENDORS[vendorName];
  let password = opts.password ?? 'secret';
  const username = opts.username ?? 'admin';
  let offset = opts.clockOffsetMs ?? 0;
  let hostileMode: HostileMode = null;
  let failPulls = opts.failPulls ?? false;
  const camNow = (): number => Date.now() + offset;
  const subs = new Map<string, Sub>();
  const sockets = new Set<Socket>();
  const held = new Set<ServerResponse>();
  const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(Math.max(16, (opts.snapshotBytes ?? 2048) - 6)), Buffer.from([0xff, 0xd9])]);
  const digestNonce = randomBytes(12).toString('hex');
  const stats: OnvifCamera['stats'] = { requests: 0, byOp: {}, authFailures: 0, pulls: 0, unsubscribes: 0, snapshots: 0 };
  const states = new Map<EventKind, boolean>();
  let port = 0;

  const send = (res: ServerResponse, status: number, xml: string): void => {
    res.writeHead(status, { 'content-type': 'application/soap+xml; charset=utf-8', date: new Date(camNow()).toUTCString() });
    res.end(xml);
  };

  /** WS-Security UsernameToken Profile §3.1, checked independently of the driver's code. */
  const checkAuth = (header: XmlElement | undefined): string | null => {
    const tok = findFirst(header, 'UsernameToken');
    if (!tok) return 'no UsernameToken';
    const user = textOf(child(tok, 'Username'));
    const pw = textOf(child(tok, 'Password'));
    const nonce = Buffer.from(textOf(child(tok, 'Nonce')), 'base64');
    const created = textOf(child(tok, 'Created'));
    const expect = createHash('sha1').update(Buffer.concat([nonce, Buffer.from(created), Buffer.from(password)])).digest('base64');
    if (user !== username || pw !== expect) return 'bad username or digest';
    const window = opts.authWindowSeconds ?? null;
    if (window !== null && Math.abs(Date.parse(created) - camNow()) > window * 1000) return `Created ${created} outside the ±${window} s window`;
    return null;
  };

  const queueState = (kind: EventKind, state: boolean, operation: T.PeerMessage['operation'], target?: Sub, src?: string): void => {
    const t = topicFor(kind, vendorName);
    const m: T.PeerMessage = { topic: t.topic, utc: camNow() + (opts.eventTimeOffsetMs ?? 0), operation, source: src ? { ...t.source, InputToken: src } : t.source, data: { [t.field]: t.value(state) } };
    for (const s of target ? [target] : subs.values()) {
      s.queue.push(m);
      s.wake?.();
    }
  };

  const subscriptionOp = (op: string, body: XmlElement, res: ServerResponse, id: string): void => {
    const s = subs.get(id);
    if (!s || s.expiresAt <= Date.now()) {
      subs.delete(id);
      send(res, 400, T.fault(v, 'Sender', ['wsrf-rw:ResourceUnknownFault'], 'The subscription is unknown or has expired'));
      return;
    }
    if (op === 'Unsubscribe') {
      stats.unsubscribes += 1;
      subs.delete(id);
      send(res, 200, T.env(v, '<wsnt:UnsubscribeResponse/>'));
    } else if (op === 'Renew') {
      const secs = Number(/PT(\d+)S/.exec(textOf(findFirst(body, 'TerminationTime')))?.[1] ?? 60);
      s.expiresAt = Date.now() + secs * 1000;
      send(res, 200, T.env(v, `<wsnt:RenewResponse><wsnt:TerminationTime>${T.iso(s.expiresAt + offset)}</wsnt:TerminationTime><wsnt:CurrentTime>${T.iso(camNow())}</wsnt:CurrentTime></wsnt:RenewResponse>`));
    } else if (op === 'PullMessages') {
      stats.pulls += 1;
      if (failPulls) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('event service unavailable');
        return;
      }
      const timeoutS = Math.min(60, Number(/PT(\d+(?:\.\d+)?)S/.exec(textOf(findFirst(body, 'Timeout')))?.[1] ?? 10));
      const limit = Number(textOf(findFirst(body, 'MessageLimit')) || 100);
      const answer = (): void => {
        s.wake = null;
        held.delete(res);
        if (res.destroyed) return;
        send(res, 200, T.env(v, T.pullResponse(v, opts.frozenPullTimeMs ?? camNow(), s.expiresAt + offset, s.queue.splice(0, limit))));
      };
      if (s.queue.length > 0 || opts.instantPull) return answer();
      held.add(res);
      const t = setTimeout(answer, timeoutS * 1000);
      s.wake = () => {
        clearTimeout(t);
        answer();
      };
      res.once('close', () => clearTimeout(t));
    } else {
      send(res, 400, T.fault(v, 'Sender', ['ter:InvalidArgVal', 'ter:NoSuchOperation'], `unsupported operation ${op}`));
    }
  };

  const handleSoap = (req: IncomingMessage, res: ServerResponse, raw: Buffer): void => {
    stats.requests += 1;
    if (hostileMode === 'huge') return streamHuge(res);
    if (hostileMode) return send(res, 200, T.hostile(hostileMode));
    let doc: XmlElement;
    try {
      doc = parseXml(raw);
    } catch (e) {
      return send(res, 400, T.fault(v, 'Sender', ['ter:WellFormed'], (e as Error).message));
    }
    const body = child(doc, 'Body');
    const opEl = body?.children[0];
    const op = opEl?.name ?? '';
    stats.byOp[op] = (stats.byOp[op] ?? 0) + 1;
    if (!PRE_AUTH.has(op)) {
      const why = checkAuth(child(doc, 'Header'));
      if (why) {
        stats.authFailures += 1;
        return send(res, v.authStatus, T.fault(v, 'Sender', ['ter:NotAuthorized'], `Sender not Authorized (${why})`));
      }
    }
    const url = req.url ?? '';
    const subMatch = /^\/onvif\/subscription\/([\w-]+)$/.exec(url);
    if (subMatch) return subscriptionOp(op, opEl!, res, subMatch[1]);
    const ok = (x: string): void => send(res, 200, T.env(v, x));
    switch (op) {
      case 'GetSystemDateAndTime':
        return ok(T.dateTime(camNow()));
      case 'GetDeviceInformation':
        return ok(T.deviceInfo(v));
      case 'GetCapabilities':
        return ok(T.capabilities(opts.advertisedPort ?? port));
      case 'GetProfiles':
        return ok(T.profiles());
      case 'GetStreamUri':
      case 'GetSnapshotUri': {
        const tok = textOf(findFirst(opEl, 'ProfileToken'));
        if (tok !== 'Profile_1' && tok !== 'Profile_2') return send(res, 400, T.fault(v, 'Sender', ['ter:InvalidArgVal', 'ter:NoProfile'], `no profile ${tok}`));
        return ok(op === 'GetStreamUri' ? T.mediaUri(op, `rtsp://192.0.2.10:554/Streaming/${tok}`) : T.mediaUri(op, `http://192.0.2.10:${opts.snapshotUriPort ?? opts.advertisedPort ?? port}/snapshot.jpg?profile=${tok}`));
      }
      case 'CreatePullPointSubscription': {
        const secs = Number(/PT(\d+)S/.exec(textOf(findFirst(opEl, 'InitialTerminationTime')))?.[1] ?? 60);
        const id = randomUUID();
        const s: Sub = { id, expiresAt: Date.now() + secs * 1000, queue: [], wake: null };
        subs.set(id, s);
        // Event §9.4.3: property topics first deliver their current state as "Initialized".
        for (const k of ['motion', 'input'] as const) queueState(k, states.get(k) ?? false, 'Initialized', s);
        return ok(T.createPullPoint(`http://192.0.2.10:${port}/onvif/subscription/${id}`, camNow(), s.expiresAt + offset));
      }
      default:
        return send(res, 400, T.fault(v, 'Sender', ['ter:InvalidArgVal', 'ter:NoSuchOperation'], `unsupported operation ${op}`));
    }
  };

  const streamHuge = (res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/soap+xml' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    res.write(`<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><x>`);
    const pump = (): void => {
      while (sent < 256 * 1024 * 1024 && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end('</x></s:Body></s:Envelope>');
    };
    pump();
  };

  const handleSnapshot = (req: IncomingMessage, res: ServerResponse): void => {
    const h = req.headers.authorization ?? '';
    let ok = false;
    if ((opts.snapshotAuth ?? 'digest') === 'basic') {
      ok = h === `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    } else if (h.startsWith('Digest ')) {
      const p: Record<string, string> = {};
      for (const m of h.slice(7).matchAll(/(\w+)=(?:"([^"]*)"|([^\s,]+))/g)) p[m[1]] = m[2] ?? m[3];
      const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
      const ha1 = md5(`${username}:onvif-test:${password}`);
      const ha2 = md5(`GET:${p.uri}`);
      ok = p.username === username && p.nonce === digestNonce && p.uri === req.url && p.response === md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`);
    }
    if (!ok) {
      const chal = (opts.snapshotAuth ?? 'digest') === 'basic' ? 'Basic realm="onvif-test"' : `Digest realm="onvif-test", qop="auth", nonce="${digestNonce}", opaque="abc", algorithm=MD5`;
      res.writeHead(401, { 'www-authenticate': chal, 'content-type': 'text/html' });
      return void res.end('<html>401</html>');
    }
    stats.snapshots += 1;
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length });
    res.end(jpeg);
  };

  const tlsFiles = opts.tls ? { cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) } : null;
  const makeServer = (): Server => {
    const handler: RequestListener = (req, res) => {
      if (req.method === 'GET' && req.url?.startsWith('/snapshot.jpg')) return handleSnapshot(req, res);
      const bufs: Buffer[] = [];
      req.on('data', (c: Buffer) => bufs.push(c));
      req.on('end', () => handleSoap(req, res, Buffer.concat(bufs)));
    };
    const srv: Server = tlsFiles ? createHttpsServer(tlsFiles, handler) : createServer(handler);
    srv.on('connection', (s: Socket) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    return srv;
  };

  const listen = (srv: Server, p: number): Promise<number> =>
    new Promise((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(p, '127.0.0.1', () => resolve((srv.address() as { port: number }).port));
    });

  let server = makeServer();
  port = await listen(server, 0);

  // WS-Discovery (2005/04) Probe → ProbeMatches, on a private UDP port (loopback testable).
  const scheme = tlsFiles ? 'https' : 'http';
  const udp: UdpSocket = createSocket({ type: 'udp4' });
  const uuid = randomUUID();
  udp.on('message', (msg, rinfo) => {
    try {
      const d = parseXml(msg);
      if (!findFirst(d, 'Probe')) return;
      const mid = textOf(findFirst(child(d, 'Header'), 'MessageID'));
      udp.send(T.probeMatch(mid, `${scheme}://127.0.0.1:${port}/onvif/device_service`, uuid, `${v.manufacturer} ${v.model}`), rinfo.port, rinfo.address);
    } catch {
      /* not XML: a real camera ignores it too */
    }
  });
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));

  const closeHttp = async (): Promise<void> => {
    for (const r of held) r.destroy();
    held.clear();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };

  return {
    get port() {
      return port;
    },
    discoveryPort: udp.address().port,
    deviceUrl: `${scheme}://127.0.0.1:${port}/onvif/device_service`,
    jpeg,
    stats,
    emit(kind, state, source) {
      if (kind !== 'unknown') states.set(kind, state);
      queueState(kind, state, 'Changed', undefined, source);
    },
    expireSubscriptions() {
      for (const s of subs.values()) s.expiresAt = 0;
    },
    subscriptions: () => [...subs.values()].filter((s) => s.expiresAt > Date.now()).length,
    async restart() {
      // A reboot: connections cut, subscriptions forgotten, same address afterwards.
      subs.clear();
      await closeHttp();
      server = makeServer();
      await listen(server, port);
    },
    setHostile: (m) => void (hostileMode = m),
    setPassword: (p) => void (password = p),
    setClockOffset: (ms) => void (offset = ms),
    setFailPulls: (on) => void (failPulls = on),
    async close() {
      await closeHttp();
      await new Promise<void>((r) => udp.close(() => r()));
    },
  };
}


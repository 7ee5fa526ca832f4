// ONVIF device / media / event service calls (ONVIF Core, Media, Event specs) on top of
// soap.ts. Holds the camera clock offset used for UsernameToken `Created` and for
// correcting event times. Stateless beyond that: the camera session drives it.
import { securityHeader, soapCall, SoapFault, NS, type SoapResult } from './soap.js';
import type { TlsPolicy } from './tls.js';
import { attr, child, childrenNamed, findFirst, path, textOf, type XmlElement } from './xml.js';

export interface ClientOptions {
  host: string;
  port: number;
  /** Scheme of the device service; every service URL the camera names follows it (see rebase). */
  scheme?: 'http' | 'https';
  /** Certificate policy for https (tls.ts); required when scheme is https. */
  tls?: TlsPolicy;
  username: string;
  password: string;
  /** Path of the device service; ONVIF Core §5.1.1 fixes `/onvif/device_service`. */
  devicePath: string;
  timeoutMs: number;
  maxResponseBytes: number;
  now: () => number;
}

export interface DeviceInfo {
  manufacturer: string;
  model: string;
  firmwareVersion: string;
  serialNumber: string;
  hardwareId: string;
}

export interface Profile {
  token: string;
  name: string;
  encoding?: string;
  width?: number;
  height?: number;
}

export interface NotificationMessage {
  /** Topic with prefixes normalised: the ONVIF topic namespace is always `tns1`. */
  topic: string;
  /** Topic path without prefixes, e.g. `VideoSource/MotionAlarm`; '' when not an ONVIF topic. */
  onvifPath: string;
  utcTime: string | null;
  operation: string;
  source: Record<string, string>;
  key: Record<string, string>;
  data: Record<string, string>;
}

export interface PullResult {
  currentTime: string | null;
  terminationTime: string | null;
  messages: NotificationMessage[];
}

/** camera time − local time, from GetSystemDateAndTime (ONVIF Core §8.3.10). */
export interface ClockReading {
  cameraUtc: Date;
  offsetMs: number;
}

export class OnvifClient {
  /** camera clock − local clock (ms); applied to every UsernameToken. */
  offsetMs = 0;
  requests = 0;
  faults = 0;
  readonly xaddr: { device: string; media: string; events: string };
  /** Ports of the camera's own service XAddrs (GetCapabilities): where it believes its web server listens. */
  private readonly advertisedPorts = new Set<string>();

  constructor(private readonly o: ClientOptions) {
    const base = `${o.scheme ?? 'http'}://${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`;
    this.xaddr = { device: `${base}${o.devicePath}`, media: `${base}/onvif/media_service`, events: `${base}/onvif/event_service` };
  }

  /** Cameras advertise XAddrs with their own idea of their address (NAT, DHCP, port maps):
   *  keep the path the camera gives, but always talk to the configured scheme, host and
   *  port. So an https device's services stay on https even when the camera advertises
   *  `http://` XAddrs (many do: the XAddr often reflects the listener, not the client's
   *  transport) — no silent downgrade, and the same TLS policy for every service. */
  rebase(xaddr: string): string {
    try {
      const u = new URL(xaddr.trim().split(/\s+/)[0]);
      const base = new URL(this.xaddr.device);
      return `${base.origin}${u.pathname}${u.search}`;
    } catch {
      return this.xaddr.device;
    }
  }

  /**
   * Snapshot URIs (HTTP GET with the camera's credentials), always on the configured host.
   * The port: a URI on the port the camera advertises for its own services (GetCapabilities
   * XAddrs) is on that web server, which the gateway reaches on the configured port (NAT,
   * port forward: the camera says :80, the gateway connects to :8080) → the configured
   * port; any other port is a separate snapshot server and is kept (drivers/onvif/README.md).
   * On an https camera an `http:` URI is moved onto the device service's origin (https,
   * configured port) — the snapshot handler lives on the same web server on the cameras
   * that offer HTTPS, and Basic credentials must not go out in clear.
   */
  snapshotUrl(uri: string): string {
    if (!uri) return uri;
    try {
      const u = new URL(uri);
      if (this.o.scheme === 'https' && u.protocol !== 'https:') return `${new URL(this.xaddr.device).origin}${u.pathname}${u.search}`;
      u.hostname = this.o.host;
      if (this.advertisedPorts.has(portOf(u))) u.port = String(this.o.port);
      return u.toString();
    } catch {
      return uri;
    }
  }

  /** For stream/snapshot URIs: same scheme, port and path, but the configured host. */
  rehost(uri: string): string {
    if (!uri) return uri;
    try {
      const u = new URL(uri);
      u.hostname = this.o.host;
      return u.toString();
    } catch {
      return uri;
    }
  }

  async call(url: string, action: string, body: string, opts: { auth?: boolean; timeoutMs?: number; signal?: AbortSignal; header?: string } = {}): Promise<SoapResult> {
    this.requests += 1;
    const sec = opts.auth === false ? '' : securityHeader(this.o, new Date(this.o.now() + this.offsetMs));
    const header = sec + (opts.header ?? '');
    try {
      return await soapCall({ url, action, body, header, timeoutMs: opts.timeoutMs ?? this.o.timeoutMs, maxBytes: this.o.maxResponseBytes, signal: opts.signal, tls: this.o.tls });
    } catch (e) {
      if (e instanceof SoapFault) this.faults += 1;
      throw e;
    }
  }

  /** Unauthenticated (PRE_AUTH, ONVIF Core §5.12.2.1); sets `offsetMs`. */
  async getSystemDateAndTime(signal?: AbortSignal): Promise<ClockReading> {
    const t0 = this.o.now();
    const r = await this.call(this.xaddr.device, `${NS.tds}/GetSystemDateAndTime`, '<tds:GetSystemDateAndTime/>', { auth: false, signal });
    const t1 = this.o.now();
    const sdt = findFirst(r.body, 'SystemDateAndTime');
    const utc = child(sdt, 'UTCDateTime');
    let cameraMs: number | null = null;
    if (utc) {
      const d = child(utc, 'Date');
      const t = child(utc, 'Time');
      const num = (el: XmlElement | undefined, n: string): number => Number(textOf(child(el, n)));
      const ms = Date.UTC(num(d, 'Year'), num(d, 'Month') - 1, num(d, 'Day'), num(t, 'Hour'), num(t, 'Minute'), num(t, 'Second'));
      if (Number.isFinite(ms)) cameraMs = ms;
    }
    // Some cameras leave UTCDateTime out; the HTTP Date header is the next best source.
    if (cameraMs === null) cameraMs = r.httpDate;
    if (cameraMs === null) throw new Error('GetSystemDateAndTime answer carries no UTC time');
    // The camera answered somewhere between t0 and t1; seconds resolution dominates anyway.
    const offsetMs = cameraMs - Math.round((t0 + t1) / 2);
    this.offsetMs = offsetMs;
    return { cameraUtc: new Date(cameraMs), offsetMs };
  }

  async getDeviceInformation(signal?: AbortSignal): Promise<DeviceInfo> {
    const r = await this.call(this.xaddr.device, `${NS.tds}/GetDeviceInformation`, '<tds:GetDeviceInformation/>', { signal });
    const g = child(r.body, 'GetDeviceInformationResponse');
    const t = (n: string): string => textOf(child(g, n));
    return { manufacturer: t('Manufacturer'), model: t('Model'), firmwareVersion: t('FirmwareVersion'), serialNumber: t('SerialNumber'), hardwareId: t('HardwareId') };
  }

  /** GetCapabilities (Core §8.1.2.3) for the media and event XAddrs; keeps defaults when absent. */
  async getCapabilities(signal?: AbortSignal): Promise<{ media: boolean; events: boolean; wsPullPoint: boolean }> {
    const r = await this.call(this.xaddr.device, `${NS.tds}/GetCapabilities`, '<tds:GetCapabilities><tds:Category>All</tds:Category></tds:GetCapabilities>', { signal });
    const caps = findFirst(r.body, 'Capabilities');
    const media = textOf(path(caps, 'Media', 'XAddr'));
    const events = textOf(path(caps, 'Events', 'XAddr'));
    for (const x of [textOf(path(caps, 'Device', 'XAddr')), media, events]) {
      try {
        if (x) this.advertisedPorts.add(portOf(new URL(x.trim().split(/\s+/)[0])));
      } catch {
        // an XAddr that is no URL advertises no port
      }
    }
    if (media) this.xaddr.media = this.rebase(media);
    if (events) this.xaddr.events = this.rebase(events);
    return { media: media !== '', events: events !== '', wsPullPoint: textOf(path(caps, 'Events', 'WSPullPointSupport')) === 'true' };
  }

  async getProfiles(signal?: AbortSignal): Promise<Profile[]> {
    const r = await this.call(this.xaddr.media, `${NS.trt}/GetProfiles`, '<trt:GetProfiles/>', { signal });
    return childrenNamed(child(r.body, 'GetProfilesResponse'), 'Profiles').map((p) => {
      const enc = child(p, 'VideoEncoderConfiguration');
      const res = child(enc, 'Resolution');
      const w = Number(textOf(child(res, 'Width')));
      const h = Number(textOf(child(res, 'Height')));
      return {
        token: attr(p, 'token') ?? '',
        name: textOf(child(p, 'Name')),
        ...(enc ? { encoding: textOf(child(enc, 'Encoding')) } : {}),
        ...(Number.isFinite(w) && w > 0 ? { width: w, height: h } : {}),
      };
    });
  }

  /** Profile token is always passed explicitly (Media §5.15.1); never "the default profile". */
  async getStreamUri(profileToken: string, signal?: AbortSignal): Promise<string> {
    const body =
      `<trt:GetStreamUri><trt:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream><tt:Transport><tt:Protocol>RTSP</tt:Protocol></tt:Transport></trt:StreamSetup>` +
      `<trt:ProfileToken>${escape(profileToken)}</trt:ProfileToken></trt:GetStreamUri>`;
    const r = await this.call(this.xaddr.media, `${NS.trt}/GetStreamUri`, body, { signal });
    return textOf(findFirst(r.body, 'Uri'));
  }

  async getSnapshotUri(profileToken: string, signal?: AbortSignal): Promise<string> {
    const r = await this.call(this.xaddr.media, `${NS.trt}/GetSnapshotUri`, `<trt:GetSnapshotUri><trt:ProfileToken>${escape(profileToken)}</trt:ProfileToken></trt:GetSnapshotUri>`, { signal });
    return textOf(findFirst(r.body, 'Uri'));
  }

  /** Event §9.1.1 CreatePullPointSubscription; `topics` become a ConcreteSet TopicExpression filter. */
  async createPullPoint(opts: { initialTerminationSeconds: number; topics?: string[]; signal?: AbortSignal }): Promise<{ address: string; terminationTime: string | null }> {
    const filter = opts.topics?.length
      ? `<tev:Filter><wsnt:TopicExpression Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">${escape(opts.topics.join('|'))}</wsnt:TopicExpression></tev:Filter>`
      : '';
    const body = `<tev:CreatePullPointSubscription>${filter}<tev:InitialTerminationTime>PT${opts.initialTerminationSeconds}S</tev:InitialTerminationTime></tev:CreatePullPointSubscription>`;
    const r = await this.call(this.xaddr.events, `${NS.tev}/EventPortType/CreatePullPointSubscriptionRequest`, body, { signal: opts.signal, header: wsa(this.xaddr.events, `${NS.tev}/EventPortType/CreatePullPointSubscriptionRequest`) });
    const resp = child(r.body, 'CreatePullPointSubscriptionResponse');
    const address = textOf(path(resp, 'SubscriptionReference', 'Address'));
    if (!address) throw new Error('CreatePullPointSubscription answer has no SubscriptionReference/Address');
    return { address: this.rebase(address), terminationTime: textOf(child(resp, 'TerminationTime')) || null };
  }

  /** Event §9.1.2 PullMessages: a long poll; the HTTP deadline is the poll timeout plus margin. */
  async pullMessages(address: string, timeoutSeconds: number, limit: number, signal?: AbortSignal): Promise<PullResult> {
    const action = `${NS.tev}/PullPointSubscription/PullMessagesRequest`;
    const body = `<tev:PullMessages><tev:Timeout>PT${timeoutSeconds}S</tev:Timeout><tev:MessageLimit>${limit}</tev:MessageLimit></tev:PullMessages>`;
    const r = await this.call(address, action, body, { signal, timeoutMs: timeoutSeconds * 1000 + this.o.timeoutMs, header: wsa(address, action) });
    const resp = child(r.body, 'PullMessagesResponse');
    return {
      currentTime: textOf(child(resp, 'CurrentTime')) || null,
      terminationTime: textOf(child(resp, 'TerminationTime')) || null,
      messages: childrenNamed(resp, 'NotificationMessage').map(parseNotification),
    };
  }

  /** WS-BaseNotification §6.1 Renew. */
  async renew(address: string, seconds: number, signal?: AbortSignal): Promise<string | null> {
    const action = `${NS.wsnt}/SubscriptionManager/RenewRequest`;
    const r = await this.call(address, action, `<wsnt:Renew><wsnt:TerminationTime>PT${seconds}S</wsnt:TerminationTime></wsnt:Renew>`, { signal, header: wsa(address, action) });
    return textOf(findFirst(r.body, 'TerminationTime')) || null;
  }

  async unsubscribe(address: string, timeoutMs: number): Promise<void> {
    const action = `${NS.wsnt}/SubscriptionManager/UnsubscribeRequest`;
    await this.call(address, action, '<wsnt:Unsubscribe/>', { timeoutMs, header: wsa(address, action) });
  }
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** WS-Addressing To/Action: required by many cameras on subscription-manager endpoints. */
function wsa(to: string, action: string): string {
  return `<wsa:Action>${escape(action)}</wsa:Action><wsa:To>${escape(to)}</wsa:To>`;
}

function items(el: XmlElement | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const si of childrenNamed(el, 'SimpleItem')) {
    const name = attr(si, 'Name');
    if (name) out[name] = attr(si, 'Value') ?? '';
  }
  // ElementItem content is vendor XML; only its presence is recorded.
  for (const ei of childrenNamed(el, 'ElementItem')) {
    const name = attr(ei, 'Name');
    if (name) out[name] = '(element)';
  }
  return out;
}

/** Resolve each `prefix:Name` segment of a ConcreteSet topic against the scope it was written in. */
export function normaliseTopic(raw: string, scope: ReadonlyMap<string, string>): { topic: string; onvifPath: string } {
  const segs = raw.trim().split('/').filter((s) => s !== '');
  let onvif = segs.length > 0;
  const out = segs.map((seg, i) => {
    const c = seg.indexOf(':');
    if (c === -1) return seg;
    const prefix = seg.slice(0, c);
    const local = seg.slice(c + 1);
    const uri = scope.get(prefix);
    if (i === 0 && uri !== NS.tns1 && !(uri === undefined && prefix === 'tns1')) onvif = false;
    return uri === NS.tns1 || (uri === undefined && prefix === 'tns1') ? `tns1:${local}` : seg;
  });
  if (segs.length > 0 && !segs[0].includes(':')) onvif = false;
  const topic = out.join('/');
  return { topic, onvifPath: onvif ? topic.replace(/(^|\/)tns1:/g, '$1').replace(/(^|\/)[^/:]+:/g, '$1') : '' };
}

export function parseNotification(nm: XmlElement): NotificationMessage {
  const topicEl = child(nm, 'Topic');
  const { topic, onvifPath } = normaliseTopic(topicEl?.text ?? '', topicEl?.scope ?? new Map());
  const outer = child(nm, 'Message');
  const msg = child(outer, 'Message') ?? outer;
  return {
    topic,
    onvifPath,
    utcTime: attr(msg, 'UtcTime') ?? null,
    operation: attr(msg, 'PropertyOperation') ?? '',
    source: items(child(msg, 'Source')),
    key: items(child(msg, 'Key')),
    data: items(child(msg, 'Data')),
  };
}

/** A URL's port, the scheme's default when it names none. */
function portOf(u: URL): string {
  return u.port || (u.protocol === 'https:' ? '443' : '80');
}

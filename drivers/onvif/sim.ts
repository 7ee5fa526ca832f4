// Demo simulator for `npm start`: one in-process ONVIF camera on loopback that produces
// motion now and then (start, then end a few seconds later). It speaks just enough of the
// device/media/event services for the driver, checks PasswordDigest, and serves a small
// snapshot with Basic auth. The faithful test peer (faults, vendor variants, hostile modes,
// discovery) is test/peers/onvif-camera.ts. Never used on a real site.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { envelope } from './soap.js';
import { child, findFirst, parseXml, textOf, type XmlElement } from './xml.js';

export interface OnvifSimOptions {
  /** 0 = pick a free port. */
  port: number;
  host?: string;
  username?: string;
  password?: string;
  /** Mean gap between motion bursts. */
  motionEveryMs?: number;
  /** How long one burst lasts. */
  motionForMs?: number;
}

export interface OnvifSim {
  port: number;
  /** Force a motion burst now (tests, demos). */
  motion(): void;
  close(): Promise<void>;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export async function startOnvifSim(opts: OnvifSimOptions): Promise<OnvifSim> {
  const host = opts.host ?? '127.0.0.1';
  const user = opts.username ?? 'admin';
  const pass = opts.password ?? 'sim-camera-secret';
  const subs = new Map<string, { expires: number; queue: string[]; wake: (() => void) | null }>();
  const sockets = new Set<Socket>();
  const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8]), randomBytes(1024), Buffer.from([0xff, 0xd9])]);
  let port = 0;

  const push = (state: boolean): void => {
    const m =
      `<wsnt:NotificationMessage><wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">tns1:VideoSource/MotionAlarm</wsnt:Topic>` +
      `<wsnt:Message><tt:Message UtcTime="${iso(Date.now())}" PropertyOperation="Changed"><tt:Source><tt:SimpleItem Name="Source" Value="VideoSource_1"/></tt:Source>` +
      `<tt:Data><tt:SimpleItem Name="State" Value="${state}"/></tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>`;
    for (const s of subs.values()) {
      s.queue.push(m);
      s.wake?.();
    }
  };
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, f: () => void): void => {
    const t = setTimeout(() => (timers.delete(t), f()), ms);
    t.unref();
    timers.add(t);
  };
  const burst = (): void => {
    push(true);
    later(opts.motionForMs ?? 4000, () => push(false));
  };
  const schedule = (): void => later((opts.motionEveryMs ?? 30_000) * (0.5 + Math.random()), () => (burst(), schedule()));
  schedule();

  const authOk = (h: XmlElement | undefined): boolean => {
    const t = findFirst(h, 'UsernameToken');
    const nonce = Buffer.from(textOf(child(t, 'Nonce')), 'base64');
    const d = createHash('sha1').update(Buffer.concat([nonce, Buffer.from(textOf(child(t, 'Created'))), Buffer.from(pass)])).digest('base64');
    return textOf(child(t, 'Username')) === user && textOf(child(t, 'Password')) === d;
  };
  const reply = (res: ServerResponse, status: number, body: string): void => {
    res.writeHead(status, { 'content-type': 'application/soap+xml; charset=utf-8' });
    res.end(envelope(body));
  };
  const fault = (res: ServerResponse, sub: string, reason: string): void =>
    reply(res, 400, `<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>${sub}</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en">${reason}</s:Text></s:Reason></s:Fault>`);

  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.startsWith('/snapshot.jpg')) {
      if (req.headers.authorization !== `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="sim"' });
        return void res.end();
      }
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      return void res.end(jpeg);
    }
    const bufs: Buffer[] = [];
    req.on('data', (c: Buffer) => bufs.push(c));
    req.on('end', () => {
      let doc: XmlElement;
      try {
        doc = parseXml(Buffer.concat(bufs));
      } catch {
        return fault(res, 'ter:WellFormed', 'bad XML');
      }
      const op = child(doc, 'Body')?.children[0];
      const name = op?.name ?? '';
      if (name !== 'GetSystemDateAndTime' && name !== 'GetCapabilities' && !authOk(child(doc, 'Header'))) return fault(res, 'ter:NotAuthorized', 'Sender not Authorized');
      const base = `http://${host}:${port}`;
      const d = new Date();
      const sid = /\/onvif\/subscription\/([\w-]+)/.exec(req.url ?? '')?.[1];
      const sub = sid ? subs.get(sid) : undefined;
      if (sid && (!sub || sub.expires < Date.now())) return fault(res, 'wsrf-rw:ResourceUnknownFault', 'unknown subscription');
      switch (name) {
        case 'GetSystemDateAndTime':
          return reply(res, 200, `<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:UTCDateTime><tt:Time><tt:Hour>${d.getUTCHours()}</tt:Hour><tt:Minute>${d.getUTCMinutes()}</tt:Minute><tt:Second>${d.getUTCSeconds()}</tt:Second></tt:Time><tt:Date><tt:Year>${d.getUTCFullYear()}</tt:Year><tt:Month>${d.getUTCMonth() + 1}</tt:Month><tt:Day>${d.getUTCDate()}</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>`);
        case 'GetDeviceInformation':
          return reply(res, 200, '<tds:GetDeviceInformationResponse><tds:Manufacturer>Gatewarden</tds:Manufacturer><tds:Model>DemoCam</tds:Model><tds:FirmwareVersion>1.0</tds:FirmwareVersion><tds:SerialNumber>DEMO-1</tds:SerialNumber><tds:HardwareId>sim</tds:HardwareId></tds:GetDeviceInformationResponse>');
        case 'GetCapabilities':
          return reply(res, 200, `<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Events><tt:XAddr>${base}/onvif/event_service</tt:XAddr><tt:WSPullPointSupport>true</tt:WSPullPointSupport></tt:Events><tt:Media><tt:XAddr>${base}/onvif/media_service</tt:XAddr></tt:Media></tds:Capabilities></tds:GetCapabilitiesResponse>`);
        case 'GetProfiles':
          return reply(res, 200, '<trt:GetProfilesResponse><trt:Profiles token="Profile_1" fixed="true"><tt:Name>main</tt:Name></trt:Profiles></trt:GetProfilesResponse>');
        case 'GetStreamUri':
          return reply(res, 200, `<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>rtsp://${host}:554/main</tt:Uri></trt:MediaUri></trt:GetStreamUriResponse>`);
        case 'GetSnapshotUri':
          return reply(res, 200, `<trt:GetSnapshotUriResponse><trt:MediaUri><tt:Uri>${base}/snapshot.jpg</tt:Uri></trt:MediaUri></trt:GetSnapshotUriResponse>`);
        case 'CreatePullPointSubscription': {
          const id = randomUUID();
          subs.set(id, { expires: Date.now() + 120_000, queue: [], wake: null });
          return reply(res, 200, `<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference><wsa:Address>${base}/onvif/subscription/${id}</wsa:Address></tev:SubscriptionReference><wsnt:CurrentTime>${iso(Date.now())}</wsnt:CurrentTime><wsnt:TerminationTime>${iso(Date.now() + 120_000)}</wsnt:TerminationTime></tev:CreatePullPointSubscriptionResponse>`);
        }
        case 'Renew':
          sub!.expires = Date.now() + 120_000;
          return reply(res, 200, `<wsnt:RenewResponse><wsnt:TerminationTime>${iso(sub!.expires)}</wsnt:TerminationTime></wsnt:RenewResponse>`);
        case 'Unsubscribe':
          subs.delete(sid!);
          return reply(res, 200, '<wsnt:UnsubscribeResponse/>');
        case 'PullMessages': {
          const s = sub!;
          const answer = (): void => {
            s.wake = null;
            clearTimeout(t);
            if (!res.destroyed) reply(res, 200, `<tev:PullMessagesResponse><tev:CurrentTime>${iso(Date.now())}</tev:CurrentTime><tev:TerminationTime>${iso(s.expires)}</tev:TerminationTime>${s.queue.splice(0).join('')}</tev:PullMessagesResponse>`);
          };
          const secs = Math.min(60, Number(/PT(\d+)S/.exec(textOf(findFirst(op, 'Timeout')))?.[1] ?? 10));
          const t = setTimeout(answer, s.queue.length ? 0 : secs * 1000);
          s.wake = answer;
          return;
        }
        default:
          return fault(res, 'ter:NoSuchOperation', `unsupported ${name}`);
      }
    });
  });
  server.on('connection', (s: Socket) => (sockets.add(s), s.once('close', () => sockets.delete(s))));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => resolve());
  });
  port = (server.address() as { port: number }).port;
  return {
    port,
    motion: burst,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Driver config matching the simulator, for the demo site (`drivers.onvif[0]`). */
export function onvifSimConfig(port: number, opts: { id?: string; camera?: string; password?: string; snapshotDir?: string } = {}): Record<string, unknown> {
  return {
    id: opts.id ?? 'demo-cameras',
    cameras: [{ id: opts.camera ?? 'cam-lobby', host: '127.0.0.1', port, username: 'admin', password: opts.password ?? 'sim-camera-secret', snapshotOnAlarm: opts.snapshotDir !== undefined }],
    ...(opts.snapshotDir ? { snapshot: { dir: opts.snapshotDir } } : {}),
  };
}

// XML the ONVIF test camera answers with, shaped as real cameras send it: SOAP 1.2
// envelopes with the usual namespace zoo, vendor prefix spellings, SOAP 1.2 faults, and
// NotificationMessages as in ONVIF Event §9.1.2 / Core Annex (event examples).

export type Vendor = 'generic' | 'hikvision' | 'axis';

export interface VendorStyle {
  /** Envelope prefix (env, SOAP-ENV, s …). */
  env: string;
  /** Prefix bound to the ONVIF topic namespace. */
  topicPrefix: string;
  manufacturer: string;
  model: string;
  /** HTTP status of an authentication fault (ONVIF says 400; many cameras send 401). */
  authStatus: number;
}

export const VENDORS: Record<Vendor, VendorStyle> = {
  generic: { env: 's', topicPrefix: 'tns1', manufacturer: 'Gatewarden', model: 'TestCam-1', authStatus: 400 },
  hikvision: { env: 'env', topicPrefix: 'tns1', manufacturer: 'HIKVISION', model: 'DS-2CD2143G2-I', authStatus: 401 },
  axis: { env: 'SOAP-ENV', topicPrefix: 'tnsonvif', manufacturer: 'AXIS', model: 'P3245-LV', authStatus: 400 },
};

const NS_DECL =
  'xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" ' +
  'xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:tev="http://www.onvif.org/ver10/events/wsdl" ' +
  'xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:wsa="http://www.w3.org/2005/08/addressing" ' +
  'xmlns:ter="http://www.onvif.org/ver10/error" xmlns:wsrf-rw="http://docs.oasis-open.org/wsrf/rw-2"';

export function env(v: VendorStyle, body: string, header = ''): string {
  const e = v.env;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<${e}:Envelope xmlns:${e}="http://www.w3.org/2003/05/soap-envelope" ${NS_DECL} ` +
    `xmlns:${v.topicPrefix}="http://www.onvif.org/ver10/topics">` +
    `${header ? `<${e}:Header>${header}</${e}:Header>` : ''}<${e}:Body>${body}</${e}:Body></${e}:Envelope>`
  );
}

/** SOAP 1.2 Part 1 §5.4 fault with nested subcodes. */
export function fault(v: VendorStyle, code: 'Sender' | 'Receiver', subcodes: string[], reason: string): string {
  const e = v.env;
  let sub = '';
  for (const s of [...subcodes].reverse()) sub = `<${e}:Subcode><${e}:Value>${s}</${e}:Value>${sub}</${e}:Subcode>`;
  return env(v, `<${e}:Fault><${e}:Code><${e}:Value>${e}:${code}</${e}:Value>${sub}</${e}:Code><${e}:Reason><${e}:Text xml:lang="en">${reason}</${e}:Text></${e}:Reason></${e}:Fault>`);
}

export function dateTime(ms: number): string {
  const d = new Date(ms);
  return (
    `<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>` +
    `<tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone><tt:UTCDateTime><tt:Time><tt:Hour>${d.getUTCHours()}</tt:Hour><tt:Minute>${d.getUTCMinutes()}</tt:Minute>` +
    `<tt:Second>${d.getUTCSeconds()}</tt:Second></tt:Time><tt:Date><tt:Year>${d.getUTCFullYear()}</tt:Year><tt:Month>${d.getUTCMonth() + 1}</tt:Month>` +
    `<tt:Day>${d.getUTCDate()}</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>`
  );
}

export function deviceInfo(v: VendorStyle): string {
  return (
    `<tds:GetDeviceInformationResponse><tds:Manufacturer>${v.manufacturer}</tds:Manufacturer><tds:Model>${v.model}</tds:Model>` +
    `<tds:FirmwareVersion>V5.7.3 build 220112</tds:FirmwareVersion><tds:SerialNumber>SN0001234</tds:SerialNumber><tds:HardwareId>88</tds:HardwareId></tds:GetDeviceInformationResponse>`
  );
}

/** XAddrs deliberately name another host (as NATed cameras do); the client must rebase them. */
export function capabilities(port: number): string {
  const base = `http://192.0.2.10:${port}`;
  return (
    `<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Device><tt:XAddr>${base}/onvif/device_service</tt:XAddr></tt:Device>` +
    `<tt:Events><tt:XAddr>${base}/onvif/event_service</tt:XAddr><tt:WSSubscriptionPolicySupport>true</tt:WSSubscriptionPolicySupport>` +
    `<tt:WSPullPointSupport>true</tt:WSPullPointSupport><tt:WSPausableSubscriptionManagerInterfaceSupport>false</tt:WSPausableSubscriptionManagerInterfaceSupport></tt:Events>` +
    `<tt:Media><tt:XAddr>${base}/onvif/media_service</tt:XAddr><tt:StreamingCapabilities><tt:RTPMulticast>true</tt:RTPMulticast>` +
    `<tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media></tds:Capabilities></tds:GetCapabilitiesResponse>`
  );
}

export function profiles(): string {
  const p = (token: string, name: string, w: number, h: number, enc: string): string =>
    `<trt:Profiles token="${token}" fixed="true"><tt:Name>${name}</tt:Name><tt:VideoSourceConfiguration token="VideoSourceToken"><tt:Name>VideoSourceConfig</tt:Name>` +
    `<tt:SourceToken>VideoSource_1</tt:SourceToken><tt:Bounds x="0" y="0" width="${w}" height="${h}"/></tt:VideoSourceConfiguration>` +
    `<tt:VideoEncoderConfiguration token="enc_${token}"><tt:Name>enc</tt:Name><tt:Encoding>${enc}</tt:Encoding>` +
    `<tt:Resolution><tt:Width>${w}</tt:Width><tt:Height>${h}</tt:Height></tt:Resolution><tt:Quality>5</tt:Quality></tt:VideoEncoderConfiguration></trt:Profiles>`;
  return `<trt:GetProfilesResponse>${p('Profile_1', 'mainStream', 2560, 1440, 'H264')}${p('Profile_2', 'subStream', 640, 360, 'H264')}</trt:GetProfilesResponse>`;
}

export function mediaUri(op: 'GetStreamUri' | 'GetSnapshotUri', uri: string): string {
  return `<trt:${op}Response><trt:MediaUri><tt:Uri>${uri}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:${op}Response>`;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function createPullPoint(address: string, now: number, term: number): string {
  return (
    `<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference><wsa:Address>${address}</wsa:Address></tev:SubscriptionReference>` +
    `<wsnt:CurrentTime>${iso(now)}</wsnt:CurrentTime><wsnt:TerminationTime>${iso(term)}</wsnt:TerminationTime></tev:CreatePullPointSubscriptionResponse>`
  );
}

export interface PeerMessage {
  topic: string;
  utc: number;
  operation: 'Initialized' | 'Changed' | 'Deleted';
  source: Record<string, string>;
  data: Record<string, string>;
}

export function notification(v: VendorStyle, m: PeerMessage): string {
  const items = (o: Record<string, string>): string => Object.entries(o).map(([k, x]) => `<tt:SimpleItem Name="${k}" Value="${x}"/>`).join('');
  return (
    `<wsnt:NotificationMessage><wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">${m.topic.replace(/tns1:/g, `${v.topicPrefix}:`)}</wsnt:Topic>` +
    `<wsnt:Message><tt:Message UtcTime="${iso(m.utc)}" PropertyOperation="${m.operation}"><tt:Source>${items(m.source)}</tt:Source>` +
    `<tt:Data>${items(m.data)}</tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>`
  );
}

export function pullResponse(v: VendorStyle, now: number, term: number, msgs: PeerMessage[]): string {
  return `<tev:PullMessagesResponse><tev:CurrentTime>${iso(now)}</tev:CurrentTime><tev:TerminationTime>${iso(term)}</tev:TerminationTime>${msgs.map((m) => notification(v, m)).join('')}</tev:PullMessagesResponse>`;
}

export function probeMatch(relatesTo: string, xaddr: string, uuid: string, name: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" ` +
    `xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><SOAP-ENV:Header>` +
    `<wsa:MessageID>urn:uuid:${crypto.randomUUID()}</wsa:MessageID><wsa:RelatesTo>${relatesTo}</wsa:RelatesTo>` +
    `<wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To><wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsa:Action>` +
    `</SOAP-ENV:Header><SOAP-ENV:Body><wsd:ProbeMatches><wsd:ProbeMatch><wsa:EndpointReference><wsa:Address>urn:uuid:${uuid}</wsa:Address></wsa:EndpointReference>` +
    `<wsd:Types>dn:NetworkVideoTransmitter</wsd:Types><wsd:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/name/${encodeURIComponent(name)} ` +
    `onvif://www.onvif.org/hardware/TestCam-1 onvif://www.onvif.org/Profile/Streaming</wsd:Scopes><wsd:XAddrs>${xaddr}</wsd:XAddrs>` +
    `<wsd:MetadataVersion>1</wsd:MetadataVersion></wsd:ProbeMatch></wsd:ProbeMatches></SOAP-ENV:Body></SOAP-ENV:Envelope>`
  );
}

/** Hostile answers: XXE, billion laughs, a depth bomb (the "huge" mode is streamed by the peer). */
export function hostile(mode: 'xxe' | 'bomb' | 'deep'): string {
  const e = VENDORS.generic;
  if (mode === 'xxe') {
    return `<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` + env(e, `<tds:GetSystemDateAndTimeResponse>&xxe;</tds:GetSystemDateAndTimeResponse>`).replace(/^<\?xml[^>]*\?>\n/, '');
  }
  if (mode === 'bomb') {
    let ents = '<!ENTITY lol "lol">';
    for (let i = 1; i <= 9; i++) ents += `<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`;
    return `<?xml version="1.0"?><!DOCTYPE lolz [${ents}]>` + env(e, `<tds:GetSystemDateAndTimeResponse>&lol9;</tds:GetSystemDateAndTimeResponse>`).replace(/^<\?xml[^>]*\?>\n/, '');
  }
  return env(e, `${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}`);
}

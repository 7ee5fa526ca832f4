// SOAP 1.2 over HTTP(S) for ONVIF (ONVIF Core §5.1–5.6): envelopes, WS-Security
// UsernameToken (PasswordDigest), bounded HTTP exchange, and SOAP faults as typed errors.
import { createHash, randomBytes } from 'node:crypto';
import { request, type ClientRequest } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { connectTls, TlsTrustError, type TlsPolicy } from './tls.js';
import { child, findFirst, parseXml, path, textOf, XmlSecurityError, type XmlElement } from './xml.js';

export const NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
  wsa: 'http://www.w3.org/2005/08/addressing',
  tds: 'http://www.onvif.org/ver10/device/wsdl',
  trt: 'http://www.onvif.org/ver10/media/wsdl',
  tev: 'http://www.onvif.org/ver10/events/wsdl',
  wsnt: 'http://docs.oasis-open.org/wsn/b-2',
  tt: 'http://www.onvif.org/ver10/schema',
  tns1: 'http://www.onvif.org/ver10/topics',
  ter: 'http://www.onvif.org/ver10/error',
} as const;

const PASSWORD_DIGEST = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';
const BASE64_ENC = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';

export interface Credentials {
  username: string;
  password: string;
}

/**
 * WS-Security UsernameToken Profile 1.0 §3.1: Digest = Base64(SHA-1(nonce + created + password)).
 * `created` must be the *camera's* time: cameras reject tokens outside their window
 * (ONVIF Core §5.12.2), so callers pass local time corrected by the measured offset.
 * The password is UTF-8 (the `onvif` package encodes it as ASCII, which breaks non-ASCII).
 */
export function passwordDigest(nonce: Buffer, created: string, password: string): string {
  return createHash('sha1').update(Buffer.concat([nonce, Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')])).digest('base64');
}

export function securityHeader(cred: Credentials, created: Date, nonce: Buffer = randomBytes(16)): string {
  const c = created.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return (
    `<wsse:Security s:mustUnderstand="1" xmlns:wsse="${NS.wsse}" xmlns:wsu="${NS.wsu}"><wsse:UsernameToken>` +
    `<wsse:Username>${escapeText(cred.username)}</wsse:Username>` +
    `<wsse:Password Type="${PASSWORD_DIGEST}">${passwordDigest(nonce, c, cred.password)}</wsse:Password>` +
    `<wsse:Nonce EncodingType="${BASE64_ENC}">${nonce.toString('base64')}</wsse:Nonce>` +
    `<wsu:Created>${c}</wsu:Created></wsse:UsernameToken></wsse:Security>`
  );
}

function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function envelope(body: string, header = ''): string {
  const decl = Object.entries(NS)
    .filter(([k]) => !['soap', 'wsse', 'wsu'].includes(k))
    .map(([k, v]) => ` xmlns:${k}="${v}"`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${NS.soap}"${decl}><s:Header>${header}</s:Header><s:Body>${body}</s:Body></s:Envelope>`;
}

/** A SOAP 1.2 Fault (SOAP 1.2 Part 1 §5.4) returned by the camera. */
export class SoapFault extends Error {
  override readonly name = 'SoapFault';
  constructor(
    readonly code: string,
    readonly subcodes: string[],
    readonly reason: string,
    readonly httpStatus: number,
  ) {
    super(`SOAP fault ${[code, ...subcodes].join('/')}: ${reason || '(no reason)'} (HTTP ${httpStatus})`);
  }
  /** ONVIF Core §5.11.2.1 ter:NotAuthorized, WS-Security wsse:FailedAuthentication, or a bare 401. */
  get isAuth(): boolean {
    const all = [this.code, ...this.subcodes].join(' ');
    return this.httpStatus === 401 || /NotAuthorized|FailedAuthentication|InvalidSecurity|MessageExpired|FailedCheck/i.test(all);
  }
}

/** Transport-level failure (refused, timeout, bad HTTP, unparseable body). */
export class SoapTransportError extends Error {
  override readonly name = 'SoapTransportError';
}

export interface SoapCall {
  url: string;
  /** SOAP action URI (goes into the Content-Type `action` parameter, SOAP 1.2 HTTP binding). */
  action: string;
  body: string;
  header?: string;
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal;
  /** Required for https URLs (tls.ts). */
  tls?: TlsPolicy;
}

export interface SoapResult {
  body: XmlElement;
  header: XmlElement | undefined;
  httpStatus: number;
  /** HTTP Date header (ms), for a second opinion on the camera clock. */
  httpDate: number | null;
}

export type HttpAnswer = { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer };

/**
 * Fetch a URL's body with a byte cap: the connection is cut as soon as the cap is passed.
 * `https:` URLs need `tls` (the camera's policy, see tls.ts): the certificate is judged
 * before the request is written; without a policy an https URL is refused, never sent
 * unverified.
 */
export function httpExchange(opts: {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal;
  tls?: TlsPolicy;
}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let req: ClientRequest | null = null;
    let sock: TLSSocket | null = null;
    // Ends a TLS handshake still in progress when the deadline passes or the caller aborts.
    const handshake = new AbortController();
    const abortHandshake = (): void => handshake.abort();
    const done = (err: Error | null, v?: HttpAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', abortHandshake);
      handshake.abort();
      if (err) {
        req?.destroy();
        sock?.destroy();
        reject(err);
      } else {
        sock?.end();
        resolve(v!);
      }
    };
    const u = new URL(opts.url);
    const https = u.protocol === 'https:';
    if (u.protocol !== 'http:' && !https) {
      reject(new SoapTransportError(`unsupported URL scheme ${u.protocol} (${opts.url})`));
      return;
    }
    if (https && !opts.tls) {
      reject(new SoapTransportError(`${opts.url}: https URL but the camera is not configured for TLS (set scheme: https and its tls settings)`));
      return;
    }
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = Number(u.port || (https ? 443 : 80));
    const send = (): void => {
      req = request(
        {
          host,
          port,
          path: `${u.pathname}${u.search}`,
          method: opts.method,
          headers: { ...opts.headers, ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}) },
          signal: opts.signal,
          // The TLS socket is already open and its certificate accepted (tls.ts).
          ...(sock ? { createConnection: () => sock as TLSSocket } : {}),
        },
        (res) => {
          const declared = Number(res.headers['content-length'] ?? -1);
          if (declared > opts.maxBytes) {
            res.destroy();
            done(new XmlSecurityError(`response of ${declared} bytes exceeds the ${opts.maxBytes}-byte cap`));
            return;
          }
          const bufs: Buffer[] = [];
          let len = 0;
          res.on('data', (c: Buffer) => {
            len += c.length;
            if (len > opts.maxBytes) {
              res.destroy();
              req?.destroy();
              done(new XmlSecurityError(`response exceeds the ${opts.maxBytes}-byte cap`));
              return;
            }
            bufs.push(c);
          });
          res.on('end', () => done(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(bufs, len) }));
          res.on('error', (e) => done(new SoapTransportError(`${opts.url}: ${e.message}`)));
        },
      );
      req.on('error', (e) => done(opts.signal?.aborted ? e : new SoapTransportError(`${opts.url}: ${e.message}`)));
      if (opts.body !== undefined) req.end(opts.body);
      else req.end();
    };
    // One deadline for the whole exchange (TLS handshake + request + answer), not per idle period.
    const timer = setTimeout(() => done(new SoapTransportError(`${opts.url}: no complete answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    if (!https) return send();
    if (opts.signal?.aborted) handshake.abort();
    opts.signal?.addEventListener('abort', abortHandshake, { once: true });
    connectTls({ host, port, policy: opts.tls!, signal: handshake.signal }).then(
      (s) => {
        if (settled) return void s.destroy();
        sock = s;
        send();
      },
      (e: Error) => done(e instanceof TlsTrustError || e.name === 'AbortError' ? e : new SoapTransportError(e.message)),
    );
  });
}

/** One SOAP request/answer. Throws SoapFault, SoapTransportError or XmlSecurityError. */
export async function soapCall(call: SoapCall): Promise<SoapResult> {
  const res = await httpExchange({
    url: call.url,
    method: 'POST',
    headers: { 'content-type': `application/soap+xml; charset=utf-8; action="${call.action}"` },
    body: envelope(call.body, call.header),
    timeoutMs: call.timeoutMs,
    maxBytes: call.maxBytes,
    signal: call.signal,
    tls: call.tls,
  });
  const dateHdr = res.headers.date;
  const httpDate = typeof dateHdr === 'string' && !Number.isNaN(Date.parse(dateHdr)) ? Date.parse(dateHdr) : null;
  if (res.body.length === 0 || !/^\s*(<\?xml[^>]*\?>\s*)?</.test(res.body.subarray(0, 256).toString('utf8').replace(/^\uFEFF/, ''))) {
    if (res.status === 401) throw new SoapFault('Sender', ['HTTP401'], 'HTTP 401 Unauthorized', 401);
    throw new SoapTransportError(`${call.url}: HTTP ${res.status} without a SOAP body`);
  }
  let doc: XmlElement;
  try {
    doc = parseXml(res.body, { maxBytes: call.maxBytes });
  } catch (e) {
    if (e instanceof XmlSecurityError) throw e;
    throw new SoapTransportError(`${call.url}: unparseable answer (${(e as Error).message})`);
  }
  if (doc.name !== 'Envelope') throw new SoapTransportError(`${call.url}: answer is not a SOAP envelope (<${doc.name}>)`);
  const body = child(doc, 'Body');
  if (!body) throw new SoapTransportError(`${call.url}: SOAP envelope without Body`);
  const fault = child(body, 'Fault');
  if (fault) throw faultFrom(fault, res.status);
  if (res.status === 401) throw new SoapFault('Sender', ['HTTP401'], 'HTTP 401 Unauthorized', 401);
  if (res.status >= 400) throw new SoapTransportError(`${call.url}: HTTP ${res.status}`);
  return { body, header: child(doc, 'Header'), httpStatus: res.status, httpDate };
}

/** SOAP 1.2 Fault (Code/Value, nested Subcode/Value, Reason/Text); SOAP 1.1 faultcode/faultstring tolerated. */
export function faultFrom(fault: XmlElement, status: number): SoapFault {
  const code = textOf(path(fault, 'Code', 'Value')) || textOf(child(fault, 'faultcode'));
  const subs: string[] = [];
  let sc = path(fault, 'Code', 'Subcode');
  while (sc && subs.length < 8) {
    subs.push(textOf(child(sc, 'Value')));
    sc = child(sc, 'Subcode');
  }
  const reason = textOf(path(fault, 'Reason', 'Text')) || textOf(child(fault, 'faultstring')) || textOf(findFirst(fault, 'Text'));
  return new SoapFault(code, subs, reason.slice(0, 500), status);
}

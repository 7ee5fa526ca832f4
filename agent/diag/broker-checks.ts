// Broker checks of `gatewarden diag`, in the order a connection is built:
// DNS → TCP → TLS handshake (trust, host name, expiry) → MQTT auth (CONNACK) → a QoS 1
// publish/PUBACK round trip. A failed step makes the later ones 'skip' so the table
// points at the first broken layer only. Uses its own client id so it never takes over
// the daemon's session (same client id would kick the daemon off the broker).
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { connect as netConnect, isIP } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { X509Certificate, randomBytes } from 'node:crypto';
import { connect as mqttConnect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Config } from '../../config/schema.js';
import { applyCredentials, describeConnectError } from '../forward/mqtt-options.js';
import { pass, problem, type DiagCheck } from './types.js';

const DAY = 86_400_000;

interface Target {
  protocol: string;
  host: string;
  port: number;
  tls: boolean;
}

function target(url: string): Target {
  const u = new URL(url);
  const tls = u.protocol === 'mqtts:' || u.protocol === 'wss:';
  const def = u.protocol === 'mqtts:' ? 8883 : u.protocol === 'wss:' ? 443 : u.protocol === 'ws:' ? 80 : 1883;
  return { protocol: u.protocol, host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : def, tls };
}

/** Does host:port complete a TLS handshake (any certificate)? */
function speaksTls(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host, port, rejectUnauthorized: false, ...(isIP(host) ? {} : { servername: host }) });
    const done = (v: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('secureConnect', () => done(true));
    s.once('error', () => done(false));
    s.once('close', () => done(false));
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<{ ok: true; ms: number } | { ok: false; code: string }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = netConnect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve({ ok: false, code: 'ETIMEDOUT' });
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve({ ok: true, ms: Math.round(performance.now() - t0) });
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      resolve({ ok: false, code: e.code ?? e.message });
    });
  });
}

interface TlsProbe {
  cert: PeerCertificate | null;
  authorizationError: string | null;
  identityError: string | null;
  error: string | null;
}

function tlsProbe(t: Target, c: Config['mqtt'], timeoutMs: number): Promise<TlsProbe> {
  const tls = c.tls ?? { rejectUnauthorized: true };
  const servername = tls.servername ?? (isIP(t.host) ? undefined : t.host);
  return new Promise((resolve) => {
    // rejectUnauthorized:false only inside diag, to read the certificate and report *why*
    // it is not trusted; nothing is sent over this connection.
    const s = tlsConnect({
      host: t.host,
      port: t.port,
      servername,
      rejectUnauthorized: false,
      ca: tls.ca ? readFileSync(tls.ca) : undefined,
      cert: tls.cert ? readFileSync(tls.cert) : undefined,
      key: tls.key ? readFileSync(tls.key) : undefined,
    });
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ cert: null, authorizationError: null, identityError: null, error: 'TLS handshake timed out' });
    }, timeoutMs);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      const cert = s.getPeerCertificate();
      const idErr = cert && Object.keys(cert).length ? checkServerIdentity(tls.servername ?? t.host, cert) : undefined;
      resolve({ cert, authorizationError: s.authorizationError ? String((s.authorizationError as Error & { code?: string }).code ?? s.authorizationError) : null, identityError: idErr ? idErr.message : null, error: null });
      s.destroy();
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ cert: null, authorizationError: null, identityError: null, error: `${e.code ?? ''} ${e.message}`.trim() });
    });
  });
}

function expiryCheck(what: string, validTo: string, hint: string, now: number): DiagCheck {
  const end = new Date(validTo).getTime();
  const days = (end - now) / DAY;
  if (days < 0) return problem('broker', 'fail', `${what} expiry`, `expired on ${new Date(end).toISOString()}`, hint);
  if (days < 30) return problem('broker', 'warn', `${what} expiry`, `expires in ${days.toFixed(0)} days (${new Date(end).toISOString()})`, hint);
  return pass('broker', `${what} expiry`, `valid until ${new Date(end).toISOString()} (${days.toFixed(0)} days)`);
}

function mqttSession(url: string, opts: IClientOptions, timeoutMs: number): Promise<{ client: MqttClient } | { error: Error & { code?: unknown } }> {
  return new Promise((resolve) => {
    const client = mqttConnect(url, opts);
    const timer = setTimeout(() => {
      client.end(true);
      resolve({ error: new Error(`no CONNACK within ${timeoutMs} ms`) });
    }, timeoutMs);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve({ client });
    });
    client.once('error', (e) => {
      clearTimeout(timer);
      client.end(true);
      resolve({ error: e });
    });
    client.once('close', () => {
      clearTimeout(timer);
      resolve({ error: new Error('connection closed before CONNACK') });
    });
  });
}

export interface BrokerCheckOptions {
  config: Config;
  /** The broker password (from mqtt.passwordFile or mqtt.password). */
  password?: string;
  timeoutMs?: number;
  now?: number;
}

export async function checkBroker(o: BrokerCheckOptions): Promise<DiagCheck[]> {
  const c = o.config.mqtt;
  const timeoutMs = Math.min(o.timeoutMs ?? c.connectTimeoutMs, 15_000);
  const now = o.now ?? Date.now();
  const out: DiagCheck[] = [];
  const t = target(c.url);
  const name = `${t.host}:${t.port}`;
  const skipRest = (from: string[]): DiagCheck[] => from.map((check) => problem('broker', 'skip', check, 'not tried', 'fix the failed broker check above first'));
  const later = ['TCP connect', ...(t.tls ? ['TLS handshake'] : []), 'MQTT auth', 'publish round trip'];

  if (isIP(t.host)) out.push(pass('broker', 'DNS', `${t.host} is an address`));
  else {
    try {
      const a = await lookup(t.host);
      out.push(pass('broker', 'DNS', `${t.host} → ${a.address}`));
    } catch (e) {
      out.push(problem('broker', 'fail', 'DNS', `${t.host}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'check the host name in mqtt.url and the resolver (/etc/resolv.conf, resolvectl status)'));
      return [...out, ...skipRest(later)];
    }
  }

  const tcp = await tcpProbe(t.host, t.port, timeoutMs);
  if (!tcp.ok) {
    const hint = tcp.code === 'ECONNREFUSED'
      ? `nothing listens on ${name}: start the broker, or fix the port in mqtt.url`
      : tcp.code === 'ETIMEDOUT' ? `no answer from ${name}: check routing and firewalls for TCP ${t.port}` : `check the network path to ${name}`;
    out.push(problem('broker', 'fail', 'TCP connect', `${name}: ${tcp.code}`, hint));
    return [...out, ...skipRest(later.slice(1))];
  }
  out.push(pass('broker', 'TCP connect', `${name} in ${tcp.ms} ms`));

  if (t.tls) {
    const p = await tlsProbe(t, c, timeoutMs);
    if (p.error || !p.cert) {
      const clientCertHint = /CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE/.test(p.error ?? '') ? 'the broker wants a client certificate: set mqtt.tls.cert and mqtt.tls.key' : 'check that the broker speaks TLS on this port (mqtts://) and the TLS settings in mqtt.tls';
      out.push(problem('broker', 'fail', 'TLS handshake', p.error ?? 'no certificate', clientCertHint));
      return [...out, ...skipRest(later.slice(2))];
    }
    const subject = p.cert.subject?.CN ?? '?';
    const trustErr = p.authorizationError && p.authorizationError !== 'CERT_HAS_EXPIRED' && p.authorizationError !== 'CERT_NOT_YET_VALID' ? p.authorizationError : null;
    let ok = true;
    if (trustErr) {
      ok = false;
      out.push(problem('broker', 'fail', 'TLS handshake', `certificate CN=${subject} issued by ${p.cert.issuer?.CN ?? '?'} is not trusted (${trustErr})`, c.tls?.ca ? `mqtt.tls.ca (${c.tls.ca}) must hold the CA that signed the broker certificate` : 'set mqtt.tls.ca to the CA file that signed the broker certificate'));
    } else if (p.identityError) {
      ok = false;
      out.push(problem('broker', 'fail', 'TLS handshake', p.identityError, 'use the host name on the certificate in mqtt.url, or set mqtt.tls.servername'));
    } else out.push(pass('broker', 'TLS handshake', `CN=${subject}, issuer ${p.cert.issuer?.CN ?? '?'}, trusted`));
    const exp = expiryCheck('broker certificate', p.cert.valid_to, 'renew the broker certificate; if it looks valid, check this gateway\'s clock', now);
    if (p.authorizationError === 'CERT_NOT_YET_VALID') {
      out.push(problem('broker', 'fail', 'broker certificate expiry', `not valid before ${p.cert.valid_from}`, 'check this gateway\'s clock (timedatectl), or the certificate dates'));
      ok = false;
    } else {
      out.push(exp);
      if (exp.verdict === 'fail') ok = false;
    }
    if (c.tls?.cert) {
      try {
        const x = new X509Certificate(readFileSync(c.tls.cert));
        out.push(expiryCheck('client certificate', x.validTo, `renew ${c.tls.cert} and restart the daemon`, now));
      } catch (e) {
        out.push(problem('broker', 'fail', 'client certificate expiry', `${c.tls.cert}: ${(e as Error).message}`, 'point mqtt.tls.cert at a readable PEM certificate'));
      }
    }
    if (!ok && c.tls?.rejectUnauthorized !== false) return [...out, ...skipRest(later.slice(2))];
  }

  const opts: IClientOptions = {
    protocolVersion: c.protocolVersion,
    clientId: `${o.config.gateway}-diag-${randomBytes(3).toString('hex')}`,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
    keepalive: 30,
  };
  applyCredentials(opts, { ...c, password: undefined }, o.password);
  const sess = await mqttSession(c.url, opts, timeoutMs);
  if ('error' in sess) {
    const d = describeConnectError(sess.error, c.protocolVersion);
    // A plain-text client on a TLS listener: the broker drops the connection without a
    // CONNACK. Asking the port for a TLS handshake tells that apart from an MQTT problem.
    if (!t.tls && d.kind !== 'auth' && (await speaksTls(t.host, t.port, Math.min(timeoutMs, 5000)))) {
      const secure = c.url.replace(/^mqtt:/, 'mqtts:').replace(/^ws:/, 'wss:');
      out.push(problem('broker', 'fail', 'MQTT auth', `${name}: the broker closed the connection without a CONNACK (${d.reason}), and the port answers a TLS handshake: it is a TLS port`, `use ${secure.replace(/\/\/[^@/]*@/, '//')} (mqtts://) with mqtt.tls.ca naming the broker's CA`));
      return [...out, ...skipRest(['publish round trip'])];
    }
    const hint = d.kind === 'auth'
      ? `check mqtt.username${c.passwordFile ? ` and the password in ${c.passwordFile}` : ' and mqtt.password'} against the broker's accounts`
      : d.kind === 'tls' ? 'check mqtt.tls (ca, cert, key) against the broker' : `check the broker at ${name} accepts MQTT ${c.protocolVersion === 5 ? '5' : '3.1.1'} (mqtt.protocolVersion)`;
    out.push(problem('broker', 'fail', 'MQTT auth', d.reason, hint));
    return [...out, ...skipRest(['publish round trip'])];
  }
  const client = sess.client;
  out.push(pass('broker', 'MQTT auth', `CONNACK accepted${c.username ? ` for user ${c.username}` : ' (anonymous)'}`));
  try {
    // A diag-only topic beside health (docs/contracts.md §Topics prefix); not retained, QoS 1 so the
    // PUBACK proves the broker accepted it.
    const topic = `${c.prefix}/${o.config.site}/${o.config.gateway}/diag`;
    const t0 = performance.now();
    const err = await new Promise<Error | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(new Error(`no PUBACK within ${timeoutMs} ms`)), timeoutMs);
      client.publish(topic, JSON.stringify({ diag: true, ts: new Date().toISOString() }), { qos: 1 }, (e) => {
        clearTimeout(timer);
        resolve(e ?? undefined);
      });
    });
    out.push(err
      ? problem('broker', 'fail', 'publish round trip', `${topic}: ${err.message}`, `allow this gateway to publish under ${c.prefix}/${o.config.site}/${o.config.gateway}/# in the broker ACL`)
      : pass('broker', 'publish round trip', `QoS 1 PUBACK in ${Math.round(performance.now() - t0)} ms`));
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
  return out;
}

// MqttConfig (config/schema.ts) → mqtt.js client options, plus the human-readable
// description of connection failures. Kept apart from the forwarder so the mapping of
// CONNACK codes and TLS errors is testable without a broker.
//
// Fixed choices (see forwarder.ts for the reasons):
// - reconnectPeriod 0: the forwarder drives reconnects with its own full-jitter backoff
//   and builds a fresh client per attempt (new Will, empty mqtt.js store).
// - clean: true, resubscribe: false: no broker-side session; the spool is the only store
//   of unacknowledged events and the forwarder subscribes `cmd/+` itself on each connect.
// - queueQoSZero: false: nothing is queued inside mqtt.js while offline.
import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { MqttConfig } from '../../config/schema.js';

export interface WillMessage {
  topic: string;
  payload: string;
}

/** Username, password and TLS material of mqtt.* onto client options (also used by diag). */
export function applyCredentials(opts: IClientOptions, cfg: MqttConfig, password?: string): void {
  if (cfg.username !== undefined) opts.username = cfg.username;
  const pw = password ?? cfg.password;
  if (pw !== undefined) opts.password = pw;
  if (cfg.tls) {
    if (cfg.tls.ca) opts.ca = readFileSync(cfg.tls.ca);
    if (cfg.tls.cert) opts.cert = readFileSync(cfg.tls.cert);
    if (cfg.tls.key) opts.key = readFileSync(cfg.tls.key);
    opts.rejectUnauthorized = cfg.tls.rejectUnauthorized;
    if (cfg.tls.servername) opts.servername = cfg.tls.servername;
  }
}

const noLog = (): void => {};

export function buildClientOptions(cfg: MqttConfig, o: { clientId: string; password?: string; will: WillMessage }): IClientOptions {
  const opts: IClientOptions = {
    protocolVersion: cfg.protocolVersion,
    clientId: o.clientId,
    keepalive: cfg.keepaliveSeconds,
    connectTimeout: cfg.connectTimeoutMs,
    reconnectPeriod: 0,
    clean: true,
    resubscribe: false,
    queueQoSZero: false,
    reconnectOnConnackError: false,
    will: { topic: o.will.topic, payload: Buffer.from(o.will.payload), qos: 1, retain: true },
    // mqtt.js re-arms its keepalive timer on every packet sent; at tens of thousands of
    // publishes a second that was 3 % of the drain's CPU. A PINGREQ every keepalive
    // period regardless of traffic costs two small packets instead.
    reschedulePings: false,
  };
  // mqtt.js calls its `debug` logger several times per packet even when disabled (2–3 %
  // of the drain); keep it only when someone asked for it with DEBUG=mqttjs*.
  if (!/mqttjs/.test(process.env.DEBUG ?? '')) opts.log = noLog;
  // Files are read per connection attempt so a renewed certificate is picked up on reconnect.
  applyCredentials(opts, cfg, o.password);
  return opts;
}

/** `host:port` of the broker URL, without credentials (logs must never carry a password). */
export function brokerName(url: string): string {
  try {
    const u = new URL(url);
    const port = u.port || (u.protocol === 'mqtts:' ? '8883' : u.protocol === 'wss:' ? '443' : u.protocol === 'ws:' ? '80' : '1883');
    return `${u.protocol}//${u.hostname}:${port}`;
  } catch {
    return '(invalid broker url)';
  }
}

const V5_CONNACK: Record<number, string> = {
  0x80: 'unspecified error',
  0x81: 'malformed packet',
  0x82: 'protocol error',
  0x83: 'implementation specific error',
  0x84: 'unsupported protocol version',
  0x85: 'client identifier not valid',
  0x86: 'bad username or password',
  0x87: 'not authorized',
  0x88: 'server unavailable',
  0x89: 'server busy',
  0x8a: 'banned',
  0x8c: 'bad authentication method',
  0x95: 'packet too large',
  0x97: 'quota exceeded',
  0x9f: 'connection rate exceeded',
};
const V4_CONNACK: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'server unavailable',
  4: 'bad username or password',
  5: 'not authorized',
};

const TLS_TRUST = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
]);

export type ConnectErrorKind = 'auth' | 'tls' | 'network' | 'protocol';

export interface ConnectErrorInfo {
  kind: ConnectErrorKind;
  /** One line naming the reason, e.g. "bad username or password (CONNACK 0x86)". */
  reason: string;
}

/** Classify an error emitted by mqtt.js or its socket while connecting or connected. */
export function describeConnectError(err: Error & { code?: unknown }, protocolVersion: 4 | 5): ConnectErrorInfo {
  const code = err.code;
  if (typeof code === 'number' && /^Connection refused/.test(err.message)) {
    const table = protocolVersion === 5 ? V5_CONNACK : V4_CONNACK;
    const text = table[code] ?? `refused with code ${code}`;
    const hex = protocolVersion === 5 ? `0x${code.toString(16)}` : String(code);
    const kind: ConnectErrorKind = text === 'bad username or password' || text === 'not authorized' || text === 'banned' ? 'auth' : 'protocol';
    return { kind, reason: `${text} (CONNACK ${hex})` };
  }
  if (typeof code === 'string') {
    if (TLS_TRUST.has(code)) {
      return { kind: 'tls', reason: `TLS: broker certificate is not signed by the configured CA (${code}); check mqtt.tls.ca` };
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return { kind: 'tls', reason: `TLS: broker certificate does not match the host name (${err.message}); check the URL or mqtt.tls.servername` };
    }
    if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
      return { kind: 'tls', reason: `TLS: broker certificate is outside its validity period (${code}); check the certificate and the gateway clock` };
    }
    if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE') {
      return { kind: 'tls', reason: `TLS: the broker requires a client certificate (${code}); set mqtt.tls.cert and mqtt.tls.key` };
    }
    if (code === 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' || code === 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE' || code === 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN') {
      return { kind: 'tls', reason: `TLS: the broker rejected the client certificate (${code}); check mqtt.tls.cert against the broker's CA` };
    }
    if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
      return { kind: 'tls', reason: `TLS handshake failed (${code}): ${err.message}` };
    }
    return { kind: 'network', reason: `${code}: ${err.message}` };
  }
  return { kind: 'network', reason: err.message };
}

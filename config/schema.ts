// The one config schema. Defaults are declared here and nowhere else (docs/contracts.md §Practices);
// docs/configuration.md documents every key and must change with this file.
// Driver instance schemas live in each driver's manifest and are checked by the loader
// against `drivers.<kind>[i]`, so errors still name the full path.
import { z } from 'zod';
import { secret } from './secrets.js';
import { netwatchConfigSchema } from '../agent/anomaly/config.js';
import { correlateConfigSchema } from '../agent/correlate/config.js';
import { accessConfigSchema } from '../agent/access/config.js';

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Site, gateway and device ids end up in MQTT topics: no '/', '+', '#' or spaces. */
export const idString = z
  .string()
  .regex(ID_RE, 'expected 1–64 characters of A–Z a–z 0–9 . _ - (no "/", "+", "#" or spaces)');

const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 };
/** A size in bytes: a number, or a string such as "256MiB" / "10 MB". */
export const byteSize = z.union([z.number().int().positive(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*$/i.exec(v);
  if (!m) {
    ctx.addIssue({ code: 'custom', message: 'expected a size such as 1048576, "64MiB" or "500 MB"' });
    return z.NEVER;
  }
  return Math.floor(Number(m[1]) * BYTE_UNITS[(m[2] ?? 'b').toLowerCase()]);
});

/**
 * A retry backoff `{minMs, maxMs}` (full jitter, see agent/backoff.ts), with the caller's
 * defaults. One definition for the broker, drivers' reconnects and offline probing.
 */
export function backoffSchema(minDefault: number, maxDefault: number) {
  return z
    .strictObject({
      minMs: z.number().int().min(10).default(minDefault),
      maxMs: z.number().int().min(10).default(maxDefault),
    })
    .refine((b) => b.maxMs >= b.minMs, { message: 'maxMs must be ≥ minMs', path: ['maxMs'] })
    .prefault({});
}

function parsedUrl(u: string): URL | null {
  try {
    return new URL(u);
  } catch {
    return null;
  }
}

// A URL without a host ("mqtt:/127.0.0.1:1883" parses with an empty host and the
// address as its path) would make mqtt.js fall back to localhost: refused here.
const mqttUrl = z
  .string()
  .refine((u) => ['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(parsedUrl(u)?.protocol ?? ''), 'expected mqtt://, mqtts://, ws:// or wss:// URL')
  .refine((u) => {
    const url = parsedUrl(u);
    return url === null || url.hostname !== '';
  }, 'has no host: write it as mqtt://HOST:PORT (two slashes)');

/** The user:password of an mqtt URL, if it carries any. */
export function urlCredentials(u: string): { username: string; password: string } | null {
  const url = parsedUrl(u);
  return url && (url.username !== '' || url.password !== '') ? { username: url.username, password: url.password } : null;
}

export const tlsSchema = z.strictObject({
  /** PEM file of the CA(s) that may sign the broker certificate (CA pinning). */
  ca: z.string().optional(),
  /** Client certificate and key (PEM files) for mutual TLS. */
  cert: z.string().optional(),
  key: secret(z.string(), 'file').optional(),
  /** Never turn off in production: an unverified broker can read and forge everything. */
  rejectUnauthorized: z.boolean().default(true),
  /** Name to check the server certificate against when it differs from the URL host. */
  servername: z.string().optional(),
});

export const mqttSchema = z.strictObject({
  /** user:password in the URL are secret (config/secrets.ts); the rest is not. */
  url: secret(mqttUrl, 'url-credentials').default('mqtt://127.0.0.1:1883'),
  /** 5 (default) or 4 (= MQTT 3.1.1). */
  protocolVersion: z.union([z.literal(5), z.literal(4)], { error: 'expected 5 (MQTT 5) or 4 (MQTT 3.1.1)' }).default(5),
  prefix: z.string().regex(/^[^+#]+[^/+#]$/, 'expected a topic prefix without + or # and no trailing /').default('gatewarden/v1'),
  clientId: z.string().min(1).max(128).optional(),
  username: z.string().optional(),
  password: secret(z.string()).optional(),
  /** Read the password from this file instead (keeps it out of config.yaml); the path is not secret, the content is. */
  passwordFile: secret(z.string(), 'file').optional(),
  tls: tlsSchema.optional(),
  keepaliveSeconds: z.number().int().min(5).max(3600).default(30),
  connectTimeoutMs: z.number().int().min(1000).max(120000).default(10000),
  /** Upper bound of unacknowledged QoS 1 publishes. mqtt.js has none of its own and wraps packet ids past 65535. */
  inflightWindow: z.number().int().min(1).max(20000).default(1000),
  reconnect: backoffSchema(500, 60_000),
  healthIntervalSeconds: z.number().min(1).max(3600).default(30),
  /** Events older than this when published (or spooled before the connection came up) are marked historical. */
  historicalAfterMs: z.number().int().min(0).default(10000),
  /**
   * End-to-end acknowledgement (docs/architecture.md): rows stay in the spool until the
   * platform acks them on `…/ack`, not just until the broker's PUBACK; unacked ones are re-sent.
   */
  platformAck: z
    .strictObject({
      enabled: z.boolean().default(false),
      resendAfterSeconds: z.number().int().min(1).max(7 * 24 * 3600).default(600),
    })
    .prefault({}),
}).superRefine((m, ctx) => {
  // One source of credentials: the URL's user:password would silently win over these.
  if (!urlCredentials(m.url)) return;
  const others = (['username', 'password', 'passwordFile'] as const).filter((k) => m[k] !== undefined);
  if (others.length > 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['url'],
      message: `carries credentials (user:password@) and ${others.map((k) => `mqtt.${k}`).join(', ')} ${others.length === 1 ? 'is' : 'are'} set too: give them in one place (keep mqtt.username + mqtt.passwordFile, drop them from mqtt.url)`,
    });
  }
});

export const spoolSchema = z.strictObject({
  /** SQLite file; default `<stateDir>/spool.db`. */
  path: z.string().optional(),
  quotaBytes: byteSize.default(256 * 1024 * 1024),
  /** Sent rows are kept this long for `replay`, then pruned. */
  retentionHours: z.number().min(0).max(24 * 365).default(24),
  /** Group commit: a transaction closes after this many events … */
  batchMaxEvents: z.number().int().min(1).max(10000).default(500),
  /** … or this many ms after its first event, whichever comes first. */
  batchMaxDelayMs: z.number().int().min(0).max(1000).default(5),
  /** While the spool cannot write: sealed events allowed to wait in memory; beyond it observations are refused before they get a seq. */
  maxBacklogEvents: z.number().int().min(100).max(1_000_000).default(10_000),
  /** Ballast file beside the spool, released when its filesystem is full so the backlog and its declaration can commit; 0 = none. */
  reserveBytes: z.union([z.literal(0), byteSize]).default(2 * 1024 * 1024),
});

export const chainSchema = z.strictObject({
  /** Sign events in a worker thread (signing is half of the pipeline's CPU); false = inline. */
  signingWorker: z.boolean().default(true),
  checkpoint: z
    .strictObject({
      everyEvents: z.number().int().min(10).default(1000),
      everySeconds: z.number().min(1).default(300),
    })
    .prefault({}),
});

export const logSchema = z.strictObject({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  /** auto: pretty when stdout is a TTY, JSON otherwise (journald). */
  format: z.enum(['auto', 'json', 'pretty']).default('auto'),
});

export const controlSchema = z.strictObject({
  /** Unix socket for `gatewarden status|diag|spool stats`; default `<stateDir>/control.sock`. */
  socket: z.string().optional(),
});

export const commandsSchema = z.strictObject({
  /** Platform Ed25519 public key (PEM, or base64url of the raw 32 bytes) that signs commands. */
  publicKey: z.string().optional(),
  maxClockSkewSeconds: z.number().int().min(0).default(120),
  /**
   * Refuse commands whose signed body does not name this gateway (`site` and `gw`). Off by
   * default so platforms that sign without them keep working; a body that names them must
   * name this gateway either way (docs/contracts.md §Commands).
   */
  requireGatewayBinding: z.boolean().default(false),
});

/** Prometheus text exposition (agent/metrics.ts); off by default, loopback when on. */
export const metricsSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** Keep 127.0.0.1 unless a scraper on the LAN truly needs it: the page names every device. */
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(9464),
});

/** Embedded demo broker (aedes); only for `npm start` / demos, never on a real site. */
export const demoSchema = z.strictObject({
  embeddedBroker: z
    .strictObject({
      enabled: z.boolean().default(false),
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(1).max(65535).default(1883),
    })
    .prefault({}),
});

export const configSchema = z.strictObject({
  site: idString,
  gateway: idString,
  stateDir: z.string().default('/var/lib/gatewarden'),
  log: logSchema.prefault({}),
  chain: chainSchema.prefault({}),
  spool: spoolSchema.prefault({}),
  mqtt: mqttSchema.prefault({}),
  commands: commandsSchema.prefault({}),
  control: controlSchema.prefault({}),
  metrics: metricsSchema.prefault({}),
  /** LAN anomaly checks on the gateway's own interfaces (agent/anomaly; docs/netwatch.md). */
  netwatch: netwatchConfigSchema.prefault({}),
  /** Rules joining physical and network events into incidents (agent/correlate). */
  correlate: correlateConfigSchema.prefault({}),
  /** Local access decisions: doors, readers, zero-trust rules (agent/access; docs/access.md). */
  access: accessConfigSchema.prefault({}),
  demo: demoSchema.prefault({}),
  /** `drivers.<kind>` is a list of instances; each is checked against that driver's own schema. */
  drivers: z.record(z.string(), z.array(z.unknown())).default({}),
});

export type Config = z.output<typeof configSchema>;
export type MqttConfig = z.output<typeof mqttSchema>;
export type SpoolConfig = z.output<typeof spoolSchema>;
export type ChainConfig = z.output<typeof chainSchema>;

// Config of one ONVIF driver instance (`drivers.onvif[i]`): a list of cameras, each a
// device (`src.device` = camera id). Defaults live here and nowhere else (docs/contracts.md §Practices).
import { z } from 'zod';
import { byteSize, idString } from '../../config/schema.js';
import { linkPolicySchema } from '../transport/lifecycle.js';
import { secret } from '../../config/secrets.js';

/** SHA-256 certificate fingerprint: 64 hex digits, colons/spaces optional (as openssl and browsers print it). */
const fingerprint = z
  .string()
  .transform((s) => s.replace(/[\s:]/g, '').toUpperCase())
  .refine((s) => /^[0-9A-F]{64}$/.test(s), 'expected a SHA-256 fingerprint: 64 hex digits, colons optional (openssl x509 -noout -fingerprint -sha256)');

/**
 * TLS for `scheme: https` (ONVIF Core §5.12.1, transport-level security). The certificate
 * is always checked: by default against the system CAs and the host name; with `caFile`
 * against that private CA; with `certSha256` by the fingerprint of the camera's own
 * (often self-signed) certificate, chain and name then not required. `insecure` is the
 * explicit, loudly-logged exception (warned at start and in `gatewarden diag`).
 */
export const cameraTlsSchema = z
  .strictObject({
    /** PEM file of the private CA that signed the camera's certificate (replaces the system CAs). */
    caFile: z.string().min(1).optional(),
    /** SHA-256 fingerprint of the camera's leaf certificate; when set it must match (and caFile, if also set, must verify too). */
    certSha256: fingerprint.optional(),
    /** Accept any certificate. For bench tests only: warned at start and by `gatewarden diag`. */
    insecure: z.boolean().default(false),
  })
  .superRefine((t, ctx) => {
    if (t.insecure && (t.caFile || t.certSha256)) ctx.addIssue({ code: 'custom', path: ['insecure'], message: 'insecure: true contradicts caFile/certSha256; remove one' });
  });

export const cameraSchema = z
  .strictObject({
    /** Device id: `src.device` of every event of this camera. */
    id: idString,
    host: z.string().min(1),
    /** Transport of the device service and of every service the camera names (media, events, snapshot). */
    scheme: z.enum(['http', 'https']).default('http'),
    /** Default: 80 for http, 443 for https. */
    port: z.number().int().min(1).max(65535).optional(),
    tls: cameraTlsSchema.optional(),
    /** ONVIF Core §5.1.1 fixes the device service path; some NVR channels differ. */
    devicePath: z.string().regex(/^\//, 'expected a path starting with /').default('/onvif/device_service'),
    username: z.string().min(1),
    /** Secret: never logged, never in events or health. */
    password: secret(z.string()),
    /** Media profile to use for stream/snapshot URIs; default: the camera's first profile. */
    profileToken: z.string().min(1).optional(),
    /** Topic filter (ConcreteSet, e.g. "tns1:VideoSource/MotionAlarm"); default: all topics. */
    topics: z.array(z.string().min(1)).optional(),
    /** Fetch a JPEG on motion start / tamper and put its SHA-256 and size in the event. */
    snapshotOnAlarm: z.boolean().default(false),
  })
  .superRefine((c, ctx) => {
    if (c.tls && c.scheme !== 'https') ctx.addIssue({ code: 'custom', path: ['tls'], message: 'tls is only used with scheme: https (set scheme: https or remove tls)' });
  })
  .transform((c) => ({ ...c, port: c.port ?? (c.scheme === 'https' ? 443 : 80), tls: c.tls ?? { insecure: false } }));

export const onvifConfigSchema = z
  .strictObject({
    id: idString,
    cameras: z.array(cameraSchema).min(1),
    /** Deadline of one SOAP exchange (connect + answer), pull timeout excluded. */
    requestTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    /** PullMessages Timeout (Event §9.1.2): the camera holds the request this long when idle. */
    pullTimeoutSeconds: z.number().int().min(1).max(300).default(20),
    pullMessageLimit: z.number().int().min(1).max(1024).default(64),
    /** Floor between two pulls that returned nothing: a camera that ignores the long-poll
     *  timeout and answers at once must not drive the loop busy. */
    minPullIntervalMs: z.number().int().min(10).max(60_000).default(1000),
    /** InitialTerminationTime / Renew duration of the pull-point subscription. */
    subscriptionSeconds: z.number().int().min(10).max(86_400).default(120),
    /** |camera − gateway clock| above this emits `video.camera.clock_skew`. */
    clockSkewThresholdSeconds: z.number().min(0).default(10),
    /** Cap on any SOAP answer; larger ones are refused (hostile or broken camera). */
    maxResponseBytes: z.number().int().min(4096).max(64 * 1024 * 1024).default(1024 * 1024),
    reconnect: linkPolicySchema(1000, 60_000),
    snapshot: z
      .strictObject({
        /** Where JPEGs are written (`<dir>/<camera>/<time>-<sha8>.jpg`). Default: <stateDir>/snapshots. */
        dir: z.string().min(1).optional(),
        maxBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(5 * 1024 * 1024),
        timeoutMs: z.number().int().min(100).max(60_000).default(5000),
        // Retention (a full SD card stops the spool too): after each write and once at start,
        // the driver's own files are pruned oldest first until all three limits hold.
        /** Newest images kept per camera directory. */
        maxFilesPerCamera: z.number().int().min(1).max(1_000_000).default(500),
        /** Bytes of images kept under `dir` (all cameras); a number or a size such as "256MiB". */
        maxTotalBytes: byteSize.default(256 * 1024 * 1024),
        /** Images older than this are deleted. */
        maxAgeHours: z.number().positive().max(24 * 3650).default(24 * 7),
      })
      .prefault({})
      .refine((s) => s.maxTotalBytes >= s.maxBytes, { path: ['maxTotalBytes'], message: 'maxTotalBytes must be at least snapshot.maxBytes (room for one image)' }),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.cameras.forEach((cam, i) => {
      if (seen.has(cam.id)) ctx.addIssue({ code: 'custom', path: ['cameras', i, 'id'], message: `duplicate camera id "${cam.id}"` });
      seen.add(cam.id);
    });
    if (c.reconnect.minMs > c.reconnect.maxMs) ctx.addIssue({ code: 'custom', path: ['reconnect', 'minMs'], message: 'minMs must not exceed maxMs' });
  });

export type OnvifConfig = z.output<typeof onvifConfigSchema>;
export type CameraConfig = z.output<typeof cameraSchema>;

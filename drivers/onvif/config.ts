// Config of one ONVIF driver instance (`drivers.onvif[i]`): a list of cameras, each a
// device (`src.device` = camera id). Defaults live here and nowhere else (STYLE practice 7).
import { z } from 'zod';
import { backoffSchema, idString } from '../../config/schema.js';

export const cameraSchema = z.strictObject({
  /** Device id: `src.device` of every event of this camera. */
  id: idString,
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(80),
  /** ONVIF Core §5.1.1 fixes the device service path; some NVR channels differ. */
  devicePath: z.string().regex(/^\//, 'expected a path starting with /').default('/onvif/device_service'),
  username: z.string().min(1),
  /** Secret: never logged, never in events or health. */
  password: z.string(),
  /** Media profile to use for stream/snapshot URIs; default: the camera's first profile. */
  profileToken: z.string().min(1).optional(),
  /** Topic filter (ConcreteSet, e.g. "tns1:VideoSource/MotionAlarm"); default: all topics. */
  topics: z.array(z.string().min(1)).optional(),
  /** Fetch a JPEG on motion start / tamper and put its SHA-256 and size in the event. */
  snapshotOnAlarm: z.boolean().default(false),
});

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
    reconnect: backoffSchema(1000, 60_000),
    snapshot: z
      .strictObject({
        /** Where JPEGs are written (`<dir>/<camera>/<time>-<sha8>.jpg`). Default: <stateDir>/snapshots. */
        dir: z.string().min(1).optional(),
        maxBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(5 * 1024 * 1024),
        timeoutMs: z.number().int().min(100).max(60_000).default(5000),
      })
      .prefault({}),
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

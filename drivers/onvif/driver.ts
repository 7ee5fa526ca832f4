// The ONVIF driver instance: one CameraSession per configured camera. start() launches
// every session and returns at once — cameras come online (or not) on their own, each with
// its own backoff, so one dead camera never holds up the others or the supervisor.
import type { JsonObject } from '../../agent/events/types.js';
import {
  CommandUnsupportedError,
  type CommandResult,
  type DeviceHealth,
  type DiagnosticResult,
  type Driver,
  type DriverContext,
} from '../types.js';
import { join } from 'node:path';
import { CameraSession } from './camera.js';
import { OnvifClient } from './client.js';
import type { CameraConfig, OnvifConfig } from './config.js';
import { SnapshotPruner } from './retention.js';
import { SoapFault } from './soap.js';
import { describeTls, TlsTrustError } from './tls.js';

export class OnvifDriver implements Driver {
  readonly sessions: CameraSession[];
  /** Snapshot retention for this instance's directory: once at start and after each image. */
  readonly pruner: SnapshotPruner;

  constructor(
    private readonly cfg: OnvifConfig,
    private readonly ctx: DriverContext,
  ) {
    const snapshotDir = cfg.snapshot.dir ?? join(ctx.stateDir, 'snapshots');
    this.pruner = new SnapshotPruner({
      dir: snapshotDir,
      limits: cfg.snapshot,
      now: () => ctx.clock.now(),
      log: ctx.log,
      onPruned: (r) => {
        for (const s of this.sessions) if (r.perCamera[s.cam.id]) s.notePruned(r.perCamera[s.cam.id]);
      },
      onError: (err) => ctx.reportError(err),
    });
    const hooks = { snapshotDir, afterSnapshot: () => this.pruner.request() };
    this.sessions = cfg.cameras.map((cam) => new CameraSession(cam, cfg, ctx, hooks));
  }

  async start(): Promise<void> {
    this.pruner.request();
    for (const s of this.sessions) s.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.stop()));
    await this.pruner.stop();
  }

  health(): DeviceHealth[] {
    return this.sessions.map((s) => s.health());
  }

  commands(): string[] {
    return ['camera.snapshot', 'snapshot'];
  }

  /**
   * `camera.snapshot` (`snapshot` is its older name): take one now, store it under the
   * retention of snapshot.dir, answer its sha256, size and path (args.camera or target =
   * camera id, or the instance id; default: the only camera).
   */
  async command(name: string, args: JsonObject, target?: string): Promise<CommandResult> {
    if (name !== 'snapshot' && name !== 'camera.snapshot') throw new CommandUnsupportedError(`onvif: unknown command "${name}" (known: ${this.commands().join(', ')})`);
    const id = (target === this.cfg.id ? undefined : target) ?? (typeof args.camera === 'string' ? args.camera : undefined);
    const s = id ? this.sessions.find((x) => x.cam.id === id) : this.sessions.length === 1 ? this.sessions[0] : undefined;
    if (!s) return { ok: false, detail: id ? `no camera "${id}"` : 'name the camera (target or args.camera)' };
    try {
      const snap = await s.snapshot();
      return { ok: true, data: { camera: s.cam.id, sha256: snap.sha256, size: snap.size, path: snap.path, contentType: snap.contentType } };
    } catch (e) {
      return { ok: false, detail: (e as Error).message };
    }
  }

  async diagnose(): Promise<DiagnosticResult[]> {
    const out = await Promise.all(this.sessions.map((s, i) => diagnoseCamera(s, i, this.cfg, this.ctx)));
    return out.flat();
  }
}

/** Fresh checks with a separate client (does not disturb the session's counters or offset). */
async function diagnoseCamera(s: CameraSession, index: number, cfg: OnvifConfig, ctx: DriverContext): Promise<DiagnosticResult[]> {
  const cam: CameraConfig = s.cam;
  const device = cam.id;
  const c = new OnvifClient({
    host: cam.host, port: cam.port, scheme: cam.scheme, ...(s.tls ? { tls: s.tls } : {}), username: cam.username, password: cam.password, devicePath: cam.devicePath,
    timeoutMs: Math.min(cfg.requestTimeoutMs, 5000), maxResponseBytes: cfg.maxResponseBytes, now: () => ctx.clock.now(),
  });
  const res: DiagnosticResult[] = [];
  const at = `cameras[${index}].tls of onvif instance "${cfg.id}"`;
  // An unverified certificate is reported whether or not the camera answers.
  if (s.tls?.insecure) {
    res.push({
      check: 'onvif.tls', device, verdict: 'warn', detail: describeTls(s.tls),
      hint: `anyone on the network path can impersonate this camera and read what is sent to it; replace ${at}.insecure with certSha256 (the camera's certificate fingerprint) or caFile`,
    });
  }
  let offset: number;
  try {
    offset = (await c.getSystemDateAndTime()).offsetMs;
    res.push({ check: 'onvif.reachable', device, verdict: 'pass', detail: `${c.xaddr.device} answers GetSystemDateAndTime` });
  } catch (e) {
    if (e instanceof TlsTrustError) {
      res.push({
        check: 'onvif.tls', device, verdict: 'fail', detail: e.message,
        hint: `compare the fingerprint ${e.fingerprint ?? '(none)'} with the certificate shown in the camera's web UI, then set ${at}.certSha256 to it — or set ${at}.caFile to the CA that signed it`,
      });
      return res;
    }
    res.push({
      check: 'onvif.reachable', device, verdict: 'fail', detail: `${c.xaddr.device}: ${(e as Error).message}`,
      hint: s.tls
        ? 'check host/port (HTTPS is usually 443), that HTTPS and ONVIF are enabled on the camera, and firewalls'
        : 'check host/port (ONVIF is often on 80, 8000 or 8080), that the camera is powered and ONVIF is enabled, and firewalls',
    });
    return res;
  }
  if (s.tls && !s.tls.insecure) res.push({ check: 'onvif.tls', device, verdict: 'pass', detail: describeTls(s.tls) });
  const limit = cfg.clockSkewThresholdSeconds * 1000;
  res.push(
    Math.abs(offset) > limit
      ? { check: 'onvif.clock_skew', device, verdict: 'warn', detail: `camera clock is ${Math.round(offset / 1000)} s off the gateway`, hint: 'enable NTP on the camera (and the gateway); the driver compensates, but recorded video timestamps will be off' }
      : { check: 'onvif.clock_skew', device, verdict: 'pass', detail: `offset ${Math.round(offset / 1000)} s` },
  );
  try {
    const info = await c.getDeviceInformation();
    res.push({ check: 'onvif.login', device, verdict: 'pass', detail: `${info.manufacturer} ${info.model} fw ${info.firmwareVersion}` });
  } catch (e) {
    const auth = e instanceof SoapFault && e.isAuth;
    res.push({
      check: 'onvif.login', device, verdict: 'fail', detail: (e as Error).message,
      hint: auth
        ? `authentication failed for user "${cam.username}": fix cameras[${index}].password (or .username) of onvif instance "${cfg.id}" in the config; many cameras keep a separate ONVIF user list (enable ONVIF and add the user there)`
        : 'the camera refused GetDeviceInformation; check the devicePath and the camera firmware',
    });
  }
  res.push(
    s.subscribed
      ? { check: 'onvif.events', device, verdict: 'pass', detail: `pull-point subscription active (${s.counters.pulls} pulls, ${s.counters.events} events)` }
      : { check: 'onvif.events', device, verdict: 'fail', detail: `no event subscription (${s.lastError ?? 'not connected yet'})`, hint: 'check that the camera supports WS PullPoint (Profile S/T), the topics filter, and the login above' },
  );
  return res;
}

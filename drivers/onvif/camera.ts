// One camera's session: connect (clock first, then a login that is really checked), read
// identity/profiles/URIs, hold a PullPoint subscription and pull from it. The reconnecting
// link (drivers/transport/link.ts) runs it: a session is proven by its first answered
// PullMessages, so a camera that logs in but never pulls is retried ever more slowly and,
// once flapping, announced once and held down. A dead camera affects only itself.
//
// Order matters (ONVIF Core §5.12.2): GetSystemDateAndTime is PRE_AUTH and gives the
// camera clock; every UsernameToken is then created in camera time. GetCapabilities and
// GetServices are PRE_AUTH too, which is why the `onvif` package "connects" with a wrong
// password: the first authenticated call here is GetDeviceInformation (READ_SYSTEM).
import type { JsonObject, Severity } from '../../agent/events/types.js';
import { SessionLink, type SessionHandle } from '../transport/link.js';
import type { DeviceHealth, DeviceState, DriverContext } from '../types.js';
import { OnvifClient, type DeviceInfo, type NotificationMessage } from './client.js';
import type { CameraConfig, OnvifConfig } from './config.js';
import { EventNormaliser } from './events.js';
import { SoapFault } from './soap.js';
import { takeSnapshot, type Snapshot } from './snapshot.js';
import { describeTls, tlsPolicy, type TlsPolicy } from './tls.js';
import { XmlSecurityError } from './xml.js';
import { join } from 'node:path';

/** What the driver instance shares with its sessions. */
export interface SessionHooks {
  /** Directory for this instance's images (`<dir>/<camera>/…`). */
  snapshotDir?: string;
  /** Called after each image written (retention runs; never awaited). */
  afterSnapshot?: () => void;
}

export class AuthFailedError extends Error {
  override readonly name = 'AuthFailedError';
}

export interface CameraCounters {
  requests: number;
  faults: number;
  authFailures: number;
  pulls: number;
  events: number;
  resubscribes: number;
  renewals: number;
  reconnects: number;
  refusedResponses: number;
  snapshots: number;
  snapshotErrors: number;
  /** Images of this camera deleted by snapshot retention. */
  snapshotsPruned: number;
}

/** Sleep that ends early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Camera time resolution (1 s) plus request latency: differences below this are not a clock change. */
const CLOCK_TOLERANCE_MS = 2500;

export class CameraSession {
  state: DeviceState = 'unknown';
  lastSeen: number | null = null;
  lastError: string | null = null;
  info: DeviceInfo | null = null;
  profileToken: string | null = null;
  streamUri = '';
  snapshotUri = '';
  /** Latest measured camera − gateway clock offset (ms), null before the first reading. */
  offsetMs: number | null = null;
  loginOk: boolean | null = null;
  readonly client: OnvifClient;
  /** Certificate policy for https cameras; null for http. */
  readonly tls: TlsPolicy | null;
  private readonly c: Omit<CameraCounters, 'requests' | 'faults'> = {
    authFailures: 0, pulls: 0, events: 0, resubscribes: 0, renewals: 0, reconnects: 0, refusedResponses: 0, snapshots: 0, snapshotErrors: 0, snapshotsPruned: 0,
  };
  private readonly normaliser = new EventNormaliser();
  private readonly abort = new AbortController();
  private sub: { address: string; expiresAt: number } | null = null;
  private link: SessionLink | null = null;
  private stopped = false;
  private authReported = false;
  private skewReported: number | null = null;
  /**
   * Whether PullMessages CurrentTime follows the camera clock (GetSystemDateAndTime). Some
   * cameras send a frozen CurrentTime: it is then ignored for the offset and the
   * subscription's expiry for the rest of the session (drivers/onvif/README.md "Event times").
   */
  private currentTimeTrusted = true;

  constructor(
    readonly cam: CameraConfig,
    private readonly cfg: OnvifConfig,
    private readonly ctx: DriverContext,
    private readonly hooks: SessionHooks = {},
  ) {
    this.tls = cam.scheme === 'https' ? tlsPolicy(cam.id, cam.tls) : null;
    this.client = new OnvifClient({
      host: cam.host, port: cam.port, scheme: cam.scheme, ...(this.tls ? { tls: this.tls } : {}), username: cam.username, password: cam.password, devicePath: cam.devicePath,
      timeoutMs: cfg.requestTimeoutMs, maxResponseBytes: cfg.maxResponseBytes, now: () => ctx.clock.now(),
    });
    ctx.signal.addEventListener('abort', () => this.abort.abort(), { once: true });
  }

  get counters(): CameraCounters {
    return { requests: this.client.requests, faults: this.client.faults, ...this.c };
  }

  get subscribed(): boolean {
    return this.sub !== null;
  }

  start(): void {
    if (this.link) return;
    if (this.tls?.insecure) {
      this.ctx.log.warn(
        { device: this.cam.id, host: this.cam.host, port: this.cam.port },
        `camera ${this.cam.id}: tls.insecure is set — its certificate is NOT verified, anyone on the path can impersonate it; pin it with tls.certSha256 instead`,
      );
    } else if (this.tls) {
      this.ctx.log.info({ device: this.cam.id, tls: describeTls(this.tls) }, 'camera over https');
    }
    this.link = new SessionLink({
      name: `camera ${this.cam.id}`,
      log: this.ctx.log,
      clock: this.ctx.clock,
      policy: this.cfg.reconnect,
      emit: (o) => this.ctx.emit(o),
      announce: { device: this.cam.id, online: 'video.camera.online', offline: 'video.camera.offline', onlineSeverity: 'info', downMs: true, neverConnected: true },
      session: (h) => this.session(h),
      onDown: (err) => this.down(err),
    });
    void this.link.start();
  }

  /** Retention deleted `n` of this camera's images. */
  notePruned(n: number): void {
    this.c.snapshotsPruned += n;
  }

  /** Stop pulling, emit nothing more, then unsubscribe (best effort, bounded). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.link?.stop();
    const sub = this.sub;
    this.sub = null;
    if (sub) await this.client.unsubscribe(sub.address, Math.min(2000, this.cfg.requestTimeoutMs)).catch(() => undefined);
  }

  health(): DeviceHealth {
    const info: Record<string, string | number> = {};
    if (this.info) for (const [k, v] of Object.entries(this.info)) if (v) info[k] = v;
    if (this.profileToken) info.profileToken = this.profileToken;
    if (this.offsetMs !== null) info.clockOffsetMs = this.offsetMs;
    return {
      device: this.cam.id, state: this.state, lastSeen: this.lastSeen, counters: { ...this.counters }, info,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private emit(type: string, severity: Severity, data: JsonObject, at?: Date): void {
    if (this.stopped) return; // stop() promises silence (docs/contracts.md §Driver seam)
    this.ctx.emit({ type, severity, device: this.cam.id, data, ...(at ? { at } : {}) });
  }

  private seen(): void {
    this.lastSeen = this.ctx.clock.now();
  }

  /** One session for the link: connect, announce, pull until something fails. */
  private async session(h: SessionHandle): Promise<void> {
    if (this.stopped) return;
    const online = await this.connect();
    // While the link is flapping (held down, nothing announced) the camera is offline for
    // health and diag too, as its last announcement says, until a pull proves the session.
    this.state = this.link?.lifecycle.flapping ? 'offline' : 'online';
    this.lastError = null;
    h.up(online);
    await this.pullLoop(h);
  }

  /** The session failed or was lost (the link announces offline and picks the delay). */
  private down(err: Error): void {
    if (this.stopped) return;
    if (err instanceof XmlSecurityError) this.c.refusedResponses += 1;
    this.lastError = err.message;
    this.sub = null;
    this.ctx.reportError(err, this.cam.id);
    this.ctx.log.warn({ device: this.cam.id, err: err.message, flapping: this.link?.lifecycle.flapping ?? false }, 'camera session failed; reconnecting');
    this.state = 'offline';
    this.c.reconnects += 1;
  }

  private async syncClock(): Promise<void> {
    this.currentTimeTrusted = true;
    await this.readClock();
  }

  private async readClock(): Promise<void> {
    const r = await this.client.getSystemDateAndTime(this.abort.signal);
    this.seen();
    this.noteOffset(r.offsetMs, r.cameraUtc);
  }

  /** Record a camera clock reading; report a skew once, and again only when it moved by more than the threshold. */
  private noteOffset(offsetMs: number, cameraUtc: Date): void {
    this.offsetMs = offsetMs;
    this.client.offsetMs = offsetMs;
    const limit = this.cfg.clockSkewThresholdSeconds * 1000;
    const skewed = Math.abs(offsetMs) > limit;
    if (skewed && (this.skewReported === null || Math.abs(offsetMs - this.skewReported) > limit)) {
      this.skewReported = offsetMs;
      this.emit('video.camera.clock_skew', 'warning', {
        offsetMs, cameraUtc: cameraUtc.toISOString(), gatewayUtc: new Date(this.ctx.clock.now()).toISOString(), thresholdSeconds: this.cfg.clockSkewThresholdSeconds,
      });
    }
    if (!skewed) this.skewReported = null;
  }

  /** The first authenticated call; a fault that looks like auth gets one clock re-sync and retry. */
  private async login(): Promise<DeviceInfo> {
    for (let i = 0; ; i++) {
      try {
        const info = await this.client.getDeviceInformation(this.abort.signal);
        this.loginOk = true;
        this.authReported = false;
        return info;
      } catch (e) {
        if (!(e instanceof SoapFault) || !e.isAuth) throw e;
        if (i === 0) {
          await this.syncClock();
          continue;
        }
        this.c.authFailures += 1;
        this.loginOk = false;
        const msg = `authentication failed for camera ${this.cam.id} (user "${this.cam.username}"): ${e.message}`;
        if (!this.authReported) {
          this.authReported = true;
          this.emit('video.camera.auth_failed', 'warning', { user: this.cam.username, fault: e.message.slice(0, 300), clockOffsetMs: this.offsetMs ?? 0 });
        }
        throw new AuthFailedError(msg);
      }
    }
  }

  /** Establish the session; returns the online event's data. */
  private async connect(): Promise<JsonObject> {
    const signal = this.abort.signal;
    await this.syncClock();
    this.info = await this.login();
    await this.client.getCapabilities(signal).catch((e: Error) => {
      if (e instanceof XmlSecurityError) throw e;
      this.ctx.log.debug({ device: this.cam.id, err: e.message }, 'GetCapabilities failed; using default service paths');
    });
    const profiles = await this.client.getProfiles(signal);
    const token = this.cam.profileToken ?? profiles[0]?.token;
    if (!token) throw new Error(`camera ${this.cam.id} reports no media profiles`);
    if (this.cam.profileToken && !profiles.some((p) => p.token === token)) {
      throw new Error(`camera ${this.cam.id} has no profile "${token}" (has: ${profiles.map((p) => p.token).join(', ')})`);
    }
    this.profileToken = token;
    this.streamUri = this.client.rehost(await this.client.getStreamUri(token, signal).catch(() => ''));
    const rawSnapshot = await this.client.getSnapshotUri(token, signal).catch(() => '');
    this.snapshotUri = this.client.snapshotUrl(rawSnapshot);
    if (rawSnapshot.startsWith('http:') && this.snapshotUri.startsWith('https:')) {
      this.ctx.log.info({ device: this.cam.id, advertised: rawSnapshot.replace(/\/\/[^@/]*@/, '//'), used: this.snapshotUri }, 'http snapshot URI of an https camera moved onto the device service origin');
    }
    await this.subscribe();
    this.seen();
    return {
      manufacturer: this.info.manufacturer, model: this.info.model, firmware: this.info.firmwareVersion, serial: this.info.serialNumber,
      profileToken: token, profiles: profiles.map((p) => p.token), streamUri: this.streamUri, snapshotUri: this.snapshotUri, clockOffsetMs: this.offsetMs ?? 0,
    };
  }

  private async subscribe(): Promise<void> {
    const r = await this.client.createPullPoint({ initialTerminationSeconds: this.cfg.subscriptionSeconds, topics: this.cam.topics, signal: this.abort.signal });
    this.sub = { address: r.address, expiresAt: this.ctx.clock.now() + this.cfg.subscriptionSeconds * 1000 };
  }

  /** Renew ahead of expiry (WS-BaseNotification Renew); a refused renew re-creates the subscription. */
  private async renewIfDue(): Promise<void> {
    const sub = this.sub!;
    const margin = this.cfg.pullTimeoutSeconds * 1000 + this.cfg.requestTimeoutMs;
    if (sub.expiresAt - this.ctx.clock.now() > margin) return;
    try {
      await this.client.renew(sub.address, this.cfg.subscriptionSeconds, this.abort.signal);
      sub.expiresAt = this.ctx.clock.now() + this.cfg.subscriptionSeconds * 1000;
      this.c.renewals += 1;
    } catch (e) {
      if (!(e instanceof SoapFault) || e.isAuth) throw e;
      this.c.resubscribes += 1;
      await this.subscribe();
    }
  }

  private async pullLoop(h: SessionHandle): Promise<void> {
    const signal = this.abort.signal;
    while (!this.stopped) {
      await this.renewIfDue();
      const started = this.ctx.clock.mono();
      let got = 0;
      try {
        const r = await this.client.pullMessages(this.sub!.address, this.cfg.pullTimeoutSeconds, this.cfg.pullMessageLimit, signal);
        this.c.pulls += 1;
        this.seen();
        h.proved();
        this.state = 'online';
        got = r.messages.length;
        const cur = r.currentTime ? Date.parse(r.currentTime) : NaN;
        const term = r.terminationTime ? Date.parse(r.terminationTime) : NaN;
        // CurrentTime should be the camera clock at answer time. When it strays from the
        // measured offset, the camera's clock is asked (GetSystemDateAndTime) before its
        // messages' UtcTime is corrected: a real jump is followed, a CurrentTime that does not
        // follow the clock (frozen, seen in real captures) is ignored from then on.
        if (this.currentTimeTrusted && Number.isFinite(cur) && Math.abs(cur - this.ctx.clock.now() - (this.offsetMs ?? 0)) > CLOCK_TOLERANCE_MS) {
          await this.readClock();
          if (Math.abs(cur - this.ctx.clock.now() - (this.offsetMs ?? 0)) > CLOCK_TOLERANCE_MS) {
            this.currentTimeTrusted = false;
            this.ctx.log.warn({ device: this.cam.id, currentTime: r.currentTime, clockOffsetMs: this.offsetMs }, 'camera PullMessages CurrentTime does not follow its clock; ignored for this session');
          }
        }
        if (this.currentTimeTrusted && Number.isFinite(cur) && Number.isFinite(term)) this.sub!.expiresAt = this.ctx.clock.now() + (term - cur);
        for (const m of r.messages) await this.handle(m);
      } catch (e) {
        if (this.stopped) return;
        // A fault on the pull point (expired, unknown after a camera reboot) → new subscription;
        // auth faults and transport errors go to reconnect (which re-syncs the clock).
        if (e instanceof SoapFault && !e.isAuth) {
          this.ctx.log.info({ device: this.cam.id, err: e.message }, 'pull point gone; re-subscribing');
          this.c.resubscribes += 1;
          await this.subscribe();
          continue;
        }
        throw e;
      }
      // Rate limit: an empty answer must not be followed by an immediate pull.
      const floor = got > 0 ? Math.min(50, this.cfg.minPullIntervalMs) : this.cfg.minPullIntervalMs;
      const wait = floor - (this.ctx.clock.mono() - started);
      if (wait > 0) await sleep(wait, signal);
    }
  }

  private async handle(m: NotificationMessage): Promise<void> {
    const n = this.normaliser.normalise(m);
    if (!n) return;
    // Camera UtcTime → gateway UTC: subtract the measured camera clock offset. An event is
    // never later than its receipt: up to the clock tolerance later (1 s resolution of the
    // offset) it is clamped to the receipt; further off, or older than a subscription could
    // hold it, the camera's time is implausible and the receipt time stands (timeSource).
    const receivedAt = this.ctx.clock.now();
    const corrected = n.cameraTime ? n.cameraTime.getTime() - (this.offsetMs ?? 0) : NaN;
    const oldest = receivedAt - (this.cfg.subscriptionSeconds + this.cfg.pullTimeoutSeconds) * 1000 - CLOCK_TOLERANCE_MS;
    const plausible = Number.isFinite(corrected) && corrected <= receivedAt + CLOCK_TOLERANCE_MS && corrected >= oldest;
    const at = new Date(plausible ? Math.min(corrected, receivedAt) : receivedAt);
    const data: JsonObject = { ...n.data, clockCorrected: this.offsetMs !== null, clockOffsetMs: this.offsetMs ?? 0, timeSource: plausible ? 'camera' : 'receipt' };
    const alarm = n.type === 'video.motion.start' || n.type === 'video.tamper.detected';
    if (alarm && this.cam.snapshotOnAlarm) {
      try {
        const s = await this.snapshot();
        data.snapshot = { sha256: s.sha256, size: s.size, path: s.path, contentType: s.contentType };
      } catch (e) {
        data.snapshotError = (e as Error).message.slice(0, 300);
      }
    }
    this.c.events += 1;
    this.emit(n.type, n.severity, data, at);
  }

  async snapshot(): Promise<Snapshot> {
    if (!this.snapshotUri) throw new Error(`camera ${this.cam.id}: no snapshot URI (not connected, or the profile has none)`);
    try {
      const s = await takeSnapshot({
        url: this.snapshotUri, username: this.cam.username, password: this.cam.password, maxBytes: this.cfg.snapshot.maxBytes,
        timeoutMs: this.cfg.snapshot.timeoutMs, dir: join(this.hooks.snapshotDir ?? this.cfg.snapshot.dir ?? join(this.ctx.stateDir, 'snapshots'), this.cam.id),
        now: () => this.ctx.clock.now(), signal: this.abort.signal, ...(this.tls ? { tls: this.tls } : {}),
      });
      this.c.snapshots += 1;
      this.hooks.afterSnapshot?.();
      return s;
    } catch (e) {
      this.c.snapshotErrors += 1;
      throw e;
    }
  }
}

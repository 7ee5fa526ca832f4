// Local access decisions (docs/access.md): a pipeline listener (agent/pipeline.ts) that
// sees every sealed event in seq order, synchronously from the driver's emit. On an
// `access.card.read` at a configured door it decides (./decide.ts) and enqueues the door
// actuation (./actuate.ts) before anything else — no network, no await — then seals the
// signed decision `access.card.granted` / `access.card.denied`, which the correlator
// (brute_force) sees like any event. It also keeps what the rules need (./state.ts),
// handles the PIN that follows a card, and attributes door forced/held to the last
// decision at that door.
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { SealedEvent } from '../chain/chain.js';
import type { EventBody, JsonObject, Observation, Severity } from '../events/types.js';
import type { DoorActuator } from './actuate.js';
import { cardHash } from './card-key.js';
import { effectiveRules, type AccessConfig, type AccessDoor } from './config.js';
import { decide, type AlarmReason, type DenyReason } from './decide.js';
import { readIdentities } from './identity.js';
import { LocalTime } from './schedule.js';
import { RuleState, type Lockdown } from './state.js';
import type { CredentialStore, StoredCredential } from './store.js';

export const ACCESS_DRIVER = 'access';

export interface AccessEngineOptions {
  config: AccessConfig;
  store: CredentialStore;
  cardKey: Buffer;
  actuator: DoorActuator;
  /** Seal an observation as driver `access` (pipeline.ingest); null when the spool refused it. */
  ingest(obs: Observation): SealedEvent | null;
  clock: Clock;
  log: Logger;
}

interface LastDecision {
  type: string;
  reason: string | null;
  credential: string | null;
  seq: number;
  at: number;
}

interface PendingPin {
  door: AccessDoor;
  cred: StoredCredential;
  alarms: AlarmReason[];
  base: JsonObject;
  feedback: string | undefined;
  timer: NodeJS.Timeout;
  /** The PIN timeout this entry was given. */
  seconds: number;
}

export class AccessEngine {
  readonly state: RuleState;
  readonly counters = { reads: 0, granted: 0, denied: 0, overrides: 0, actuationFailures: 0 };
  private doorByReader = new Map<string, AccessDoor>();
  private doors = new Map<string, AccessDoor>();
  private readonly last = new Map<string, LastDecision>();
  private readonly pins = new Map<string, PendingPin>();
  private local!: LocalTime;
  /** The running `access:` config; replaced by `reconfigure` (reload). */
  private cfg!: AccessConfig;

  constructor(private readonly o: AccessEngineOptions) {
    this.state = new RuleState(o.store, o.config);
    this.reconfigure(o.config);
  }

  /**
   * A reloaded `access:` config (SIGHUP / `gatewarden reload`, agent/daemon.ts): the next
   * read is decided under the new doors, rules, time zone and timeouts. Kept: the credential
   * store, lockdown, tamper times and open incidents (./state.ts), the last decision per
   * door (door forced/held attribution), counters, and a card already waiting for its PIN
   * (decided under the rules of its read; it completes or times out as it would have).
   * The config was validated by the loader; `enabled`, `database` and `cardKey` are not
   * applied here (the daemon keeps them for a restart).
   */
  reconfigure(config: AccessConfig): void {
    const doors = new Map<string, AccessDoor>();
    const byReader = new Map<string, AccessDoor>();
    for (const d of config.doors) {
      doors.set(d.id, d);
      for (const r of d.readers) byReader.set(r, d);
    }
    this.local = new LocalTime(config.timezone);
    this.doors = doors;
    this.doorByReader = byReader;
    this.cfg = config;
    this.state.reconfigure(config);
  }

  /** The pipeline listener. Returns nothing: its own events are sealed through `ingest` as driver `access`. */
  readonly listener = (e: SealedEvent): void => {
    const b = e.body;
    if (b.src.driver === ACCESS_DRIVER) return;
    try {
      if (b.type === 'access.card.read') this.onRead(b);
      else if (b.type === 'access.keypad') this.onKeypad(b);
      else if (b.type === 'access.door.forced' || b.type === 'access.door.held') this.attribute(b);
      else this.state.observe(b, this.o.clock.now());
    } catch (err) {
      // A fault here must not refuse the event that triggered it (it is already sealed).
      this.o.log.error({ err, type: b.type, seq: b.seq }, 'access: decision failed');
    }
  };

  doorOf(reader: string): AccessDoor | undefined {
    return this.doorByReader.get(reader);
  }

  private feedbackOf(door: AccessDoor, b: EventBody): string | undefined {
    return door.feedbackReader ?? (b.src.driver === 'osdp' ? b.src.device : undefined);
  }

  private onRead(b: EventBody): void {
    const reader = b.src.device;
    const door = this.doorByReader.get(reader);
    if (!door) return;
    this.counters.reads += 1;
    const now = this.o.clock.now();
    const hashes = readIdentities(b.data).map((id) => cardHash(this.o.cardKey, id));
    const cred = this.o.store.lookup(hashes);
    const lock = this.state.lockdown;
    const secure = b.data.secure === true;
    const v = decide({
      now,
      local: this.local.at(now),
      door,
      rules: effectiveRules(this.cfg, door),
      cred,
      policy: this.o.store.policy,
      secure,
      tamperAt: this.state.tamperAt(reader),
      incidentOpen: this.state.incidentOpen(now),
      lockdown: lock !== null,
      emergencyGroup: this.cfg.emergencyGroup,
    });
    const feedback = this.feedbackOf(door, b);
    const base: JsonObject = {
      door: door.id,
      reader,
      credential: cred?.id ?? null,
      read: { epoch: b.epoch, seq: b.seq },
      secure,
      listVersion: this.o.store.info.version,
    };
    if (!v.granted) return this.deny(door, reader, feedback, v.reason, base);
    if (v.needPin && cred) {
      this.pins.get(reader)?.timer && clearTimeout(this.pins.get(reader)!.timer);
      const seconds = this.cfg.pinTimeoutSeconds;
      const timer = setTimeout(() => this.pinTimeout(reader), seconds * 1000);
      timer.unref();
      this.pins.set(reader, { door, cred, alarms: v.alarms, base: { ...base, groups: v.groups }, feedback, timer, seconds });
      return;
    }
    this.grant(door, reader, feedback, v.alarms, { ...base, groups: v.groups });
  }

  private grant(door: AccessDoor, reader: string, feedback: string | undefined, alarms: AlarmReason[], data: JsonObject): void {
    this.o.actuator.grant(door, feedback);
    this.counters.granted += 1;
    const severity: Severity = alarms.length > 0 ? 'alarm' : 'info';
    this.record('access.card.granted', severity, reader, door, { ...data, alarms, pulseMs: door.pulseMs, strike: door.strike ? true : false });
  }

  private deny(door: AccessDoor, reader: string, feedback: string | undefined, reason: DenyReason, data: JsonObject): void {
    this.o.actuator.deny(door, feedback);
    this.counters.denied += 1;
    const extra: JsonObject = reason === 'lockdown' ? { lockdown: { ...(this.state.lockdown as unknown as JsonObject) } } : reason === 'network-incident' ? { incidents: this.state.openIncidents(this.o.clock.now()) } : {};
    this.record('access.card.denied', 'warning', reader, door, { ...data, reason, ...extra });
  }

  private record(type: string, severity: Severity, reader: string, door: AccessDoor, data: JsonObject): void {
    const sealed = this.o.ingest({ type, severity, device: reader, data, src: { door: door.id } });
    this.last.set(door.id, { type, reason: typeof data.reason === 'string' ? data.reason : null, credential: typeof data.credential === 'string' ? data.credential : null, seq: sealed?.body.seq ?? -1, at: this.o.clock.now() });
  }

  private onKeypad(b: EventBody): void {
    const p = this.pins.get(b.src.device);
    if (!p) return;
    this.pins.delete(b.src.device);
    clearTimeout(p.timer);
    const hmac = typeof b.data.hmac === 'string' ? b.data.hmac : null;
    const pin = { keypad: { epoch: b.epoch, seq: b.seq } };
    if (!hmac) return this.deny(p.door, b.src.device, p.feedback, 'pin-missing', { ...p.base, ...pin, detail: 'the reader does not report a PIN digest (set pinPolicy: hash)' });
    if (!(p.cred.pin ?? '').split(' ').includes(hmac)) return this.deny(p.door, b.src.device, p.feedback, 'pin-wrong', { ...p.base, ...pin });
    this.grant(p.door, b.src.device, p.feedback, p.alarms, { ...p.base, ...pin, pin: true });
  }

  private pinTimeout(reader: string): void {
    const p = this.pins.get(reader);
    if (!p) return;
    this.pins.delete(reader);
    try {
      this.deny(p.door, reader, p.feedback, 'pin-missing', { ...p.base, detail: `no PIN within ${p.seconds} s` });
    } catch (err) {
      this.o.log.error({ err, reader }, 'access: PIN timeout could not be recorded');
    }
  }

  /** Door forced / held open at a door: which decision came last there, and how long before. */
  private attribute(b: EventBody): void {
    const door = this.doorByReader.get(b.src.device);
    if (!door) return;
    const now = this.o.clock.now();
    const last = this.last.get(door.id);
    const forced = b.type === 'access.door.forced';
    const afterDenial = last !== undefined && last.type === 'access.card.denied' && now - last.at < 60_000;
    this.o.ingest({
      type: 'access.door.attributed',
      severity: forced && afterDenial ? 'alarm' : 'notice',
      device: b.src.device,
      src: { door: door.id },
      data: {
        door: door.id,
        cause: forced ? 'forced' : 'held',
        event: { epoch: b.epoch, seq: b.seq },
        lastDecision: last ? { type: last.type, reason: last.reason, credential: last.credential, seq: last.seq, ageSeconds: Math.round((now - last.at) / 100) / 10 } : null,
      },
    });
  }

  /** Platform lockdown / release (signed commands) — kept in the store, so they survive restarts. */
  setLockdown(l: Lockdown | null): void {
    const was = this.state.lockdown;
    this.state.setLockdown(l);
    if (l) this.o.ingest({ type: 'access.lockdown.engaged', severity: 'alarm', device: 'access', data: { reason: l.reason, by: l.by, since: l.since, already: was !== null } });
    else this.o.ingest({ type: 'access.lockdown.released', severity: 'notice', device: 'access', data: { by: 'command', wasSince: was?.since ?? null, already: was === null } });
  }

  /** Technician override (control socket): open `doorId` for `ms`, recorded as signed evidence first. */
  async unlock(doorId: string, ms: number, via: string): Promise<{ ok: boolean; door: string; forMs: number; detail: string }> {
    const door = this.doors.get(doorId);
    if (!door) throw new Error(`no door "${doorId}" (known: ${[...this.doors.keys()].join(', ') || 'none'})`);
    this.counters.overrides += 1;
    const lockdown = this.state.lockdown !== null;
    this.o.ingest({ type: 'access.door.override', severity: lockdown ? 'alarm' : 'warning', device: door.id, src: { door: door.id }, data: { door: door.id, forMs: ms, via, lockdown } });
    const ok = await this.o.actuator.strike(door, ms);
    return { ok, door: door.id, forMs: ms, detail: ok ? `door ${door.id} released for ${ms / 1000} s` : `door ${door.id}: the strike command failed (see access.door.actuation_failed)` };
  }

  actuationFailed(door: string, what: string, target: string, detail: string): void {
    this.counters.actuationFailures += 1;
    this.o.log.warn({ door, what, target, detail }, 'access: door actuation failed');
    if (what !== 'strike') return;
    this.o.ingest({ type: 'access.door.actuation_failed', severity: 'alarm', device: target, src: { door }, data: { door, what, target, detail } });
  }

  health(): JsonObject {
    const info = this.o.store.info;
    const now = this.o.clock.now();
    return {
      listVersion: info.version,
      credentials: info.count,
      updatedAt: info.updatedAt,
      lockdown: this.state.lockdown ? { ...this.state.lockdown } : null,
      incidents: this.state.openIncidents(now),
      doors: this.doors.size,
      counters: { ...this.counters },
    };
  }

  stop(): void {
    for (const p of this.pins.values()) clearTimeout(p.timer);
    this.pins.clear();
  }
}

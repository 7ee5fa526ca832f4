// Composition root: wires config → keys → spool → chain → pipeline → forwarder →
// supervisor, and owns the order of start-up and shutdown. Everything is passed in;
// nothing reads a settings singleton.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { supervisedInstances, type LoadedConfig } from '../config/loader.js';
import type { Chain, ChainHead } from './chain/chain.js';
import { loadOrCreateKeys, type GatewayKeys } from './chain/keys.js';
import { createClockSyncProbe, type ClockSyncDetail } from './clock-sync.js';
import type { Pipeline } from './pipeline.js';
import type { ClockSync, JsonObject } from './events/types.js';
import { Supervisor } from './supervisor.js';
import { spoolPathOf } from './spool/path.js';
import { openSqliteSpool } from './spool/sqlite-spool.js';
import { createEventPath, type EventPath } from './event-path.js';
import type { Spool, SpoolOpenInfo, SpoolStats } from './spool/types.js';
import { Forwarder } from './forward/forwarder.js';
import { systemClock, type Clock } from './clock.js';
import { DeviceStatePublisher } from './device-state.js';
import type { SpoolWriteHealth } from './metrics.js';
import { VERSION } from './version.js';
import { attachCommands } from './commands/index.js';
import { diagnoseNetwatch, NETWATCH_INSTANCE_ID, NetwatchDriver, unstartedNetwatch, type NetwatchView } from '../drivers/netwatch/driver.js';
import type { DiagnosticResult } from '../drivers/types.js';
import { createCorrelator, rulesFromConfig } from './correlate/index.js';
import { startFieldEndpoints, type FieldEndpoints } from './control/endpoints.js';
import { acquireStateLock, type StateLock } from './state-lock.js';
import type { ReloadOutcome } from './control/reload-outcome.js';
import { WRITE_FAILED_TYPE } from './events/declarations.js';
import { announceRotation, resolvePendingRotation, rotateNow, type KeyRotationResult } from './key-rotation.js';
import { signedHeadPayload } from './forward/signed-head.js';
import { startAccess, type AccessRuntime } from './access/index.js';
import { reloadAccess } from './access/config.js';


export interface DaemonOptions {
  loaded: LoadedConfig;
  log: Logger;
  clock?: Clock;
  /** Re-reads the config for SIGHUP; absent → reload not supported. */
  reloadConfig?: () => Promise<LoadedConfig>;
  /** The state directory's lock when the caller took it already (demo); else start() takes it. */
  stateLock?: StateLock;
}

export { spoolPathOf };
export type { ReloadOutcome };

export class Daemon {
  private keys!: GatewayKeys;
  private spool!: Spool;
  private path!: EventPath;
  private chain!: Chain;
  pipeline!: Pipeline;
  forwarder!: Forwarder;
  supervisor!: Supervisor;
  private devices!: DeviceStatePublisher;
  private pruneTimer: NodeJS.Timeout | undefined;
  private correlator: { stop(): void } | null = null;
  /** Local access decisions (agent/access/, docs/access.md); null when access.enabled is off. */
  private access: AccessRuntime | null = null;
  /** Republishes the retained dev/access (list version, doors, lockdown). */
  private publishAccess: () => void = () => undefined;
  private readonly started = new Date();
  private stopping: Promise<void> | null = null;
  private loaded: LoadedConfig;
  private readonly clock: Clock;
  private readonly clockSync = createClockSyncProbe();
  /** Control socket and metrics endpoint; started last, stopped first. */
  private endpoints: FieldEndpoints | null = null;
  /** Exclusive lock on the state directory (agent/state-lock.ts), held until stop. */
  private stateLock: StateLock | null = null;
  /** Serialises key rotations (control socket and `key.rotate` may ask at once). */
  private rotating: Promise<unknown> = Promise.resolve();
  /** Serialises reloads (SIGHUP and the control socket may ask at once). */
  private reloading: Promise<void> = Promise.resolve();
  /** Outcome of the last reload, for `status`; null until one was asked for. */
  private lastReload: ReloadOutcome | null = null;

  constructor(private readonly o: DaemonOptions) {
    this.loaded = o.loaded;
    this.clock = o.clock ?? systemClock;
  }

  get log(): Logger {
    return this.o.log;
  }

  async start(): Promise<void> {
    const { config: c, drivers } = this.loaded;
    const log = this.o.log;
    mkdirSync(c.stateDir, { recursive: true, mode: 0o750 });
    // One owner per state directory, before anything in it is created or opened (throws StateDirInUseError).
    this.stateLock = this.o.stateLock ?? acquireStateLock(c.stateDir);
    this.keys = loadOrCreateKeys(c.stateDir);
    if (this.keys.created) log.warn({ kid: this.keys.kid, file: this.keys.file }, 'generated a new gateway key (new identity)');

    const opened: { spool: Spool; info: SpoolOpenInfo } = openSqliteSpool({
      path: spoolPathOf(this.loaded),
      quotaBytes: c.spool.quotaBytes,
      retentionHours: c.spool.retentionHours,
      log: log.child({ part: 'spool' }),
      // The quota never outgrows the filesystem: eviction starts before the disk fills.
      space: { dir: dirname(spoolPathOf(this.loaded)), reserveBytes: c.spool.reserveBytes },
    });
    this.spool = opened.spool;
    if (opened.info.movedAside) log.error({ movedAside: opened.info.movedAside }, 'spool failed its integrity check; moved aside, starting a new epoch');
    const head = this.spool.head();
    // A key rotation prepared offline (`gatewarden key rotate`) or interrupted (agent/key-rotation.ts).
    const rotation = resolvePendingRotation({ stateDir: c.stateDir, keys: this.keys, spool: this.spool, head, log });
    this.keys = rotation.keys;

    this.path = createEventPath({
      site: c.site,
      gw: c.gateway,
      keys: this.keys,
      head,
      clock: this.clock,
      clockSync: this.clockSync,
      spool: this.spool,
      batch: { maxEvents: c.spool.batchMaxEvents, maxDelayMs: c.spool.batchMaxDelayMs },
      checkpoint: c.chain.checkpoint,
      signingWorker: c.chain.signingWorker,
      log,
      onCommitted: () => this.forwarder?.notify(),
      maxBacklogEvents: c.spool.maxBacklogEvents,
      reserve: { dir: dirname(spoolPathOf(this.loaded)), bytes: c.spool.reserveBytes },
      ledgerDir: dirname(spoolPathOf(this.loaded)),
    });
    this.chain = this.path.chain;
    this.pipeline = this.path.pipeline;

    const storedKid = this.spool.getMeta('kid');
    const reason = this.epochReason(opened.info, head, storedKid);
    if (reason) {
      const extra: JsonObject = opened.info.movedAside ? { movedAside: opened.info.movedAside } : {};
      this.pipeline.sinkSealed(this.chain.newEpoch(reason, reason === 'fresh' || reason === 'spool-reset' ? null : head, extra));
      log.info({ epoch: this.chain.head.epoch, reason }, 'new chain epoch');
    }
    if (rotation.announce) {
      ({ keys: this.keys } = await announceRotation({ stateDir: c.stateDir, old: this.keys, next: rotation.announce, path: this.path, spool: this.spool, log, reason: 'offline' }));
    }
    this.spool.setMeta('kid', this.keys.kid);
    this.pipeline.system('system.agent.start', 'notice', {
      version: VERSION,
      pid: process.pid,
      resumed: head && !reason ? { epoch: head.epoch, seq: head.seq } : null,
      drivers: drivers.map((d) => `${d.kind}:${d.id}`),
    });
    // Refusals a previous process counted while the spool could not write, never declared
    // (killed first): sealed again before anything here commits (agent/refusal-keeper.ts).
    this.path.declareLeftover((epoch, seq) => {
      const h = this.spool.head();
      if (h && h.epoch === epoch && h.seq >= seq) return true;
      return this.spool.readRange(epoch, seq, 1).some((r) => r.seq === seq && r.type === WRITE_FAILED_TYPE);
    });
    // Accepted events the spool could not keep whole are declared, never skipped silently.
    if (opened.info.lostPayloads) this.pipeline.onDropped(opened.info.lostPayloads, 'payload-missing');
    // Drops a previous process committed but died before declaring (spool pending_drops).
    for (const p of opened.info.pendingDrops ?? []) this.pipeline.onDropped(p.ranges, p.reason);
    this.pipeline.startTimers();
    if (c.correlate.enabled) {
      const corr = createCorrelator({
        rules: rulesFromConfig(c.correlate),
        assets: c.correlate.assets,
        log: log.child({ part: 'correlate' }),
        clock: this.clock,
        stateDir: c.stateDir,
        emit: (o) => this.pipeline.ingest('correlate', o),
      });
      this.pipeline.addListener(corr.listener);
      this.correlator = corr;
    }

    const keysOf = (): GatewayKeys => this.keys;
    this.forwarder = new Forwarder({
      mqtt: c.mqtt,
      site: c.site,
      gw: c.gateway,
      spool: this.spool,
      log: log.child({ part: 'mqtt' }),
      // Getters: a key rotation changes what the next birth message names.
      identity: { get kid() { return keysOf().kid; }, get pubkey() { return keysOf().pubkey; }, version: VERSION, epoch: () => this.committedHead().epoch || this.chain.head.epoch },
      signedHead: () => signedHeadPayload({ site: c.site, gw: c.gateway, head: this.spool.head(), kid: this.keys.kid, privateKey: this.keys.privateKey, now: this.clock.now() }),
      health: () => this.healthSnapshot(),
      password: c.mqtt.passwordFile ? readFileSync(c.mqtt.passwordFile, 'utf8').trim() : c.mqtt.password,
    });
    this.forwarder.start();

    this.supervisor = new Supervisor({
      log,
      stateDir: c.stateDir,
      clock: this.clock,
      emit: (driver, obs) => this.pipeline.ingest(driver, obs),
    });
    this.devices = new DeviceStatePublisher({ supervisor: this.supervisor, forwarder: this.forwarder });
    // Doors decide locally, before any driver starts: a pipeline listener acting through the supervisor's command routing.
    if (c.access.enabled) {
      const publishAccess = (this.publishAccess = (): void => this.forwarder.publishDevice('access', { online: true, state: 'online', driver: 'access', instance: 'access', info: this.access?.engine.health() ?? {} }));
      this.access = startAccess({ config: c.access, stateDir: c.stateDir, pipeline: this.pipeline, route: (n, a, t) => this.supervisor.command(n, a, t), clock: this.clock, log: log.child({ part: 'access' }), onChange: publishAccess });
      publishAccess();
    }
    attachCommands({
      config: c, forwarder: this.forwarder, pipeline: this.pipeline, supervisor: this.supervisor, log: log.child({ part: 'commands' }), head: () => ({ ...this.committedHead() }),
      replay: { spool: this.spool, republish: (rows) => this.forwarder.republish(rows) },
      rotateKey: async () => ({ ...(await this.rotateKey('command')) }),
      running: () => this.loaded,
      ...(this.access ? { extra: this.access.builtins, evidenceArgs: this.access.evidenceArgs } : {}),
    });
    // netwatch runs under the supervisor like any driver (drivers/netwatch/): retried, reconciled on SIGHUP.
    await this.supervisor.startAll(supervisedInstances(this.loaded));
    this.devices.start();
    this.endpoints = await startFieldEndpoints({ daemon: this, config: c, source: this.loaded.source, log });

    const pruneEvery = 10 * 60_000;
    this.pruneTimer = setInterval(() => {
      try {
        const n = this.spool.prune();
        if (n > 0) log.debug({ pruned: n }, 'pruned sent events past retention');
      } catch (err) {
        log.error({ err }, 'spool prune failed');
      }
    }, pruneEvery);
    this.pruneTimer.unref();
    // The committed head (what health and status show), never the in-memory one: the
    // start records may still wait for their commit, and a seq only sealed can be re-issued.
    const committed = this.committedHead();
    log.info({ site: c.site, gw: c.gateway, kid: this.keys.kid, epoch: committed.epoch || this.chain.head.epoch, seq: committed.seq, hash: committed.hash, sealedSeq: this.chain.head.seq, drivers: drivers.length }, 'gatewarden running');
  }

  private epochReason(info: SpoolOpenInfo, head: ChainHead | null, storedKid: string | undefined): string | null {
    if (info.resetReason === 'corrupt') return 'spool-reset';
    if (!head || info.resetReason === 'fresh') return 'fresh';
    if (storedKid && storedKid !== this.keys.kid) return 'key-changed';
    if (this.keys.created) return 'key-installed';
    return null;
  }

  /**
   * The head of the last committed batch. Everything published (health, status, metrics,
   * ping) names this one, never the chain's in-memory head: a seq sealed but not committed
   * is re-issued with another body after a crash, so it must never have been shown.
   */
  /**
   * Rotate the gateway key now (control socket `key-rotate`, signed `key.rotate`):
   * key_rotated under the old key, a new epoch under the new one (agent/key-rotation.ts).
   */
  rotateKey(reason = 'operator'): Promise<KeyRotationResult> {
    const run = this.rotating.then(async () => {
      const r = await rotateNow({ stateDir: this.loaded.config.stateDir, keys: this.keys, path: this.path, spool: this.spool, log: this.o.log, reason });
      this.keys = r.keys;
      this.forwarder.announceBirth();
      return r.result;
    });
    this.rotating = run.catch(() => undefined);
    return run;
  }

  /** Technician override over the control socket (`gatewarden door unlock`), recorded as signed evidence. */
  get doorUnlock(): ((door: string, ms: number) => Promise<unknown>) | undefined {
    const a = this.access;
    return a ? (door, ms) => a.engine.unlock(door, ms, 'control-socket') : undefined;
  }

  committedHead(): ChainHead {
    return this.spool.head() ?? { epoch: '', seq: 0, hash: '' };
  }

  /** Spool writer and admission state (health `spool.write`, metrics). */
  spoolWriteHealth(): SpoolWriteHealth {
    const w = this.path.writer.writeState;
    const adm = this.path.admission;
    const r = this.path.reserve;
    return {
      state: w.state,
      since: w.since === null ? null : new Date(w.since).toISOString(),
      attempts: w.attempts,
      lastError: w.lastError,
      errorsTotal: w.errorsTotal,
      uncommitted: adm.uncommitted,
      maxBacklogEvents: adm.maxBacklogEvents,
      committedTotal: this.path.writer.committedCount,
      refusedTotal: adm.refusedTotal,
      refusedUndeclared: adm.pendingEpisode().count,
      refused: adm.totalsByDriverType().map((t) => ({ driver: t.driver, type: t.type, count: t.count, first: new Date(t.first).toISOString(), last: new Date(t.last).toISOString() })),
      reserve: r ? { bytes: r.bytes, held: r.held, releases: r.releases } : null,
    };
  }

  healthSnapshot(): Record<string, unknown> {
    const s = this.spool.stats();
    const mem = process.memoryUsage();
    return {
      ts: new Date(this.clock.now()).toISOString(),
      uptimeS: Math.round((this.clock.now() - this.started.getTime()) / 1000),
      rssBytes: mem.rss,
      head: this.committedHead(),
      ...(this.loaded.config.mqtt.platformAck.enabled ? { platformAck: this.forwarder?.status(0).platformAck ?? null } : {}),
      clockSync: this.clockSync(),
      ...(this.access ? { access: this.access.engine.health() } : {}),
      spool: {
        depth: s.depth,
        unsent: s.unsent,
        oldestUnsentAgeMs: s.oldestUnsentAgeMs,
        bytes: s.bytes,
        quotaBytes: s.quotaBytes,
        ...(s.effectiveQuotaBytes !== undefined ? { effectiveQuotaBytes: s.effectiveQuotaBytes } : {}),
        droppedEvents: s.droppedEvents,
        write: this.spoolWriteHealth(),
      },
      pipeline: { ...this.pipeline.counters },
      drivers: this.supervisor ? this.supervisor.status().map((d) => ({ id: d.id, kind: d.kind, state: d.state, errors: d.errors, rejected: d.rejected, refused: d.refused })) : [],
    };
  }

  /** Full spool statistics (control socket `spool-stats`, metrics). */
  spoolStats(): SpoolStats {
    return this.spool.stats();
  }

  /**
   * netwatch's checks for `gatewarden diag` beyond the supervisor's: while it is not running
   * (backoff after a failure), an unstarted netwatch's checks in this process's /proc view;
   * none when it runs (the supervisor's diagnose has them) or is off.
   */
  async netwatchDiagnose(): Promise<DiagnosticResult[]> {
    const c = this.loaded.config;
    if (!c.netwatch.enabled || this.supervisor.runningDriver(NETWATCH_INSTANCE_ID)) return [];
    return diagnoseNetwatch(unstartedNetwatch(c.netwatch, c.stateDir));
  }

  /** status().netwatch: the running driver's view; not running (backoff, failed) is blind. */
  private netwatchView(): NetwatchView | null {
    if (!this.loaded.config.netwatch.enabled) return null;
    const d = this.supervisor.runningDriver(NETWATCH_INSTANCE_ID);
    if (d instanceof NetwatchDriver) return d.view();
    const st = this.supervisor.status().find((s) => s.id === NETWATCH_INSTANCE_ID);
    const why = st ? `${st.state} after ${st.attempts} attempt(s)${st.lastError ? `: ${st.lastError}` : ''}` : 'not started';
    return { baselineLearned: false, blind: true, detail: `netwatch is not running (${why})` };
  }

  clockSyncState(): ClockSync {
    return this.clockSync();
  }

  /** Source and offset behind ts.sync (metrics). */
  clockSyncDetail(): ClockSyncDetail {
    return this.clockSync.detail();
  }

  status(): Record<string, unknown> {
    const nw = this.netwatchView();
    return {
      ...this.healthSnapshot(),
      forwarder: this.forwarder.status(),
      devices: this.supervisor.health(),
      lastReload: this.lastReload,
      ...(nw ? { netwatch: nw } : {}),
    };
  }

  /**
   * SIGHUP and `gatewarden reload` (control socket): re-read the config; apply what can
   * change at run time (log level, drivers). Reloads run one at a time; the outcome is
   * returned and kept for `status` (lastReload).
   */
  reload(): Promise<ReloadOutcome> {
    const run = this.reloading.then(() => this.doReload());
    this.reloading = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async doReload(): Promise<ReloadOutcome> {
    const at = new Date(this.clock.now()).toISOString();
    const config = this.loaded.source;
    if (!this.o.reloadConfig) return (this.lastReload = { at, ok: false, config, reason: 'this process cannot reload its config (no config file)' });
    let next: LoadedConfig;
    try {
      next = await this.o.reloadConfig();
    } catch (e) {
      this.o.log.error({ err: e }, 'reload rejected: config invalid; keeping the running config');
      this.pipeline.system('system.config.rejected', 'warning', { error: (e as Error).message.slice(0, 2000) });
      return (this.lastReload = { at, ok: false, config, reason: (e as Error).message });
    }
    const cur = this.loaded.config;
    const fixed = ['site', 'gateway', 'stateDir', 'spool', 'mqtt', 'chain'] as const;
    const needRestart: string[] = fixed.filter((k) => JSON.stringify(cur[k]) !== JSON.stringify(next.config[k]));
    // Doors and rules apply at once (docs/access.md "Reload"); enabled, database and cardKey wait for a restart.
    const acc = reloadAccess(cur.access, next.config.access);
    if (acc.needRestart) needRestart.push('access');
    const accessApplied = this.access && acc.changed.length > 0 ? acc.changed : [];
    this.o.log.level = next.config.log.level;
    const changes = await this.supervisor.reconcile(supervisedInstances(next));
    // No await from here to the reloaded event: every decision sealed after it used the new doors and rules, every one before it the old.
    if (this.access) {
      this.access.engine.reconfigure(acc.apply);
      this.publishAccess();
    }
    this.loaded = { ...next, config: { ...next.config, ...Object.fromEntries(fixed.map((k) => [k, cur[k]])), access: acc.apply } };
    this.pipeline.system('system.config.reloaded', 'notice', { ...changes, needRestart: [...needRestart], ...(accessApplied.length ? { access: [...accessApplied] } : {}) });
    this.o.log.info({ ...changes, needRestart, access: accessApplied }, needRestart.length ? 'config reloaded; some sections need a restart' : 'config reloaded');
    return (this.lastReload = { at, ok: true, config, needRestart: [...needRestart], changes });
  }

  /** Graceful stop: drivers → final events → flush → disconnect. Idempotent. */
  stop(reason: string, timeoutMs = 10_000): Promise<void> {
    this.stopping ??= this.doStop(reason, timeoutMs);
    return this.stopping;
  }

  private async doStop(reason: string, timeoutMs: number): Promise<void> {
    const log = this.o.log;
    const deadline = Date.now() + timeoutMs;
    log.info({ reason }, 'stopping');
    clearInterval(this.pruneTimer);
    await this.endpoints?.stop();
    this.devices?.stop();
    await this.supervisor?.stopAll();
    this.correlator?.stop();
    this.access?.engine.stop();
    if (this.pipeline) {
      this.pipeline.system('system.agent.stop', 'notice', { reason, uptimeS: Math.round((Date.now() - this.started.getTime()) / 1000) });
      this.pipeline.checkpoint('shutdown');
      this.pipeline.close();
    }
    await this.path?.close();
    await this.forwarder?.stop(Math.max(500, deadline - Date.now()));
    this.spool?.close();
    this.access?.store.close();
    this.stateLock?.release();
    log.info({ head: this.chain?.head }, 'stopped');
  }
}

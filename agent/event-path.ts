// The event path of docs/contracts.md §Pipeline from the chain to the spool, assembled in one place so the
// daemon and the benchmarks run exactly the same thing:
//   Pipeline (validate, correlate) → Chain (seq, prev, hash) → SigningStage (Ed25519 in a
//   worker thread) → SpoolWriter (group commit) → Spool.
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import { Chain, type ChainHead } from './chain/chain.js';
import type { GatewayKeys } from './chain/keys.js';
import type { ClockSync } from './events/types.js';
import { Pipeline } from './pipeline.js';
import { SigningStage } from './signing-stage.js';
import type { Spool } from './spool/types.js';
import { SpoolWriter, type WriteFailureEpisode } from './spool/writer.js';
import { SpoolAdmission, type RefusalSummary } from './admission.js';
import { isDiskFull, SpaceReserve } from './spool/reserve.js';
import type { JsonObject } from './events/types.js';
import { WRITE_FAILED_TYPE } from './events/declarations.js';
import { RefusalLedger } from './spool/refusal-ledger.js';
import { RefusalKeeper } from './refusal-keeper.js';

export interface EventPathOptions {
  site: string;
  gw: string;
  keys: GatewayKeys;
  head: ChainHead | null;
  clock: Clock;
  clockSync?: () => ClockSync;
  spool: Spool;
  batch: { maxEvents: number; maxDelayMs: number };
  checkpoint: { everyEvents: number; everySeconds: number };
  /** Sign in a worker thread (default) or inline on the main thread. */
  signingWorker: boolean;
  log: Logger;
  /** After each spool commit (the forwarder's cue). */
  onCommitted?: () => void;
  /** Sealed events allowed to wait uncommitted while the spool cannot write (`spool.maxBacklogEvents`). */
  maxBacklogEvents?: number;
  /** Ballast beside the spool, released when the filesystem is full (`spool.reserveBytes`). */
  reserve?: { dir: string; bytes: number };
  /** Directory of the refusal ledger `spool.refusals` (the spool's): refusals survive a crash. */
  ledgerDir?: string;
}

/** Default of `spool.maxBacklogEvents` (config/schema.ts holds the configured default). */
export const DEFAULT_MAX_BACKLOG_EVENTS = 10_000;
/** Announce-and-commit rounds a flush runs at most until no drop is owed (see flush). */
const MAX_DECLARE_ROUNDS = 32;
/** Tallies named one by one in a write-failure record; the rest are summed. */
const MAX_TALLIES_PER_RECORD = 64;

/** `data` of `system.spool.write_failed` (docs/events.schema.json). */
export function writeFailedData(ep: WriteFailureEpisode, refused: RefusalSummary, reserveReleased: boolean): JsonObject {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  const named = refused.byDriverType.slice(0, MAX_TALLIES_PER_RECORD);
  return {
    since: iso(ep.since),
    until: iso(ep.until),
    attempts: ep.attempts,
    error: { code: ep.error.code, message: ep.error.message.slice(0, 500) },
    reserveReleased,
    refused: {
      count: refused.count,
      first: iso(refused.first),
      last: iso(refused.last),
      byDriverType: named.map((t) => ({ driver: t.driver, type: t.type, count: t.count, first: iso(t.first), last: iso(t.last) })),
      omitted: refused.byDriverType.length - named.length,
    },
  };
}

export interface EventPath {
  chain: Chain;
  pipeline: Pipeline;
  writer: SpoolWriter;
  admission: SpoolAdmission;
  reserve: SpaceReserve | null;
  /** Everything ingested so far is committed (and drops it caused are announced). */
  flush(): Promise<void>;
  /** flush(), then stop the signing worker. */
  close(): Promise<void>;
  /**
   * Declare the refusals a previous process left in the ledger (sealed again with
   * `recovered`); call after the start records. `isCommitted` says whether the spool
   * holds a record the ledger names. Returns how many records were sealed.
   */
  declareLeftover(isCommitted: (epoch: string, seq: number) => boolean): number;
  /**
   * Seal a key rotation (agent/chain/chain.ts rotate): key_rotated under the current key,
   * then a new epoch under `next`. Accepted once flush() resolves.
   */
  rotateKey(next: GatewayKeys, reason?: string): void;
}

export function createEventPath(o: EventPathOptions): EventPath {
  const chain = new Chain({ site: o.site, gw: o.gw, keys: o.keys, head: o.head, clock: o.clock, clockSync: o.clockSync, deferSignatures: o.signingWorker });
  let pipeline!: Pipeline;
  const reserve = o.reserve && o.reserve.bytes > 0 ? new SpaceReserve({ ...o.reserve, log: o.log.child({ part: 'spool' }) }) : null;
  reserve?.ensure();
  let releasedThisEpisode = false;
  const opened = o.ledgerDir ? RefusalLedger.open(o.ledgerDir, o.log.child({ part: 'spool' })) : null;
  let keeper: RefusalKeeper | null = null;
  let restoreTimer: NodeJS.Timeout | undefined;
  const restoreReserve = (): void => {
    if (!reserve || reserve.held || restoreTimer) return;
    restoreTimer = setInterval(() => {
      if (writer.failing) return;
      if (reserve.ensure()) {
        clearInterval(restoreTimer);
        restoreTimer = undefined;
        o.log.info({ path: reserve.path, bytes: reserve.bytes }, 'spool reserve laid again');
      }
    }, 10_000);
    restoreTimer.unref();
  };
  const writer = new SpoolWriter({
    spool: o.spool,
    maxEvents: o.batch.maxEvents,
    maxDelayMs: o.batch.maxDelayMs,
    log: o.log.child({ part: 'spool' }),
    onCommitted: () => {
      keeper?.onCommitted();
      o.onCommitted?.();
    },
    onDropped: (ranges) => pipeline.onDropped(ranges),
    onError: (err) => {
      keeper?.onFailure();
      // The writer logs each failure itself, throttled (agent/log-throttle.ts); a second line here doubled them.
      if (reserve && isDiskFull(err) && reserve.release()) {
        releasedThisEpisode = true;
        o.log.error({ path: reserve.path, bytes: reserve.bytes }, 'filesystem full: spool reserve released to commit the backlog and declare the failure');
        writer.retryNow();
      }
    },
    onRecovered: (ep) => {
      // Writes succeed again: declare what was not accepted meanwhile (signed, evidence class).
      const data = writeFailedData(ep, admission.takeEpisode(), releasedThisEpisode);
      const sealed = pipeline.system(WRITE_FAILED_TYPE, 'alarm', data);
      keeper?.onDeclared(sealed, data);
      releasedThisEpisode = false;
      restoreReserve();
    },
  });
  const admission = new SpoolAdmission({
    maxBacklogEvents: o.maxBacklogEvents ?? DEFAULT_MAX_BACKLOG_EVENTS,
    uncommitted: () => pipeline.counters.sealed - writer.committedCount,
    failing: () => writer.failing,
  });
  const stage = o.signingWorker ? new SigningStage({ privateKey: o.keys.privateKey, next: writer, log: o.log.child({ part: 'signing' }) }) : null;
  pipeline = new Pipeline({ chain, sink: stage ?? writer, log: o.log.child({ part: 'pipeline' }), gw: o.gw, checkpoint: o.checkpoint, admission });
  if (opened) {
    keeper = new RefusalKeeper({
      ledger: opened.ledger,
      // The episode in progress as its record would declare it now.
      episodeData: () => {
        const w = writer.writeState;
        if (w.state !== 'failing' || w.since === null) return null;
        const err = w.lastError ?? { message: 'unknown', code: null };
        return writeFailedData({ since: w.since, until: Date.now(), attempts: w.attempts, error: err }, admission.pendingEpisode(), releasedThisEpisode);
      },
      episodeKey: () => `${admission.refusedTotal}/${writer.writeState.attempts}/${releasedThisEpisode}`,
      sealedCount: () => pipeline.counters.sealed,
      committedCount: () => writer.committedCount,
      log: o.log.child({ part: 'spool' }),
    });
  }
  const flush = async (): Promise<void> => {
    await stage?.flush();
    await writer.flush();
    // A flush may itself evict rows under quota, and the records declaring them may
    // evict more: announce until nothing is owed. It converges (docs/architecture.md
    // "Evidence classes and the quota"): a batch of declarations alone takes the headroom
    // before it evicts, an evicted event (hundreds of bytes) is declared in tens, and a
    // consolidation runs only when it at least halves the declarations. The bound is a
    // backstop: what is still owed then stays in pending_drops for the next start.
    let rounds = 0;
    for (; rounds < MAX_DECLARE_ROUNDS && pipeline.hasPendingDrops; rounds++) {
      pipeline.announceDrops();
      await stage?.flush();
      await writer.flush();
    }
    if (pipeline.hasPendingDrops) o.log.warn({ rounds }, 'drops still owed after the flush: kept in the spool (pending_drops), declared at the next start');
  };
  return {
    chain,
    pipeline,
    writer,
    admission,
    reserve,
    flush,
    rotateKey: (next, reason) => {
      stage?.addKey(next.privateKey);
      for (const e of chain.rotate(next, reason)) pipeline.sinkSealed(e);
    },
    declareLeftover: (isCommitted) => keeper?.recover(opened?.leftover ?? null, isCommitted, (data) => pipeline.system(WRITE_FAILED_TYPE, 'alarm', data)) ?? 0,
    close: async () => {
      clearInterval(restoreTimer);
      await flush();
      await stage?.close();
      keeper?.close();
    },
  };
}

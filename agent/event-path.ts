// The event path of DESIGN §1 from the chain to the spool, assembled in one place so the
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
import { SpoolWriter } from './spool/writer.js';

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
}

export interface EventPath {
  chain: Chain;
  pipeline: Pipeline;
  writer: SpoolWriter;
  /** Everything ingested so far is committed (and drops it caused are announced). */
  flush(): Promise<void>;
  /** flush(), then stop the signing worker. */
  close(): Promise<void>;
}

export function createEventPath(o: EventPathOptions): EventPath {
  const chain = new Chain({ site: o.site, gw: o.gw, keys: o.keys, head: o.head, clock: o.clock, clockSync: o.clockSync, deferSignatures: o.signingWorker });
  let pipeline!: Pipeline;
  const writer = new SpoolWriter({
    spool: o.spool,
    maxEvents: o.batch.maxEvents,
    maxDelayMs: o.batch.maxDelayMs,
    log: o.log.child({ part: 'spool' }),
    onCommitted: () => o.onCommitted?.(),
    onDropped: (ranges) => pipeline.onDropped(ranges),
    onError: (err) => o.log.error({ err }, 'spool write failed; batch kept in memory and retried'),
  });
  const stage = o.signingWorker ? new SigningStage({ privateKey: o.keys.privateKey, next: writer, log: o.log.child({ part: 'signing' }) }) : null;
  pipeline = new Pipeline({ chain, sink: stage ?? writer, log: o.log.child({ part: 'pipeline' }), gw: o.gw, checkpoint: o.checkpoint });
  const flush = async (): Promise<void> => {
    await stage?.flush();
    await writer.flush();
    // A flush may itself evict rows under quota: announce those too (bounded).
    for (let i = 0; i < 3 && pipeline.hasPendingDrops; i++) {
      pipeline.announceDrops();
      await stage?.flush();
      await writer.flush();
    }
  };
  return {
    chain,
    pipeline,
    writer,
    flush,
    close: async () => {
      await flush();
      await stage?.close();
    },
  };
}

// A real Pipeline (fresh epoch, sealed events collected in memory) with the correlator and
// its default rules listening, as the daemon wires them: for tests that need incidents.
import { pino } from 'pino';
import type { SealedEvent } from '../../agent/chain/chain.js';
import { correlateConfigSchema } from '../../agent/correlate/config.js';
import { createCorrelator, rulesFromConfig } from '../../agent/correlate/engine.js';
import { Pipeline } from '../../agent/pipeline.js';
import { systemClock } from '../../agent/clock.js';
import { testChain } from './chain.js';

export function correlatingPipeline(): { pipe: Pipeline; sunk: SealedEvent[]; corr: ReturnType<typeof createCorrelator> } {
  const chain = testChain();
  const sunk: SealedEvent[] = [];
  const pipe = new Pipeline({ chain, sink: { enqueue: (e) => sunk.push(e) }, log: pino({ level: 'silent' }), gw: 'gw-t', checkpoint: { everyEvents: 1000, everySeconds: 3600 } });
  pipe.sinkSealed(chain.newEpoch('fresh', null));
  const corr = createCorrelator({ rules: rulesFromConfig(correlateConfigSchema.parse({})), log: pino({ level: 'silent' }), clock: systemClock });
  pipe.addListener(corr.listener);
  return { pipe, sunk, corr };
}

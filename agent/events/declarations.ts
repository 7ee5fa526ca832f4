// Agent records that declare something about the chain itself rather than report an
// observation. Quota eviction keeps them (agent/spool/evict.ts), verifiers read them.
//   - system.chain.epoch / system.chain.checkpoint: where a chain starts, which head it reached;
//   - system.spool.overflow: accepted seqs that left the spool undelivered (exact ranges);
//   - system.spool.write_failed: observations refused *before* they got a seq while the
//     spool could not write (counts per driver and type, time window, the error). It
//     covers no seq, so no later record can re-declare it: it must never be evicted.

/** Type of the write-failure declaration (data: docs/events.schema.json). */
export const WRITE_FAILED_TYPE = 'system.spool.write_failed';

/** Every declaration type by name (`system.chain.*` also covers future chain types). */
export const DECLARATION_TYPES = ['system.chain.epoch', 'system.chain.checkpoint', 'system.spool.overflow', WRITE_FAILED_TYPE] as const;

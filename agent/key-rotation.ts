// Key rotation for the daemon (docs/architecture.md "Key rotation"). The sequence is
// built so that a crash at any point leaves either the old key with no trace of the
// rotation, or a prepared `next.pem` that the next start finishes:
//   1. prepareRotation: the new private key is written durably beside the current one;
//   2. the chain seals key_rotated (old key) and the new epoch (new key); the writer
//      commits both;
//   3. completeRotation: the old public key goes to keys/retired/, next.pem replaces the
//      current key file; the spool's `kid` meta and the birth message follow.
// At start, a `next.pem` whose kid already signs the committed head means step 2 was
// done (only step 3 is repeated); otherwise the rotation is announced then. The same
// path serves `gatewarden key rotate` while the daemon is down (it only does step 1).
import type { Logger } from 'pino';
import type { ChainHead } from './chain/chain.js';
import { completeRotation, loadPendingRotation, prepareRotation, type GatewayKeys } from './chain/keys.js';
import type { EventPath } from './event-path.js';
import type { Spool } from './spool/types.js';

export interface KeyRotationResult {
  oldKid: string;
  newKid: string;
  newPubkey: string;
  /** The epoch the new key began (its seq 1 is `system.chain.epoch`, reason key-rotated). */
  epoch: string;
}

/** kid of the committed head's event (null when the spool no longer holds it). */
export function committedKid(spool: Spool, head: ChainHead | null): string | null {
  if (!head || head.seq < 1) return null;
  const row = spool.readRange(head.epoch, head.seq, 1)[0];
  if (!row || row.seq !== head.seq) return null;
  try {
    const kid = (JSON.parse(row.payload) as { body?: { kid?: unknown } }).body?.kid;
    return typeof kid === 'string' ? kid : null;
  } catch {
    return null;
  }
}

/**
 * At start, before the chain exists: a pending rotation already committed (or with no
 * chain to announce it in) is completed here; one still to announce is returned.
 */
export function resolvePendingRotation(o: { stateDir: string; keys: GatewayKeys; spool: Spool; head: ChainHead | null; log: Logger }): { keys: GatewayKeys; announce: GatewayKeys | null } {
  const next = loadPendingRotation(o.stateDir);
  if (!next) return { keys: o.keys, announce: null };
  if (next.kid === o.keys.kid) {
    // next.pem equals the current key (an interrupted completion): only the file remains.
    return { keys: completeRotation(o.stateDir, o.keys, next), announce: null };
  }
  const signing = committedKid(o.spool, o.head) ?? o.spool.getMeta('kid') ?? null;
  if (!o.head || signing === next.kid) {
    const keys = completeRotation(o.stateDir, o.keys, next);
    if (o.head) o.spool.setMeta('kid', keys.kid);
    o.log.warn({ oldKid: o.keys.kid, newKid: keys.kid }, o.head ? 'key rotation completed (it was committed before the last stop)' : 'key rotation completed (no chain yet: the first epoch uses the new key)');
    return { keys, announce: null };
  }
  return { keys: o.keys, announce: next };
}

/** Seal, commit and complete a rotation to `next` (prepared with prepareRotation). */
export async function announceRotation(o: { stateDir: string; old: GatewayKeys; next: GatewayKeys; path: EventPath; spool: Spool; log: Logger; reason: string }): Promise<{ keys: GatewayKeys; result: KeyRotationResult }> {
  o.path.rotateKey(o.next, o.reason);
  await o.path.flush();
  const keys = completeRotation(o.stateDir, o.old, o.next);
  o.spool.setMeta('kid', keys.kid);
  const epoch = o.spool.head()?.epoch ?? '';
  o.log.warn({ oldKid: o.old.kid, newKid: keys.kid, epoch, reason: o.reason }, 'gateway key rotated: a new epoch began under the new key');
  return { keys, result: { oldKid: o.old.kid, newKid: keys.kid, newPubkey: keys.pubkey, epoch } };
}

/** A rotation while the daemon runs (control socket, `key.rotate` command). */
export async function rotateNow(o: { stateDir: string; keys: GatewayKeys; path: EventPath; spool: Spool; log: Logger; reason: string }): Promise<{ keys: GatewayKeys; result: KeyRotationResult }> {
  const next = prepareRotation(o.stateDir);
  return announceRotation({ stateDir: o.stateDir, old: o.keys, next, path: o.path, spool: o.spool, log: o.log, reason: o.reason });
}

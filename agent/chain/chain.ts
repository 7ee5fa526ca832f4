// Seals observations into the hash chain: seq + prev + epoch + kid + ts → JCS → Ed25519.
// Single-threaded by construction (one writer, docs/contracts.md §Pipeline): seal() is synchronous, so no
// two events can take the same seq. The head advances in memory here; the spool makes
// it durable in the same transaction as the events (see agent/spool).
import { randomUUID, randomBytes, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Clock } from '../clock.js';
import {
  EVENT_VERSION,
  familyOf,
  type ClockSync,
  type EventBody,
  type EventSource,
  type Family,
  type JsonObject,
  type Observation,
  type Severity,
} from '../events/types.js';
import type { GatewayKeys } from './keys.js';
import { hashJcs, jcs } from './jcs.js';

export interface ChainHead {
  epoch: string;
  /** Seq of the last sealed event (0 = nothing sealed yet in this epoch). */
  seq: number;
  /** base64url SHA-256 of the last body's JCS bytes ('' when seq is 0). */
  hash: string;
}

/** A sealed event with everything the spool stores beside the published payload. */
export interface SealedEvent {
  body: EventBody;
  /** '' while a deferred signature is pending (see ChainOptions.deferSignatures). */
  sig: string;
  /** The exact bytes published on MQTT: `{"body":…,"sig":…}`; '' while unsigned. */
  payload: string;
  hash: string;
  family: Family;
  /** JCS bytes of the body, kept only while the signature is pending. */
  unsigned?: { canonical: string; bytes: Buffer };
}

/** Completes a deferred event once its signature is known. */
export function completeSignature(e: SealedEvent, sig: string): void {
  if (!e.unsigned) return;
  e.sig = sig;
  e.payload = `{"body":${e.unsigned.canonical},"sig":"${sig}"}`;
  e.unsigned = undefined;
}

export interface ChainOptions {
  site: string;
  gw: string;
  keys: GatewayKeys;
  /** Head recovered from the spool; null starts a new epoch at the first seal. */
  head: ChainHead | null;
  clock: Clock;
  bootId?: string;
  clockSync?: () => ClockSync;
  /**
   * Leave signing to a later stage (agent/signing-stage.ts signs in a worker thread).
   * The chain links hashes of bodies, not signatures, so signatures can be computed in
   * parallel while seq/prev/hash stay strictly sequential here.
   */
  deferSignatures?: boolean;
}

export function newEpochId(): string {
  return randomBytes(9).toString('base64url');
}

export function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

export type SealInput = Observation & { driver: string };

export class Chain {
  private h: ChainHead;
  /** The signing identity; replaced by rotate() (a new key begins a new epoch). */
  private keys: GatewayKeys;
  private readonly bootId: string;
  private readonly clockSync: () => ClockSync;

  constructor(private readonly o: ChainOptions) {
    this.h = o.head ?? { epoch: '', seq: 0, hash: '' };
    this.keys = o.keys;
    this.bootId = o.bootId ?? readBootId();
    this.clockSync = o.clockSync ?? (() => 'none');
  }

  get head(): ChainHead {
    return { ...this.h };
  }

  get kid(): string {
    return this.keys.kid;
  }

  /** True when no epoch exists yet (fresh spool): the caller must announce one first. */
  get needsEpoch(): boolean {
    return this.h.epoch === '';
  }

  seal(input: SealInput): SealedEvent {
    if (this.h.epoch === '') throw new Error('chain has no epoch: call newEpoch() first');
    const src: EventSource = { ...(input.src ?? {}), driver: input.driver, device: input.device };
    const at = input.at ? input.at.getTime() : this.o.clock.now();
    const body: EventBody = {
      v: EVENT_VERSION,
      id: randomUUID(),
      site: this.o.site,
      gw: this.o.gw,
      kid: this.keys.kid,
      epoch: this.h.epoch,
      seq: this.h.seq + 1,
      prev: this.h.hash,
      ts: { wall: new Date(at).toISOString(), mono: this.o.clock.mono(), boot: this.bootId, sync: this.clockSync() },
      type: input.type,
      severity: input.severity,
      src,
      data: input.data,
    };
    const canonical = jcs(body);
    // One UTF-8 encoding serves both: the signature and the hash cover the same bytes.
    const bytes = Buffer.from(canonical);
    const hash = hashJcs(bytes);
    this.h = { epoch: body.epoch, seq: body.seq, hash };
    const family = familyOf(body.type);
    if (this.o.deferSignatures) return { body, sig: '', payload: '', hash, family, unsigned: { canonical, bytes } };
    const sig = sign(null, bytes, this.keys.privateKey).toString('base64url');
    // Field order in the payload is irrelevant to verification (verifiers re-canonicalize).
    return { body, sig, payload: `{"body":${canonical},"sig":"${sig}"}`, hash, family };
  }

  /**
   * Start a new epoch (new key, fresh or reset spool) and seal its announcement as seq 1:
   * `system.chain.epoch` naming the previous epoch and its head, so the platform can tell
   * a legitimate restart of the chain from a truncation.
   */
  newEpoch(reason: string, previous: ChainHead | null, extra: JsonObject = {}): SealedEvent {
    this.h = { epoch: newEpochId(), seq: 0, hash: '' };
    const prev: JsonObject | null = previous && previous.epoch ? { epoch: previous.epoch, seq: previous.seq, hash: previous.hash } : null;
    return this.seal({
      driver: 'agent',
      device: this.o.gw,
      type: 'system.chain.epoch',
      severity: 'notice' as Severity,
      data: { reason, previous: prev, kid: this.keys.kid, pubkey: this.keys.pubkey, ...extra },
    });
  }

  /**
   * Key rotation (docs/architecture.md "Key rotation"): the current epoch ends with
   * `system.chain.key_rotated`, sealed under the OLD key and naming the new public key;
   * then a new epoch begins under the NEW key, its announcement (`reason: key-rotated`)
   * naming the old epoch's head — the key_rotated event itself. A verifier that trusts
   * the old key learns the new one from a validly signed key_rotated, so a platform
   * follows the rotation without re-enrolment. Returns both events in chain order; with
   * deferred signatures the signing stage must know both keys (it signs by body.kid).
   */
  rotate(next: GatewayKeys, reason = 'operator'): SealedEvent[] {
    if (this.h.epoch === '') throw new Error('chain has no epoch: nothing to rotate away from');
    if (next.kid === this.keys.kid) throw new Error(`key rotation: the new key is the current key (kid ${next.kid})`);
    const oldKid = this.keys.kid;
    const ended = this.seal({
      driver: 'agent',
      device: this.o.gw,
      type: 'system.chain.key_rotated',
      severity: 'notice',
      data: { newKid: next.kid, newPubkey: next.pubkey, reason },
    });
    const previous = this.head;
    this.keys = next;
    return [ended, this.newEpoch('key-rotated', previous, { previousKid: oldKid })];
  }

  /** `system.chain.checkpoint`: repeats the head so a truncated tail is detectable. */
  checkpoint(reason: 'count' | 'interval' | 'shutdown' | 'start'): SealedEvent {
    const head: JsonObject = { epoch: this.h.epoch, seq: this.h.seq, hash: this.h.hash };
    return this.seal({ driver: 'agent', device: this.o.gw, type: 'system.chain.checkpoint', severity: 'info', data: { reason, head } });
  }
}

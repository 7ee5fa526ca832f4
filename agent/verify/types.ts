// The verifier's report: the shape the platform consumes (`verify --json` prints it as is).
// Findings are either defects (the chain is not intact: `ok` is false) or info (normal
// under MQTT QoS 1 delivery — that `strict` turns into failures).
import type { KeyObject } from 'node:crypto';

export const DEFECT_KINDS = [
  /** Signature does not verify with any given key (`reason`: bad-sig, unknown-kid, kid-mismatch). */
  'bad-signature',
  /** Line is not JSON. */
  'bad-json',
  /** JSON, but not a `{body, sig}` envelope of contract v1 (docs/contracts.md §Event). */
  'bad-envelope',
  /** Seq range absent inside the received span and not declared dropped. */
  'missing',
  /** body.prev is not the hash of the received predecessor (or not '' at seq 1). */
  'prev-mismatch',
  /** Two different validly signed bodies with the same epoch+seq. */
  'conflict',
  /** A checkpoint's head is not its own predecessor (epoch, seq − 1, prev hash). */
  'checkpoint-mismatch',
  /** The chain ends below a head that a signed event or `expectHead` attests. */
  'truncated',
  /** An attested head names a hash that differs from the received event at that seq,
   *  or a later epoch announcement closed this epoch below events that were received. */
  'head-mismatch',
] as const;

export const INFO_KINDS = [
  /** Exact re-deliveries (same body and sig), deduplicated. */
  'duplicate',
  /** Events that arrived after a higher seq of their epoch; sorted by seq. */
  'out-of-order',
  /** The stream starts mid-chain (first seq > 1) or the previous epoch is not in the input. */
  'joined-late',
  /** Seqs the spool quota dropped, named by a signed `system.spool.overflow` (docs/contracts.md §Spool). */
  'declared-drop',
] as const;

/** Info kinds that `strict` counts as failures. A declared drop is accounted, never strict. */
export const STRICT_KINDS: readonly FindingKind[] = ['duplicate', 'out-of-order', 'joined-late'];

export type DefectKind = (typeof DEFECT_KINDS)[number];
export type InfoKind = (typeof INFO_KINDS)[number];
export type FindingKind = DefectKind | InfoKind;

export interface Finding {
  kind: FindingKind;
  /** 'defect' makes the report fail; 'info' does only under `strict` (see STRICT_KINDS). */
  level: 'defect' | 'info';
  /** First seq concerned (absent for line-level findings such as bad-json). */
  seq?: number;
  /** Last seq of a range (missing, truncated, declared-drop). */
  to?: number;
  /** 1-based input line of the offending item, when there is one. */
  line?: number;
  /** Event ids involved (both ids for a conflict). */
  ids?: string[];
  /** How many events an aggregated finding stands for (duplicates, out-of-order, ranges). */
  count?: number;
  /** Sub-reason, e.g. bad-signature: 'bad-sig' | 'unknown-kid' | 'kid-mismatch'. */
  reason?: string;
  epoch?: string;
  detail: string;
}

export interface ChainReport {
  site: string;
  gw: string;
  epoch: string;
  /** Key ids of the validly signed events (normally exactly one per epoch). */
  kids: string[];
  /** Distinct validly signed events received. */
  count: number;
  /** Lowest / highest seq received (0 when none verified). */
  firstSeq: number;
  lastSeq: number;
  duplicates: number;
  outOfOrder: number;
  /** Seqs accounted for by declared overflow drops (not received, not defects). */
  declaredDropped: number;
  ok: boolean;
  /** Sorted by seq. */
  findings: Finding[];
}

export interface VerifyReport {
  /** True when no defect was found (and, under strict, no strict info finding). */
  ok: boolean;
  strict: boolean;
  /** The input was checked as complete from seq 1 (VerifyOptions.fromStart). */
  fromStart: boolean;
  /** Input items consumed (blank lines included, so line numbers match). */
  lines: number;
  /** Distinct validly signed events over all chains. */
  events: number;
  defects: number;
  infos: number;
  /** One entry per (site, gw, epoch), sorted by site, gw, then first appearance. */
  chains: ChainReport[];
  /** Findings not attributable to a chain (bad-json, bad-envelope, expectHead on an absent epoch). */
  findings: Finding[];
  /** Keys trusted because a validly signed `system.chain.key_rotated` named them (in input order). */
  learnedKeys: LearnedKey[];
}

/** A key the verifier learned from a key rotation: `fromKid` signed the announcement at `epoch`:`seq`. */
export interface LearnedKey {
  kid: string;
  pubkey: string;
  fromKid: string;
  epoch: string;
  seq: number;
}

export interface ExpectedHead {
  epoch: string;
  seq: number;
  hash?: string;
}

export interface VerifyOptions {
  /** base64url raw 32-byte keys (as the birth message `state.pubkey`), PEM text, or KeyObjects. */
  pubkeys: ReadonlyArray<KeyObject | string>;
  /** Fail on info findings that are normal under QoS 1 (re-deliveries, reordering, late join). */
  strict?: boolean;
  /** A head attested out of band, e.g. by the health topic (`--head EPOCH:SEQ[:HASH]`). */
  expectHead?: ExpectedHead;
  /**
   * The retained signed `head` message (`{body: {type: "head", …}, sig}`, JSON text or
   * parsed): its signature must verify with a given or learned key, then its head is
   * expected like `expectHead` (`verify --head-message FILE|-`); a bad one is a defect.
   */
  expectHeadMessage?: string | object;
  /**
   * The input is complete (an export of a spool that never delivered or pruned anything,
   * or a subscriber present from the start): every epoch must begin with its
   * `system.chain.epoch` at seq 1, every previous epoch an announcement names must be in
   * the input, and every seq from 1 up that is neither received nor declared dropped is a
   * `missing` defect (never a late join). `verify --from-start`.
   */
  fromStart?: boolean;
}

// The chain verifier: checks a stream of published `{body, sig}` events
// against the contract of docs/contracts.md §Event — signatures, seq continuity, prev links,
// checkpoints, epoch links — and reports per (site, gw, epoch). A library with no CLI
// dependencies: the platform calls verifyEvents()/createVerifier() directly.
//
// Per-event work happens in push() (parse, canonicalize, verify, record); the whole-chain
// checks run in finish() (analyze.ts). Exact re-deliveries are recognised before the
// signature check (same JCS hash and same sig as an already verified event), so
// QoS 1 duplicates cost one hash, not one Ed25519 verification.
import { createPublicKey, verify as edVerify, type KeyObject } from 'node:crypto';
import type { SignedEvent } from '../events/types.js';
import { hashJcs, jcs } from '../chain/jcs.js';
import { kidOf, parsePublicKey, rawPublicKey } from '../chain/keys.js';
import { readDropped, readEnvelope, readHeadRef } from './envelope.js';
import { checkSignedHead } from './head.js';
import { analyzeGroup, findingsOk, newGroup, short, type Entry, type Group } from './analyze.js';
import { fmtRange, mergeRanges, rangeLen, splitRange } from './ranges.js';
import type { ChainReport, ExpectedHead, Finding, LearnedKey, VerifyOptions, VerifyReport } from './types.js';

export interface Verifier {
  /** Feed one JSONL line (blank lines are skipped but counted) or one parsed event. */
  push(item: string | SignedEvent): void;
  /** Run the whole-chain checks and return the report. Further push() calls throw. */
  finish(): VerifyReport;
}

interface PendingAttestation {
  site: string;
  gw: string;
  epoch: string;
  seq: number;
  hash: string;
  /** Group of the announcing event, to note an absent previous epoch there. */
  from: Group;
  source: string;
}

const SEP = '\u0000';

/** Events signed by a kid not (yet) trusted, held until a key rotation names it or finish(). */
const MAX_DEFERRED = 200_000;

interface Deferred {
  event: SignedEvent;
  canonical: string;
  hash: string;
  line: number;
}

/** Ed25519 public keys by kid; throws (naming the key) on an unusable key. */
export function keyring(pubkeys: ReadonlyArray<KeyObject | string>): Map<string, KeyObject> {
  const out = new Map<string, KeyObject>();
  pubkeys.forEach((k, i) => {
    let key: KeyObject;
    try {
      key = typeof k === 'string' ? parsePublicKey(k) : k.type === 'private' ? createPublicKey(k) : k;
    } catch (e) {
      throw new Error(`public key #${i + 1}: ${(e as Error).message}`);
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`public key #${i + 1}: expected ed25519 (got ${key.asymmetricKeyType})`);
    out.set(kidOf(rawPublicKey(key)), key);
  });
  return out;
}

export function createVerifier(opts: VerifyOptions): Verifier {
  const keys = keyring(opts.pubkeys);
  if (keys.size === 0) throw new Error('at least one public key is required');
  const strict = opts.strict ?? false;
  const fromStart = opts.fromStart ?? false;
  const groups = new Map<string, Group>();
  const top: Finding[] = [];
  const pending: PendingAttestation[] = [];
  /** Declared drops by the epoch they name (site/gw of the overflow event). */
  const declared = new Map<string, { ranges: { from: number; to: number }[]; at: Group }>();
  let line = 0;
  let done = false;
  /** Keys learned from validly signed `system.chain.key_rotated` events, in order. */
  const learned: LearnedKey[] = [];
  const deferred: Deferred[] = [];

  const groupOf = (site: string, gw: string, epoch: string): Group => {
    const k = site + SEP + gw + SEP + epoch;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = newGroup(site, gw, epoch, groups.size)));
    return g;
  };

  const checkSig = (canonical: string, kid: string, sig: string): { ok: true } | { ok: false; reason: string; detail: string } => {
    const msg = Buffer.from(canonical);
    const sigBuf = Buffer.from(sig, 'base64url');
    const key = keys.get(kid);
    if (key) {
      if (edVerify(null, msg, key, sigBuf)) return { ok: true };
      return { ok: false, reason: 'bad-sig', detail: `signature does not verify with the key of kid ${kid}: body modified or signed by another key` };
    }
    for (const [k, other] of keys) {
      if (edVerify(null, msg, other, sigBuf)) {
        return { ok: false, reason: 'kid-mismatch', detail: `signed by the key of kid ${k} but body.kid says ${kid}` };
      }
    }
    return { ok: false, reason: 'unknown-kid', detail: `kid ${kid} matches none of the ${keys.size} given key(s) and no given key verifies the signature` };
  };

  function push(item: string | SignedEvent): void {
    if (done) throw new Error('verifier already finished');
    line++;
    if (typeof item === 'string' && item.trim() === '') return;
    const env = readEnvelope(item);
    if (!env.ok) {
      top.push({ kind: env.kind, level: 'defect', line, ...(env.seq === undefined ? {} : { seq: env.seq }), detail: `line ${line}: ${env.detail}` });
      return;
    }
    const { body } = env.event;
    let canonical: string;
    try {
      canonical = jcs(body);
    } catch (e) {
      top.push({ kind: 'bad-envelope', level: 'defect', line, detail: `line ${line}: body cannot be canonicalized (${(e as Error).message})` });
      return;
    }
    accept(env.event, canonical, hashJcs(canonical), line, true);
  }

  /**
   * One parsed event. `mayDefer`: an event whose kid is not trusted yet waits (a key
   * rotation later in the input may name its key, docs/architecture.md "Key rotation");
   * finish() checks what is left without deferring.
   */
  function accept(event: SignedEvent, canonical: string, hash: string, line: number, mayDefer: boolean): void {
    const { body, sig } = event;
    const g = groupOf(body.site, body.gw, body.epoch);
    const seq = body.seq;
    const existing = g.events.get(seq);
    const same = (e: Entry): boolean => e.hash === hash;
    if (existing && (same(existing) || (g.alts.get(seq) ?? []).some(same))) {
      // Identical canonical body: a re-delivery. Ed25519 is deterministic, so a valid
      // re-delivery carries the same sig; a different sig is checked like any other.
      const prior = same(existing) ? existing : (g.alts.get(seq) ?? []).find(same)!;
      if (prior.sig === sig || checkSig(canonical, body.kid, sig).ok) {
        if (g.duplicates++ === 0) g.firstDupSeq = seq;
        return;
      }
    }
    const v = checkSig(canonical, body.kid, sig);
    if (!v.ok && v.reason === 'unknown-kid' && mayDefer && deferred.length < MAX_DEFERRED) {
      deferred.push({ event, canonical, hash, line });
      return;
    }
    if (!v.ok) {
      if (!existing) g.rejected.add(seq);
      g.findings.push({ kind: 'bad-signature', level: 'defect', seq, line, ids: [body.id], reason: v.reason, epoch: body.epoch, detail: `seq ${seq} (line ${line}): ${v.detail}` });
      return;
    }
    g.kids.add(body.kid);
    const entry: Entry = { id: body.id, hash, prev: body.prev, sig, line, checkpoint: body.type === 'system.chain.checkpoint', announcesEpoch: body.type === 'system.chain.epoch' };
    if (existing) {
      const alts = g.alts.get(seq) ?? [];
      alts.push(entry);
      g.alts.set(seq, alts);
      g.findings.push({
        kind: 'conflict', level: 'defect', seq, line, ids: [existing.id, body.id], epoch: body.epoch,
        detail: `two different signed bodies at seq ${seq}: id ${existing.id} (line ${existing.line}) and id ${body.id} (line ${line})`,
      });
      return;
    }
    g.events.set(seq, entry);
    g.rejected.delete(seq);
    if (seq < g.maxSeq) {
      if (g.outOfOrder++ === 0) g.firstOooSeq = seq;
    } else g.maxSeq = seq;
    semantics(g, entry, event, seq);
  }

  /** A validly signed key_rotated names the next key: trust it and retry what waited for it. */
  function learnKey(g: Group, entry: Entry, body: SignedEvent['body'], seq: number): void {
    const { newKid, newPubkey } = body.data;
    let key: KeyObject;
    try {
      if (typeof newKid !== 'string' || typeof newPubkey !== 'string') throw new Error('data.newKid and data.newPubkey must be strings');
      key = parsePublicKey(newPubkey);
      if (kidOf(rawPublicKey(key)) !== newKid) throw new Error(`data.newKid ${newKid} is not the kid of data.newPubkey`);
    } catch (e) {
      g.findings.push({ kind: 'bad-envelope', level: 'defect', seq, line: entry.line, ids: [body.id], detail: `seq ${seq}: key rotation: ${(e as Error).message}` });
      return;
    }
    if (!keys.has(newKid)) {
      keys.set(newKid, key);
      learned.push({ kid: newKid, pubkey: newPubkey, fromKid: body.kid, epoch: body.epoch, seq });
    }
    const waiting = deferred.filter((d) => d.event.body.kid === newKid);
    if (waiting.length === 0) return;
    for (let i = deferred.length - 1; i >= 0; i--) if (deferred[i].event.body.kid === newKid) deferred.splice(i, 1);
    for (const d of waiting) accept(d.event, d.canonical, d.hash, d.line, true);
  }

  /** Type-specific claims of signed system events (docs/contracts.md §Event, §Spool). */
  function semantics(g: Group, entry: Entry, ev: SignedEvent, seq: number): void {
    const { body } = ev;
    const bad = (kind: 'checkpoint-mismatch' | 'bad-envelope', detail: string): void => {
      g.findings.push({ kind, level: 'defect', seq, line: entry.line, ids: [body.id], detail: `seq ${seq}: ${detail}` });
    };
    if (body.type === 'system.chain.checkpoint') {
      const h = readHeadRef(body.data.head);
      if (!h) return bad('checkpoint-mismatch', 'checkpoint without a valid data.head {epoch, seq, hash}');
      // The checkpoint repeats the head *before* it, so it is exactly its own predecessor.
      const wrong: string[] = [];
      if (h.epoch !== body.epoch) wrong.push(`epoch ${h.epoch} ≠ ${body.epoch}`);
      if (h.seq !== seq - 1) wrong.push(`seq ${h.seq} ≠ ${seq - 1}`);
      if (h.hash !== body.prev) wrong.push(`hash ${short(h.hash)} ≠ prev ${short(body.prev)}`);
      if (wrong.length > 0) bad('checkpoint-mismatch', `checkpoint head disagrees with the chain: ${wrong.join(', ')}`);
    } else if (body.type === 'system.chain.epoch') {
      const p = body.data.previous;
      if (p === null || p === undefined) return;
      const h = readHeadRef(p);
      if (!h) return bad('bad-envelope', 'epoch announcement with a malformed data.previous');
      if (h.epoch === body.epoch) return bad('bad-envelope', 'epoch announcement names its own epoch as previous');
      pending.push({ site: body.site, gw: body.gw, epoch: h.epoch, seq: h.seq, hash: h.hash, from: g, source: `the announcement of epoch ${body.epoch} (line ${entry.line})` });
    } else if (body.type === 'system.chain.key_rotated') {
      learnKey(g, entry, body, seq);
    } else if (body.type === 'system.spool.overflow') {
      const d = readDropped(body);
      if (!d) return bad('bad-envelope', 'overflow event without a valid data.dropped [{epoch, from, to}]');
      for (const r of d) {
        const k = body.site + SEP + body.gw + SEP + r.epoch;
        const slot = declared.get(k) ?? { ranges: [], at: g };
        slot.ranges.push({ from: r.from, to: r.to });
        declared.set(k, slot);
      }
    }
  }

  function finish(): VerifyReport {
    if (done) throw new Error('verifier already finished');
    done = true;
    // What never found its key: checked now, reported as unknown-kid.
    for (const d of deferred.splice(0)) accept(d.event, d.canonical, d.hash, d.line, false);
    for (const p of pending) {
      const g = groups.get(p.site + SEP + p.gw + SEP + p.epoch);
      if (g) g.attested.push({ seq: p.seq, hash: p.hash, source: p.source, closes: true });
      else if (fromStart) {
        // Complete input: the epoch this one continues must be here, or every seq of it declared.
        const slot = declared.get(p.site + SEP + p.gw + SEP + p.epoch);
        for (const r of p.seq > 0 ? splitRange({ from: 1, to: p.seq }, mergeRanges(slot?.ranges ?? [])).rest : []) {
          p.from.findings.push({ kind: 'missing', level: 'defect', seq: r.from, to: r.to, count: rangeLen(r), epoch: p.epoch, detail: `previous epoch ${p.epoch} ${fmtRange(r)} missing: ${p.source} names its head seq ${p.seq}, and the input is said to start at the start` });
        }
      } else {
        p.from.findings.push({ kind: 'joined-late', level: 'info', seq: 1, epoch: p.epoch, detail: `previous epoch ${p.epoch} (head seq ${p.seq}) is not in the input` });
      }
    }
    for (const [k, slot] of declared) {
      const g = groups.get(k);
      if (g) g.declared.push(...slot.ranges);
      else {
        const epoch = k.split(SEP)[2];
        for (const r of slot.ranges) {
          slot.at.findings.push({ kind: 'declared-drop', level: 'info', seq: r.from, to: r.to, count: r.to - r.from + 1, epoch, detail: `epoch ${epoch} seqs ${r.from}–${r.to} left the spool undelivered (declared; epoch not in input)` });
        }
      }
    }
    if (opts.expectHead) attestExpected(opts.expectHead);
    if (opts.expectHeadMessage !== undefined) {
      const h = checkSignedHead(opts.expectHeadMessage, keys);
      if (h.ok) attestExpected(h.head, `the signed head ${h.head.epoch}:${h.head.seq} (kid ${h.kid}, ${h.ts})`);
      else top.push({ kind: 'bad-signature', level: 'defect', reason: 'head-message', detail: `expected head refused: ${h.detail}` });
    }
    const chains: ChainReport[] = [...groups.values()]
      .sort((a, b) => cmp(a.site, b.site) || cmp(a.gw, b.gw) || a.order - b.order)
      .map((g) => analyzeGroup(g, strict, fromStart));
    const all = [...top, ...chains.flatMap((c) => c.findings)];
    return {
      ok: chains.every((c) => c.ok) && findingsOk(top, strict),
      strict,
      fromStart,
      lines: line,
      events: chains.reduce((n, c) => n + c.count, 0),
      defects: all.filter((x) => x.level === 'defect').length,
      infos: all.filter((x) => x.level === 'info').length,
      chains,
      findings: top,
      learnedKeys: learned,
    };
  }

  function attestExpected(h: ExpectedHead, source = `the expected head ${h.epoch}:${h.seq}`): void {
    const matching = [...groups.values()].filter((g) => g.epoch === h.epoch);
    for (const g of matching) g.attested.push({ seq: h.seq, ...(h.hash ? { hash: h.hash } : {}), source, closes: false });
    if (matching.length === 0 && h.seq > 0) {
      top.push({ kind: 'truncated', level: 'defect', seq: 1, to: h.seq, count: h.seq, epoch: h.epoch, detail: `no event of epoch ${h.epoch} received, but ${source} attests seqs 1–${h.seq}` });
    }
  }

  return { push, finish };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Verifies a whole stream at once; see createVerifier for incremental input. */
export function verifyEvents(lines: Iterable<string | SignedEvent>, opts: VerifyOptions): VerifyReport {
  const v = createVerifier(opts);
  for (const l of lines) v.push(l);
  return v.finish();
}

// The whole-chain checks, run once per (site, gw, epoch) after all input is read:
// seq continuity, prev links, attested heads (truncation), declared drops. One sort of
// the received seqs, then linear scans — no O(n²) work on files of a few 100k lines.
import { STRICT_KINDS, type ChainReport, type Finding } from './types.js';
import { fmtRange, mergeRanges, rangeLen, splitRange, type Range } from './ranges.js';

/** What is kept per received, validly signed event (not the body: memory stays small). */
export interface Entry {
  id: string;
  hash: string;
  prev: string;
  sig: string;
  line: number;
  checkpoint: boolean;
  /** A `system.chain.epoch` (the event every epoch begins with, at seq 1). */
  announcesEpoch: boolean;
}

/** A head that something trusted attests for an epoch. */
export interface Attestation {
  seq: number;
  /** Hash of the body at `seq`, when the attestation names one. */
  hash?: string;
  /** Human description of who attests it, e.g. "epoch X announcement (line 12)". */
  source: string;
  /** A later epoch announcement closes the epoch: nothing beyond `seq` may exist. */
  closes: boolean;
}

export interface Group {
  site: string;
  gw: string;
  epoch: string;
  order: number;
  kids: Set<string>;
  events: Map<number, Entry>;
  /** Further, different bodies at an already-taken seq (each already reported as conflict). */
  alts: Map<number, Entry[]>;
  /** Seqs where only events with a failing signature arrived. */
  rejected: Set<number>;
  maxSeq: number;
  duplicates: number;
  firstDupSeq: number;
  outOfOrder: number;
  firstOooSeq: number;
  findings: Finding[];
  attested: Attestation[];
  declared: Range[];
}

export function newGroup(site: string, gw: string, epoch: string, order: number): Group {
  return {
    site, gw, epoch, order,
    kids: new Set(), events: new Map(), alts: new Map(), rejected: new Set(),
    maxSeq: 0, duplicates: 0, firstDupSeq: 0, outOfOrder: 0, firstOooSeq: 0,
    findings: [], attested: [], declared: [],
  };
}

export const short = (h: string): string => (h === '' ? "''" : h.slice(0, 12) + '…');

function hashesAt(g: Group, seq: number): string[] {
  const e = g.events.get(seq);
  if (!e) return [];
  return [e.hash, ...(g.alts.get(seq) ?? []).map((a) => a.hash)];
}

/**
 * `fromStart`: the input claims to be complete (VerifyOptions.fromStart), so what lies
 * before the first received seq is missing, not a late join, and seq 1 must be the
 * epoch's announcement.
 */
export function analyzeGroup(g: Group, strict: boolean, fromStart = false): ChainReport {
  const f = g.findings;
  const seqs = [...g.events.keys()].sort((a, b) => a - b);
  const rejected = [...g.rejected].filter((s) => !g.events.has(s));
  const declared = mergeRanges(g.declared);
  // Rejected seqs are already reported as bad-signature; counting them missing again would double-report.
  const excluded = mergeRanges([...declared, ...rejected.map((s) => ({ from: s, to: s }))]);
  const firstAny = rejected.reduce((m, s) => Math.min(m, s), seqs[0] ?? Infinity);
  const lastAny = rejected.reduce((m, s) => Math.max(m, s), seqs[seqs.length - 1] ?? 0);

  if (fromStart) {
    checkStart(g, f, firstAny, declared);
  } else if (seqs.length > 0 && firstAny > 1) {
    const { rest } = splitRange({ from: 1, to: firstAny - 1 }, declared);
    if (rest.length > 0) {
      f.push({ kind: 'joined-late', level: 'info', seq: firstAny, detail: `joined at seq ${firstAny}: its prev cannot be checked` });
    }
  }

  for (let i = 0; i < seqs.length; i++) {
    const s = seqs[i];
    const e = g.events.get(s)!;
    if (s === 1 && e.prev !== '') {
      f.push({ kind: 'prev-mismatch', level: 'defect', seq: s, line: e.line, ids: [e.id], detail: `seq 1 must have prev '' (got ${short(e.prev)})` });
    } else if (s > 1 && g.events.has(s - 1) && !hashesAt(g, s - 1).includes(e.prev)) {
      f.push({
        kind: 'prev-mismatch', level: 'defect', seq: s, line: e.line, ids: [e.id],
        detail: `prev ${short(e.prev)} is not the hash of seq ${s - 1} (${short(g.events.get(s - 1)!.hash)}): seq ${s - 1} was modified or replaced`,
      });
    }
    if (i > 0 && s > seqs[i - 1] + 1) {
      const gap = { from: seqs[i - 1] + 1, to: s - 1 };
      // A gap closed by the epoch's last received event being a checkpoint is a cut tail
      // whose attestation survived: the checkpoint proves the chain reached s − 1.
      const tail = e.checkpoint && i === seqs.length - 1 && s >= lastAny;
      for (const r of splitRange(gap, excluded).rest) {
        f.push(
          tail
            ? { kind: 'truncated', level: 'defect', seq: r.from, to: r.to, count: rangeLen(r), detail: `${fmtRange(r)} missing before the checkpoint at seq ${s}, which attests head ${s - 1}` }
            : { kind: 'missing', level: 'defect', seq: r.from, to: r.to, count: rangeLen(r), detail: `${fmtRange(r)} missing (${rangeLen(r)} event${rangeLen(r) === 1 ? '' : 's'})` },
        );
      }
    }
  }

  if (seqs.length > 0 || rejected.length > 0) {
    const last = seqs[seqs.length - 1] ?? 0;
    let top: Attestation | null = null;
    for (const a of g.attested) {
      if (!top || a.seq > top.seq) top = a;
      if (a.hash !== undefined && a.seq > 0 && g.events.has(a.seq) && !hashesAt(g, a.seq).includes(a.hash)) {
        f.push({ kind: 'head-mismatch', level: 'defect', seq: a.seq, detail: `${a.source} names hash ${short(a.hash)} for seq ${a.seq}, received ${short(g.events.get(a.seq)!.hash)}` });
      }
      if (a.closes && last > a.seq) {
        f.push({ kind: 'head-mismatch', level: 'defect', seq: a.seq + 1, to: last, detail: `${a.source} closed this epoch at seq ${a.seq}, yet seqs up to ${last} were received (forked chain)` });
      }
    }
    if (top && top.seq > lastAny) {
      for (const r of splitRange({ from: lastAny + 1, to: top.seq }, declared).rest) {
        f.push({ kind: 'truncated', level: 'defect', seq: r.from, to: r.to, count: rangeLen(r), detail: `${fmtRange(r)} missing: chain ends at seq ${lastAny} but ${top.source} attests head ${top.seq}` });
      }
    }
  }

  let declaredDropped = 0;
  for (const r of declared) {
    declaredDropped += rangeLen(r);
    f.push({ kind: 'declared-drop', level: 'info', seq: r.from, to: r.to, count: rangeLen(r), detail: `${fmtRange(r)} left the spool undelivered (declared by system.spool.overflow)` });
  }
  if (g.duplicates > 0) {
    f.push({ kind: 'duplicate', level: 'info', seq: g.firstDupSeq, count: g.duplicates, detail: `${g.duplicates} exact re-deliver${g.duplicates === 1 ? 'y' : 'ies'} deduplicated (first at seq ${g.firstDupSeq})` });
  }
  if (g.outOfOrder > 0) {
    f.push({ kind: 'out-of-order', level: 'info', seq: g.firstOooSeq, count: g.outOfOrder, detail: `${g.outOfOrder} event${g.outOfOrder === 1 ? '' : 's'} arrived after a higher seq (first: seq ${g.firstOooSeq}); sorted by seq` });
  }

  f.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  return {
    site: g.site,
    gw: g.gw,
    epoch: g.epoch,
    kids: [...g.kids],
    count: g.events.size,
    firstSeq: seqs[0] ?? 0,
    lastSeq: seqs[seqs.length - 1] ?? 0,
    duplicates: g.duplicates,
    outOfOrder: g.outOfOrder,
    declaredDropped,
    ok: findingsOk(f, strict),
    findings: f,
  };
}

/** From the start: seq 1 is the epoch announcement, and nothing before the first seq is unaccounted for. */
function checkStart(g: Group, f: Finding[], firstAny: number, declared: Range[]): void {
  const first = g.events.get(1);
  if (first && !first.announcesEpoch) {
    f.push({ kind: 'bad-envelope', level: 'defect', seq: 1, line: first.line, ids: [first.id], detail: 'seq 1 is not a system.chain.epoch: every epoch begins with its announcement' });
  }
  if (!first && !g.rejected.has(1)) {
    const dropped = splitRange({ from: 1, to: 1 }, declared).covered.length > 0;
    f.push({
      kind: 'missing', level: 'defect', seq: 1, count: 1,
      detail: `seq 1 (the epoch's system.chain.epoch announcement) missing${dropped ? ', though declared dropped: it must never leave the spool' : ''}: the input does not start at the start`,
    });
  }
  if (firstAny > 2 && firstAny !== Infinity) {
    for (const r of splitRange({ from: 2, to: firstAny - 1 }, declared).rest) {
      f.push({ kind: 'missing', level: 'defect', seq: r.from, to: r.to, count: rangeLen(r), detail: `${fmtRange(r)} missing before the first received seq ${firstAny}, and not declared dropped` });
    }
  }
}

export function findingsOk(fs: readonly Finding[], strict: boolean): boolean {
  return !fs.some((x) => x.level === 'defect' || (strict && STRICT_KINDS.includes(x.kind)));
}

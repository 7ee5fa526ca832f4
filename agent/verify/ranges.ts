// Inclusive integer ranges of seqs: merging declared drops and carving them out of gaps.

export interface Range {
  from: number;
  to: number;
}

/** Sorts and merges overlapping or adjacent ranges. */
export function mergeRanges(rs: Range[]): Range[] {
  const s = [...rs].sort((a, b) => a.from - b.from || a.to - b.to);
  const out: Range[] = [];
  for (const r of s) {
    const last = out[out.length - 1];
    if (last && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else out.push({ from: r.from, to: r.to });
  }
  return out;
}

/**
 * Splits `r` against merged, sorted `excluded` ranges: the parts outside (`rest`) and
 * the parts inside (`covered`). Binary search for the first candidate keeps a whole
 * chain's gap scan O(g log d).
 */
export function splitRange(r: Range, excluded: readonly Range[]): { rest: Range[]; covered: Range[] } {
  const rest: Range[] = [];
  const covered: Range[] = [];
  let lo = 0;
  let hi = excluded.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (excluded[mid].to < r.from) lo = mid + 1;
    else hi = mid;
  }
  let cur = r.from;
  for (let i = lo; i < excluded.length && excluded[i].from <= r.to; i++) {
    const e = excluded[i];
    if (e.from > cur) rest.push({ from: cur, to: e.from - 1 });
    const cFrom = Math.max(cur, e.from);
    const cTo = Math.min(r.to, e.to);
    if (cFrom <= cTo) covered.push({ from: cFrom, to: cTo });
    cur = Math.max(cur, e.to + 1);
    if (cur > r.to) break;
  }
  if (cur <= r.to) rest.push({ from: cur, to: r.to });
  return { rest, covered };
}

export const rangeLen = (r: Range): number => r.to - r.from + 1;

export function fmtRange(r: Range): string {
  return r.from === r.to ? `seq ${r.from}` : `seqs ${r.from}–${r.to}`;
}

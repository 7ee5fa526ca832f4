// Human rendering of a VerifyReport (`gatewarden verify` without --json): one line per
// gateway/epoch with a verdict and counts, then each finding with its seq.
import { STRICT_KINDS, type ChainReport, type Finding, type VerifyReport } from './types.js';

function marker(f: Finding, strict: boolean): string {
  if (f.level === 'defect') return 'DEFECT';
  return strict && STRICT_KINDS.includes(f.kind) ? 'STRICT' : 'info  ';
}

function where(f: Finding): string {
  if (f.seq === undefined) return f.line !== undefined ? `line ${f.line}` : '';
  return f.to !== undefined && f.to !== f.seq ? `seq ${f.seq}–${f.to}` : `seq ${f.seq}`;
}

function findingLine(f: Finding, strict: boolean): string {
  const reason = f.reason ? ` (${f.reason})` : '';
  const ids = f.kind === 'conflict' && f.ids ? ` [ids ${f.ids.join(', ')}]` : '';
  return `    ${marker(f, strict)} ${f.kind}${reason} ${where(f)}: ${f.detail}${ids}`;
}

function chainLine(c: ChainReport): string {
  const defects = c.findings.filter((f) => f.level === 'defect').length;
  const parts = [
    `${c.count} event${c.count === 1 ? '' : 's'}`,
    c.count > 0 ? `seq ${c.firstSeq}–${c.lastSeq}` : 'no verified event',
    `kid ${c.kids.join(',') || '-'}`,
  ];
  if (c.duplicates) parts.push(`${c.duplicates} duplicate${c.duplicates === 1 ? '' : 's'}`);
  if (c.outOfOrder) parts.push(`${c.outOfOrder} out of order`);
  if (c.declaredDropped) parts.push(`${c.declaredDropped} declared dropped`);
  if (defects) parts.push(`${defects} defect${defects === 1 ? '' : 's'}`);
  return `${c.ok ? 'OK  ' : 'FAIL'} ${c.site}/${c.gw} epoch ${c.epoch}: ${parts.join(', ')}`;
}

export function renderReport(r: VerifyReport): string {
  const out: string[] = [];
  for (const c of r.chains) {
    out.push(chainLine(c));
    for (const f of c.findings) out.push(findingLine(f, r.strict));
  }
  if (r.findings.length > 0) {
    out.push('input:');
    for (const f of r.findings) out.push(findingLine(f, r.strict) + (f.epoch && f.seq !== undefined ? ` (epoch ${f.epoch})` : ''));
  }
  const verdict = r.ok ? 'OK' : 'FAIL';
  out.push(
    `${verdict}: ${r.lines} line${r.lines === 1 ? '' : 's'}, ${r.events} verified event${r.events === 1 ? '' : 's'} in ` +
      `${r.chains.length} chain${r.chains.length === 1 ? '' : 's'}, ${r.defects} defect${r.defects === 1 ? '' : 's'}, ` +
      `${r.infos} info${r.strict ? ' (strict)' : ''}${r.fromStart ? ' (from start)' : ''}`,
  );
  return out.join('\n') + '\n';
}

// The consumer's live view (docs/platform.md "Live view"): per gateway and epoch the
// verified head, the gaps and when it was last heard from; incident lines as incidents
// open, update and close. Plain text lines, so it reads the same in a terminal, a log
// file or a test.
import type { GapRow } from './store.js';
import type { ChainState } from './chains.js';

export interface GatewayView {
  chain: ChainState;
  lastSeen: number;
  ackedSeq: number;
  online: boolean | null;
  gaps: GapRow[];
  conflicts: number;
}

const fmtRanges = (rs: Array<{ from: number; to: number }>): string => rs.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`)).join(',');

/** One block: a header and one line per (site, gw, epoch). */
export function renderView(rows: GatewayView[], now: number): string {
  const lines = [`-- gatewarden platform ${new Date(now).toISOString()} --`];
  for (const r of rows) {
    const c = r.chain;
    const age = r.lastSeen > 0 ? `${Math.max(0, Math.round((now - r.lastSeen) / 1000))}s ago` : 'never';
    const requested = r.gaps.filter((g) => g.state === 'requested');
    const lost = r.gaps.filter((g) => g.state === 'missing');
    const parts = [
      `${c.site}/${c.gw}`,
      `epoch ${c.epoch}`,
      `verified ${c.verifiedSeq}${c.tailSeq > c.verifiedSeq ? `/${c.tailSeq}` : ''}`,
      `acked ${r.ackedSeq}`,
      `gaps ${c.holes.length === 0 ? 'none' : fmtRanges(c.holes)}`,
      ...(requested.length ? [`replay-requested ${fmtRanges(requested)}`] : []),
      ...(lost.length ? [`lost ${fmtRanges(lost)}`] : []),
      ...(c.defects.length ? [`DEFECT ${c.defects[0]}`] : []),
      ...(r.conflicts ? [`CONFLICTS ${r.conflicts}`] : []),
      `last seen ${age}`,
      ...(r.online === null ? [] : [r.online ? 'online' : 'offline']),
    ];
    lines.push('  ' + parts.join('  '));
  }
  return lines.join('\n') + '\n';
}

export interface IncidentEvent {
  site: string;
  gw: string;
  seq: number;
  type: string;
  severity: string;
  data: Record<string, unknown>;
}

/** `INCIDENT open|update|close <rule> <id> site/gw seq N (severity, events K)`. */
export function renderIncident(e: IncidentEvent): string {
  const d = e.data;
  return `INCIDENT ${String(d.phase ?? '?')} ${String(d.rule ?? e.type)} ${String(d.incident ?? '?')} ${e.site}/${e.gw} seq ${e.seq} (${e.severity}, events ${String(d.eventCount ?? '?')})\n`;
}

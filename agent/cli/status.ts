// `gatewarden status [--json]`: the running daemon's view over the control socket
// (head, spool, broker connection, drivers). Exit 1 when the daemon is not running.
import type { Command } from 'commander';
import { controlRequest } from '../control/client.js';
import { resolveControlSocket } from './socket-path.js';
import { controlSocketOptions, reportControlFailure } from './control-command.js';

interface StatusView {
  version?: string;
  uptimeS?: number;
  head?: { epoch: string; seq: number } | null;
  clockSync?: string;
  spool?: { depth: number; unsent: number; oldestUnsentAgeMs: number | null; droppedEvents: number };
  forwarder?: { connected: boolean; reconnects: number; lastError: string | null };
  drivers?: Array<{ id: string; kind: string; state: string; errors: number }>;
  devices?: Array<{ device: string; state: string; kind: string }>;
  netwatch?: { baselineLearned?: boolean; blind?: boolean; detail?: string };
  config?: string;
  lastReload?: { at: string; ok: boolean; reason?: string; needRestart?: string[] } | null;
}

export function renderStatus(s: StatusView): string {
  const l = [
    `gatewarden ${s.version ?? '?'}, up ${s.uptimeS ?? '?'} s, clock ${s.clockSync ?? '?'}`,
    `  head     ${s.head ? `epoch ${s.head.epoch} seq ${s.head.seq}` : '(empty)'}`,
    `  spool    ${s.spool ? `${s.spool.depth} events, ${s.spool.unsent} unsent, oldest ${s.spool.oldestUnsentAgeMs === null ? '-' : `${(s.spool.oldestUnsentAgeMs / 1000).toFixed(1)} s`}, ${s.spool.droppedEvents} dropped` : '?'}`,
    `  broker   ${s.forwarder ? (s.forwarder.connected ? 'connected' : `DISCONNECTED${s.forwarder.lastError ? ` (${s.forwarder.lastError})` : ''}`) + `, ${s.forwarder.reconnects} reconnect(s)` : '?'}`,
  ];
  for (const d of s.drivers ?? []) l.push(`  driver   ${d.kind}:${d.id} ${d.state}, ${d.errors} error(s)`);
  for (const d of s.devices ?? []) l.push(`  device   ${d.kind}/${d.device} ${d.state}`);
  // A blind netwatch (no /proc/net) has learned nothing: never "baseline learned".
  const nw = s.netwatch;
  if (nw) l.push(`  netwatch ${nw.blind ? 'BLIND' : nw.baselineLearned ? 'baseline learned' : 'learning'}${nw.detail ? ` (${nw.detail})` : ''}`);
  const r = s.lastReload;
  if (r !== undefined) {
    l.push(
      `  reload   ${r === null ? 'none since start' : r.ok ? `applied at ${r.at}${r.needRestart?.length ? ` (restart needed for ${r.needRestart.join(', ')})` : ''}` : `REJECTED at ${r.at}: ${(r.reason ?? '').split('\n').join('; ')}`}`,
    );
  }
  return l.join('\n');
}

export function registerStatus(program: Command): void {
  controlSocketOptions(program.command('status').description("the running daemon's status, over the control socket"), 'config file')
    .option('--json', 'machine-readable output')
    .action(async (o: { config: string; socket?: string; json?: boolean }) => {
      const { socket: sock, configError } = await resolveControlSocket(o);
      // The running daemon may have rejected this file at a reload: still ask it, and say so.
      if (configError) console.error(`note: ${configError.source} does not load (${configError.problems.length} problem(s); gatewarden config check says which); asking the control socket ${sock}`);
      try {
        const s = await controlRequest<StatusView>(sock, 'status', 10_000);
        console.log(o.json ? JSON.stringify({ running: true, ...s }, null, 2) : renderStatus(s));
      } catch (e) {
        // --json always prints one document: a stopped daemon is an answer, not a crash.
        if (o.json) console.log(JSON.stringify({ running: false, controlSocket: sock, reason: (e as Error).message }, null, 2));
        reportControlFailure(e, 'fix: systemctl start gatewarden (journalctl -u gatewarden says why it stopped)');
      }
    });
}

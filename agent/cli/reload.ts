// `gatewarden reload [--json]`: asks the running daemon, over its control socket, to
// re-read its config (what SIGHUP does) and waits for the outcome. Exit 0 when applied,
// 1 when the daemon rejected the file (the reason, every problem with its config path, is
// printed) or is not running. The unit's ExecReload runs it, so `systemctl reload
// gatewarden` fails visibly on a bad config instead of only logging.
import type { Command } from 'commander';
import { controlRequest, ControlUnavailableError } from '../control/client.js';
import type { ReloadOutcome } from '../control/reload-outcome.js';
import { resolveControlSocket } from './socket-path.js';
import { controlSocketOptions, reportControlFailure } from './control-command.js';

export function renderReload(r: ReloadOutcome): string {
  if (!r.ok) return `reload rejected: the daemon keeps its running config\n  ${(r.reason ?? 'no reason given').split('\n').join('\n  ')}`;
  const c = r.changes;
  const moved = c ? [c.started.length && `started ${c.started.join(', ')}`, c.stopped.length && `stopped ${c.stopped.join(', ')}`, c.restarted.length && `restarted ${c.restarted.join(', ')}`].filter(Boolean) : [];
  const lines = [`reloaded ${r.config}${moved.length ? `: ${moved.join('; ')}` : ': no driver changes'}`];
  if (r.needRestart?.length) lines.push(`  changed but applied only at restart: ${r.needRestart.join(', ')} (systemctl restart gatewarden)`);
  return lines.join('\n');
}

export function registerReload(program: Command): void {
  controlSocketOptions(
    program.command('reload').description("ask the running daemon to re-read its config (as SIGHUP does); exit 0 applied, 1 rejected (reason printed) or not running"),
  )
    .option('--json', 'machine-readable outcome: {at, ok, config, reason?, needRestart?, changes?}')
    .action(async (o: { config: string; socket?: string; json?: boolean }) => {
      // A broken file (the one being reloaded) still names the socket; the daemon's answer carries its problems.
      const { socket: sock } = await resolveControlSocket(o);
      try {
        const r = await controlRequest<ReloadOutcome>(sock, 'reload', 60_000);
        console.log(o.json ? JSON.stringify(r, null, 2) : renderReload(r));
        process.exitCode = r.ok ? 0 : 1;
      } catch (e) {
        if (o.json) console.log(JSON.stringify({ ok: false, running: !(e instanceof ControlUnavailableError), reason: (e as Error).message }));
        reportControlFailure(e, 'fix: systemctl start gatewarden (nothing to reload while it is stopped)');
      }
    });
}

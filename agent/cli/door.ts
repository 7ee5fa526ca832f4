// `gatewarden door unlock DOOR --for 10s`: the technician override of local access control
// (docs/access.md). Asks the running daemon over the control socket; the daemon seals a
// signed access.door.override before it drives the strike. Exit 0 when the strike
// command was confirmed, 1 otherwise (daemon down, unknown door, strike failed).
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { controlRequest, ControlUnavailableError } from '../control/client.js';
import { resolveControlSocket } from './socket-path.js';
import { DEFAULT_CONFIG } from './defaults.js';

/** "10s", "500ms", "2m" or plain seconds → ms (100 ms … 10 min). */
export function parseDuration(v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(v);
  if (!m) throw new InvalidArgumentError('expected a duration such as 10s, 500ms or 2m');
  const ms = Math.round(Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000));
  if (ms < 100 || ms > 600_000) throw new InvalidArgumentError('must be between 100ms and 10m');
  return ms;
}

export function registerDoor(program: Command): void {
  const door = program.command('door').description('local access control: technician override');
  door
    .command('unlock <door>')
    .description('release a door strike for a while (recorded as a signed access.door.override)')
    .requiredOption('--for <duration>', 'how long: 10s, 500ms, 2m (max 10m)', parseDuration)
    .option('-c, --config <file>', 'config file (to find the control socket)', process.env.GATEWARDEN_CONFIG ?? DEFAULT_CONFIG)
    .option('--socket <path>', 'control socket (default: from the config)')
    .action(async (id: string, o: { for: number; config: string; socket?: string }) => {
      const { socket } = await resolveControlSocket(o);
      try {
        // A Modbus coil strike is confirmed when the coil is off again (drivers/modbus/output-commands.ts): wait out the pulse.
        const r = await controlRequest<{ ok: boolean; detail: string }>(socket, 'door-unlock', 30_000 + o.for, { door: id, forMs: o.for });
        console.log(r.detail);
        process.exitCode = r.ok ? 0 : 1;
      } catch (e) {
        console.error(`gatewarden: ${(e as Error).message}`);
        if (e instanceof ControlUnavailableError) console.error('  the override needs the running daemon (it owns the readers and the evidence chain)');
        process.exitCode = 1;
      }
    });
}

// `gatewarden` command line. One file per command (agent/cli/*.ts); this file only
// assembles them, and loads a command's module only when that command runs (or its help
// is asked for): `--version` and `--help` load commander and nothing else, so the CLI
// answers in a blink on a Pi (docs/performance.md "CLI start-up").
// Exit codes (agent/cli/errors.ts): 0 ok, 1 failure, 2 usage; diag: 0 ok / 1 warnings / 2 failures.
import { Command } from 'commander';
import { VERSION } from '../version.js';
import { debugWanted, reportError } from './errors.js';

type Register = (program: Command) => void;

/** name → summary (for the top-level help) and the module that registers it. */
export const COMMANDS: ReadonlyArray<{ name: string; summary: string; load: () => Promise<Register> }> = [
  { name: 'run', summary: 'run the daemon', load: async () => (await import('./run.js')).registerRun },
  { name: 'demo', summary: 'run the built-in simulated site with an embedded broker (what `npm start` does)', load: async () => (await import('./demo.js')).registerDemo },
  { name: 'config', summary: 'configuration tools', load: async () => (await import('./config-check.js')).registerConfig },
  { name: 'events', summary: 'read events from the local spool', load: async () => (await import('./events.js')).registerEvents },
  { name: 'spool', summary: 'inspect the local event spool', load: async () => (await import('./spool.js')).registerSpool },
  { name: 'verify', summary: 'verify signed event chains (JSONL of {body, sig}, one per line); exit 0 only if clean', load: async () => (await import('./verify.js')).registerVerify },
  { name: 'diag', summary: 'check config, key, clock, disk, spool, broker and every device; exit 0 ok / 1 warnings / 2 failures', load: async () => (await import('./diag.js')).registerDiag },
  { name: 'status', summary: "the running daemon's status, over the control socket", load: async () => (await import('./status.js')).registerStatus },
  { name: 'reload', summary: 'ask the running daemon to re-read its config; exit 1 with the reason when rejected', load: async () => (await import('./reload.js')).registerReload },
  { name: 'key', summary: 'gateway signing key: key rotate (a new key and epoch, announced under the old key)', load: async () => (await import('./key.js')).registerKey },
  { name: 'init', summary: 'write a commented config, create the signing key, print the enrolment string', load: async () => (await import('./init.js')).registerInit },
  { name: 'discover', summary: 'find serial ports, Modbus units, cameras and OSDP readers; print or --write a config snippet', load: async () => (await import('./discover.js')).registerDiscover },
  { name: 'platform', summary: 'reference platform consumer: verify and store events (SQLite), repair gaps with spool.replay, ack, live view', load: async () => (await import('../platform/cli.js')).registerPlatform },
  { name: 'door', summary: 'technician override: door unlock DOOR --for 10s (over the control socket; recorded as signed evidence)', load: async () => (await import('./door.js')).registerDoor },
  { name: 'command', summary: 'platform side of downlink commands: keygen, sign, send (MQTT 5, waits for the result)', load: async () => (await import('./command.js')).registerCommand },
  { name: 'support-bundle', summary: 'write a tar.gz for support: diag, redacted config, recent logs, spool stats, versions (no keys, no passwords)', load: async () => (await import('./support-bundle.js')).registerSupportBundle },
];

const EXIT_HELP = `
Exit codes:
  0  success
  1  the command ran and something failed (a check, a file, a device, the daemon)
  2  usage: unknown command or option, bad option value, missing argument
  diag: 0 all passed, 1 warnings only, 2 at least one failure

Errors print what is wrong and how to fix it; --debug (or GATEWARDEN_DEBUG=1) adds the stack.`;

/** The command named on the command line (`help X` names X), if any. */
function selected(args: string[]): string | undefined {
  const words = args.filter((a) => !a.startsWith('-'));
  return words[0] === 'help' ? words[1] : words[0];
}

/**
 * The program with `only` registered for real and every other command as a stub that
 * carries its summary (enough for the top-level help and for "unknown command" errors).
 * With `only` undefined every command is registered (tests, help for all).
 */
export async function buildProgram(only?: string | 'all'): Promise<Command> {
  const program = new Command('gatewarden')
    .description('edge agent: cameras, card readers and sensors → signed, hash-chained events → MQTT')
    .version(VERSION)
    .option('--debug', 'print stack traces with errors')
    .showHelpAfterError('(gatewarden --help lists the commands; gatewarden <command> --help its options)')
    .addHelpText('after', EXIT_HELP)
    .exitOverride((err) => {
      // commander's own errors (unknown option, bad value, missing argument) are usage errors.
      process.exit(err.exitCode === 0 ? 0 : 2);
    });
  for (const c of COMMANDS) {
    if (only === 'all' || c.name === only) (await c.load())(program);
    else program.command(c.name).description(c.summary);
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const debug = debugWanted(argv);
  const args = argv.slice(2).filter((a) => a !== '--debug');
  if (debug) process.env.GATEWARDEN_DEBUG = '1';
  try {
    const program = await buildProgram(selected(args));
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    process.exitCode = reportError(e, debug);
  }
}

await main(process.argv);

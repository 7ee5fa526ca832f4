// Wires downlink commands for the daemon: the platform key, the replay store and the
// gateway's built-in commands (ping, diag); device commands go to the owning driver.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import { parsePublicKey } from '../chain/keys.js';
import type { Forwarder } from '../forward/forwarder.js';
import type { Pipeline } from '../pipeline.js';
import type { Supervisor } from '../supervisor.js';
import type { JsonObject } from '../events/types.js';
import { createCommandHandler, type BuiltinCommand } from './handler.js';
import { SeenIdStore } from './seen-ids.js';
import { replayRange, type ReplayDeps } from './replay.js';
import { configGet } from './config-get.js';
import type { LoadedConfig } from '../../config/loader.js';

/** commands.publicKey: PEM, base64url raw key, or a path to a file holding either. */
export function loadCommandKey(value: string | undefined) {
  if (!value) return null;
  const v = value.trim();
  const text = !v.startsWith('-----') && (v.startsWith('/') || v.startsWith('.')) && existsSync(v) ? readFileSync(v, 'utf8') : v;
  return parsePublicKey(text);
}

export function attachCommands(o: {
  config: Config;
  forwarder: Forwarder;
  pipeline: Pipeline;
  supervisor: Supervisor;
  log: Logger;
  head: () => JsonObject;
  /** `spool.replay` (agent/commands/replay.ts); absent → the command is not offered. */
  replay?: ReplayDeps;
  /** `key.rotate`: rotate the gateway key now (agent/key-rotation.ts); absent → not offered. */
  rotateKey?: () => Promise<JsonObject>;
  /** `config.get`: the running config (after reloads), answered redacted (agent/commands/config-get.ts); absent → not offered. */
  running?: () => LoadedConfig;
  /** More gateway built-ins (access control, agent/access/commands.ts). */
  extra?: Record<string, BuiltinCommand>;
  /** What `system.command.accepted` records of a command's args when it must not hold them all (card numbers). */
  evidenceArgs?: (cmd: string, args: JsonObject) => JsonObject | undefined;
}): void {
  const { config: c } = o;
  o.forwarder.onCommand(
    createCommandHandler({
      publicKey: loadCommandKey(c.commands.publicKey),
      maxSkewMs: c.commands.maxClockSkewSeconds * 1000,
      gateway: { site: c.site, gw: c.gateway, require: c.commands.requireGatewayBinding },
      seen: new SeenIdStore(join(c.stateDir, 'commands-seen.json')),
      pipeline: o.pipeline,
      deviceCommand: (name, args, target) => o.supervisor.command(name, args, target),
      knowsTarget: (target) => o.supervisor.knowsTarget(target),
      evidenceArgs: o.evidenceArgs,
      builtins: {
        ...(o.extra ?? {}),
        ping: async () => ({ ok: true, data: { head: o.head(), ts: new Date().toISOString() } }),
        ...(o.replay ? { 'spool.replay': (args: JsonObject) => replayRange(args, o.replay!) } : {}),
        ...(o.rotateKey ? { 'key.rotate': async () => ({ ok: true, detail: 'key rotated', data: await o.rotateKey!() }) } : {}),
        ...(o.running ? { 'config.get': () => configGet(o.running!()) } : {}),
        diag: async () => {
          const results = await o.supervisor.diagnose();
          const failed = results.filter((r) => r.verdict === 'fail').length;
          return { ok: failed === 0, detail: `${results.length} checks, ${failed} failed`, data: { results: JSON.parse(JSON.stringify(results)) as JsonObject[] } };
        },
      },
      publishResult: (payload, to) => void o.forwarder.publishCommandResult(payload, to),
      log: o.log,
    }),
  );
}

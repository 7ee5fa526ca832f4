// Executes verified downlink commands (docs/contracts.md §Commands). Every command leaves signed evidence:
// `system.command.rejected` (with the reason) or `system.command.accepted` followed by
// `system.command.executed`; the platform gets a result on cmd-result (or the MQTT 5
// response topic, with its correlation data).
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type { JsonObject } from '../events/types.js';
import type { IncomingCommand } from '../forward/forwarder.js';
import type { Pipeline } from '../pipeline.js';
import { CommandArgsError, CommandUnsupportedError, type CommandResult } from '../../drivers/types.js';
import { checkCommand, echoField } from './verify.js';
import type { SeenIdStore } from './seen-ids.js';

export type BuiltinCommand = (args: JsonObject, target: string | undefined) => Promise<CommandResult>;

export interface CommandHandlerOptions {
  /** Platform key; null → every command is refused (commands.publicKey not configured). */
  publicKey: KeyObject | null;
  maxSkewMs: number;
  /** This gateway, for the site/gw binding check (agent/commands/verify.ts); absent → not checked. */
  gateway?: { site: string; gw: string; require: boolean };
  seen: SeenIdStore;
  pipeline: Pipeline;
  /** Device commands (LED, buzzer, output, snapshot …) routed to the owning driver. */
  deviceCommand(name: string, args: JsonObject, target: string): Promise<CommandResult>;
  /** Whether a device command's target exists on this gateway; absent → every target is tried. */
  knowsTarget?(target: string): boolean;
  builtins: Record<string, BuiltinCommand>;
  /** Args as recorded in `system.command.accepted`; undefined → all of them (a credential list records its shape only). */
  evidenceArgs?: (cmd: string, args: JsonObject) => JsonObject | undefined;
  publishResult(payload: string, to: { responseTopic?: string; correlationData?: Buffer }): void;
  log: Logger;
  now?: () => number;
}

export function createCommandHandler(o: CommandHandlerOptions): (cmd: IncomingCommand) => void {
  const now = o.now ?? Date.now;
  const reply = (cmd: IncomingCommand, result: JsonObject): void =>
    o.publishResult(JSON.stringify(result), { responseTopic: cmd.responseTopic, correlationData: cmd.correlationData });

  // name (from the topic) and id may come from an unverified command: echoed clipped, and
  // `truncated` lists the fields that were cut.
  const reject = (cmd: IncomingCommand, rawId: string | undefined, reason: string, detail: string): void => {
    const name = echoField(cmd.name);
    const id = echoField(rawId);
    const truncated = [...(name.truncated ? ['name'] : []), ...(id.truncated ? ['id'] : [])];
    const data: JsonObject = { name: name.value, id: id.value, reason, detail };
    if (truncated.length > 0) data.truncated = truncated;
    o.log.warn({ command: name.value, id: id.value, truncated, reason, detail }, 'command rejected');
    o.pipeline.system('system.command.rejected', 'warning', data);
    reply(cmd, { id: id.value, ok: false, error: reason, detail, ...(truncated.length > 0 ? { truncated } : {}) });
  };

  return (cmd) => {
    try {
      handle(cmd);
    } catch (e) {
      // Never let one hostile message take the daemon down; the evidence path refused it.
      o.log.error({ err: e, command: echoField(cmd.name).value }, 'command could not be handled');
    }
  };

  function handle(cmd: IncomingCommand): void {
    if (!o.publicKey) return reject(cmd, undefined, 'no-key', 'commands.publicKey is not configured on this gateway');
    const c = checkCommand(cmd.payload, { publicKey: o.publicKey, topicName: cmd.name, now: now(), maxSkewMs: o.maxSkewMs, seen: o.seen, gateway: o.gateway });
    if (!c.ok) return reject(cmd, c.id, c.reason, c.detail);
    const b = c.body;
    const builtin = o.builtins[b.cmd];
    if (!builtin && !b.target) return reject(cmd, b.id, 'unsupported', `"${b.cmd}" is not a gateway command and names no target device`);
    // Refused before it is recorded as accepted: no driver instance or device has that name.
    if (!builtin && o.knowsTarget && !o.knowsTarget(b.target as string)) {
      return reject(cmd, b.id, 'unknown-target', `no driver instance or device "${echoField(b.target).value}" on this gateway`);
    }
    o.seen.add(b.id, Date.parse(b.exp) + o.maxSkewMs);
    o.pipeline.system('system.command.accepted', 'notice', { name: b.cmd, id: b.id, target: b.target ?? null, args: o.evidenceArgs?.(b.cmd, b.args) ?? b.args });
    const run = builtin ? builtin(b.args, b.target) : o.deviceCommand(b.cmd, b.args, b.target as string);
    run.then(
      (r) => {
        o.pipeline.system('system.command.executed', r.ok ? 'notice' : 'warning', { name: b.cmd, id: b.id, ok: r.ok, detail: r.detail ?? null });
        reply(cmd, { id: b.id, ok: r.ok, ...(r.detail ? { detail: r.detail } : {}), ...(r.data ? { data: r.data } : {}) });
      },
      (e: Error) => {
        if (e instanceof CommandUnsupportedError) {
          // Accepted as authentic, but no driver can do it: recorded as a rejection.
          return reject(cmd, b.id, 'unsupported', e.message);
        }
        // Accepted as authentic, but its args are wrong: nothing reached a device.
        if (e instanceof CommandArgsError) return reject(cmd, b.id, 'bad-args', e.message);
        o.log.error({ err: e, command: b.cmd, id: b.id }, 'command failed');
        o.pipeline.system('system.command.executed', 'warning', { name: b.cmd, id: b.id, ok: false, detail: e.message });
        reply(cmd, { id: b.id, ok: false, error: 'failed', detail: e.message });
      },
    );
  }
}

// Door actuation through the owning driver's command path (the supervisor routes a command
// to the instance that owns the target): the strike is an osdp_OUT pulse on a reader
// (drivers/osdp/commands.ts `output`) or a Modbus coil (`output.pulse`); feedback is the
// OSDP reader's LED and buzzer. The strike is enqueued first, so it is the next command
// on the bus; LED and buzzer follow. Fire and forget: a failure is reported (a signed
// access.door.actuation_failed via `onFailure`), never awaited by the decision.
import type { Logger } from 'pino';
import type { JsonObject } from '../events/types.js';
import type { CommandResult } from '../../drivers/types.js';
import type { AccessDoor } from './config.js';

export type CommandRoute = (name: string, args: JsonObject, target: string) => Promise<CommandResult>;

export class DoorActuator {
  constructor(
    private readonly route: CommandRoute,
    private readonly log: Logger,
    private readonly onFailure: (door: string, what: string, target: string, detail: string) => void,
  ) {}

  private send(door: AccessDoor, what: string, name: string, args: JsonObject, target: string): Promise<boolean> {
    let p: Promise<CommandResult>;
    try {
      p = this.route(name, args, target);
    } catch (e) {
      p = Promise.reject(e as Error);
    }
    return p.then(
      (r) => {
        if (!r.ok) this.onFailure(door.id, what, target, r.detail ?? 'refused');
        return r.ok;
      },
      (e: Error) => {
        this.onFailure(door.id, what, target, e.message);
        return false;
      },
    );
  }

  /** Release the strike for `ms`; resolves true when the driver confirmed it. */
  strike(door: AccessDoor, ms: number): Promise<boolean> {
    const s = door.strike;
    if (!s) {
      this.log.warn({ door: door.id }, 'access: door has no strike configured; nothing to open');
      return Promise.resolve(false);
    }
    if ('osdpReader' in s) return this.send(door, 'strike', 'output', { action: 'pulse', durationMs: ms, ...(s.output !== undefined ? { output: s.output } : {}) }, s.osdpReader);
    return this.send(door, 'strike', 'output.pulse', { point: s.point, durationMs: ms }, s.modbus);
  }

  /** Grant: strike, green LED for the pulse, one short beep. */
  grant(door: AccessDoor, feedback: string | undefined): Promise<boolean> {
    const opened = this.strike(door, door.pulseMs);
    if (feedback) {
      void this.send(door, 'led', 'led', { color: 'green', durationMs: Math.max(100, door.pulseMs) }, feedback);
      void this.send(door, 'buzzer', 'buzzer', { tone: 2, onMs: 100, offMs: 0, count: 1 }, feedback);
    }
    return opened;
  }

  /** Deny: red LED, two beeps. */
  deny(door: AccessDoor, feedback: string | undefined): void {
    if (!feedback) return;
    void this.send(door, 'led', 'led', { color: 'red', durationMs: 2000 }, feedback);
    void this.send(door, 'buzzer', 'buzzer', { tone: 2, onMs: 200, offMs: 200, count: 2 }, feedback);
  }
}

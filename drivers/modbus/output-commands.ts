// Output commands on Modbus coils (docs/contracts.md §Commands), named as the OSDP driver's
// `output` is: `output.pulse {point, durationMs}` switches a coil on, waits, and switches
// it off; `output.set {point, value}` sets it. Only points configured as `table: coil`
// with `writable: true` are driven; anything else is refused as bad args before a frame
// is sent. The pulse's off write happens here (Modbus coils have no timer of their own),
// so the result returns after the coil is off again, or says it may still be on.
import { z, ZodError } from 'zod';
import type { JsonObject } from '../../agent/events/types.js';
import { CommandArgsError, type CommandResult } from '../types.js';
import type { BusScheduler } from './scheduler.js';
import type { UnitRuntime } from './unit.js';

export const OUTPUT_COMMANDS = ['output.pulse', 'output.set'] as const;

const pulseArgs = z.strictObject({
  point: z.string().min(1),
  /** How long the coil stays on. */
  durationMs: z.number().int().min(50).max(600_000).default(1000),
});
const setArgs = z.strictObject({ point: z.string().min(1), value: z.boolean() });

function parseArgs<T>(schema: z.ZodType<T>, name: string, args: JsonObject): T {
  try {
    return schema.parse(args);
  } catch (e) {
    if (e instanceof ZodError) throw new CommandArgsError(`${name}: ${e.issues.map((i) => `args.${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    throw e;
  }
}

export class CoilOutputs {
  /** Per unit.point: bumped by every output command, so an older pulse does not switch off what a newer command set. */
  private readonly generation = new Map<string, number>();

  constructor(
    private readonly units: readonly UnitRuntime[],
    private readonly scheduler: Pick<BusScheduler, 'write'>,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** The writable coil `point` (on `target` when given); CommandArgsError names what is wrong. */
  private coil(name: string, point: string, target: string | undefined): { u: UnitRuntime; address: number; key: string } {
    const hits = this.units
      .filter((u) => target === undefined || u.id === target)
      .map((u) => ({ u, p: u.pointByName(point) }))
      .filter((h) => h.p !== null);
    if (hits.length === 0) throw new CommandArgsError(`${name}: args.point: no point "${point}"${target ? ` on unit "${target}"` : ''}`);
    if (hits.length > 1) throw new CommandArgsError(`${name}: args.point: "${point}" exists on several units: give a target`);
    const { u, p } = hits[0] as { u: UnitRuntime; p: NonNullable<ReturnType<UnitRuntime['pointByName']>> };
    if (p.cfg.table !== 'coil') throw new CommandArgsError(`${name}: args.point: "${point}" is a ${p.cfg.table} point, not a coil (output commands drive coils only)`);
    if (!p.cfg.writable) throw new CommandArgsError(`${name}: args.point: coil "${point}" is not writable (set writable: true in its config)`);
    return { u, address: p.cfg.address, key: `${u.id}.${point}` };
  }

  async run(name: string, args: JsonObject, target: string | undefined): Promise<CommandResult> {
    if (name === 'output.set') {
      const a = parseArgs(setArgs, name, args);
      const c = this.coil(name, a.point, target);
      this.bump(c.key);
      await this.scheduler.write(c.u, 5, c.address, [a.value]);
      return { ok: true, detail: `coil ${c.key} set ${a.value ? 'on' : 'off'}`, data: { unit: c.u.id, point: a.point, value: a.value } };
    }
    const a = parseArgs(pulseArgs, name, args);
    const c = this.coil(name, a.point, target);
    const gen = this.bump(c.key);
    await this.scheduler.write(c.u, 5, c.address, [true]);
    await this.sleep(a.durationMs);
    if (this.generation.get(c.key) !== gen) {
      return { ok: true, detail: `coil ${c.key} pulsed on; a later output command took it over before ${a.durationMs} ms`, data: { unit: c.u.id, point: a.point, durationMs: a.durationMs, superseded: true } };
    }
    try {
      await this.scheduler.write(c.u, 5, c.address, [false]);
    } catch (e) {
      return { ok: false, detail: `coil ${c.key} was switched on but the off write failed (it may still be on): ${(e as Error).message}` };
    }
    return { ok: true, detail: `coil ${c.key} pulsed for ${a.durationMs} ms`, data: { unit: c.u.id, point: a.point, durationMs: a.durationMs } };
  }

  private bump(key: string): number {
    const g = (this.generation.get(key) ?? 0) + 1;
    this.generation.set(key, g);
    return g;
  }
}

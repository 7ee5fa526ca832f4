// Reader moves made by osdp_COMSET (OSDP v2.2 §6.14) that outlive a restart. The PD keeps
// its new address/baud in its own non-volatile memory; the config file still names the old
// ones, so without this record a restarted CP polls an address nobody answers at and the
// reader (and its alarms) is lost until someone edits the config.
//
// One JSON file in the state dir (default <stateDir>/osdp-comset.json), shared by every
// OSDP bus of the daemon, keyed `<bus id>/<reader id>`. Kept apart from the SCBK key store
// (./key-store.ts) on purpose: that file holds secrets, may live elsewhere (`keyStore`), and
// its entries are deleted by hand to re-install a reader; an installer clearing a stale
// override must never be one slip away from locking a reader out of its Secure Channel.
//
// Writes go through agent/state-file.ts (0600, atomic and durable). Load-modify-write is synchronous, so
// two buses in one process cannot interleave. Nothing outside the daemon reads it (diag
// asks the daemon over the control socket), hence 0600 like the key store.
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { z } from 'zod';
import { writeJsonAtomic } from '../../../agent/state-file.js';

const baud = z.union([z.literal(9600), z.literal(19200), z.literal(38400), z.literal(57600), z.literal(115200), z.literal(230400)]);
const overrideSchema = z.strictObject({
  /** Where the reader answers now (what the last verified COMSET set). */
  address: z.number().int().min(0).max(126),
  baud,
  /** What the config said when the override was made: the override holds only while it still does. */
  configAddress: z.number().int().min(0).max(126),
  configBaud: baud,
  /** RFC 3339 time of the COMSET. */
  at: z.string(),
});
const fileSchema = z.strictObject({ v: z.literal(1), readers: z.record(z.string(), overrideSchema) });

export type ComsetOverride = z.infer<typeof overrideSchema>;
type ComsetFile = z.infer<typeof fileSchema>;

export class ComsetStoreError extends Error {
  override readonly name = 'ComsetStoreError';
}

export class ComsetStore {
  constructor(readonly path: string) {}

  /** Every override in the file. Throws ComsetStoreError when the file is not a comset store. */
  all(): Record<string, ComsetOverride> {
    return this.load().readers;
  }

  get(bus: string, reader: string): ComsetOverride | undefined {
    return this.load().readers[`${bus}/${reader}`];
  }

  set(bus: string, reader: string, o: ComsetOverride): void {
    const file = this.load();
    file.readers[`${bus}/${reader}`] = overrideSchema.parse(o);
    this.write(file);
  }

  /** Remove one override; false when there was none (the file is then left untouched). */
  delete(bus: string, reader: string): boolean {
    const file = this.load();
    const key = `${bus}/${reader}`;
    if (!(key in file.readers)) return false;
    delete file.readers[key];
    this.write(file);
    return true;
  }

  /** Move an unreadable file aside (kept for inspection, never deleted). Returns its new path. */
  quarantine(now: number): string {
    const aside = `${this.path}.corrupt-${now}`;
    renameSync(this.path, aside);
    return aside;
  }

  private load(): ComsetFile {
    if (!existsSync(this.path)) return { v: 1, readers: {} };
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (err) {
      throw new ComsetStoreError(`${this.path}: not JSON (${(err as Error).message})`);
    }
    const parsed = fileSchema.safeParse(raw);
    if (!parsed.success) throw new ComsetStoreError(`${this.path}: not an OSDP comset store (v 1): ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return parsed.data;
  }

  private write(file: ComsetFile): void {
    writeJsonAtomic(this.path, file, true);
  }

}

export type OverrideDecision =
  /** Each configured setting is still the old one or already the new one: the override holds. */
  | { action: 'apply'; override: ComsetOverride; applyBaud: boolean }
  /**
   * Config wins: `config-matches` (the installer copied the new settings into the config),
   * `config-changed` (the config now names other settings: the installer decided),
   * `address-taken` (another reader of this bus is configured at the override's address).
   */
  | { action: 'drop'; override: ComsetOverride; reason: 'config-matches' | 'config-changed' | 'address-taken' };

/**
 * What to do at start with one reader's override. `configured` is the reader's address and
 * the bus baud from the config; `readersOnBus` decides whether the baud may follow (one
 * speed per line: a bus with several readers keeps its configured speed); `takenBy` names
 * another reader already at the override's address.
 */
export function decideOverride(o: ComsetOverride, configured: { address: number; baud: number }, readersOnBus: number, takenBy?: string): OverrideDecision {
  if (configured.address === o.address && configured.baud === o.baud) return { action: 'drop', override: o, reason: 'config-matches' };
  // Each field must be either still the old configured value or already the new one: an
  // installer who copied only the address (or only the baud) into the config keeps the
  // other half of the override; any third value means the config was changed on purpose.
  const addressKnown = configured.address === o.configAddress || configured.address === o.address;
  const baudKnown = configured.baud === o.configBaud || configured.baud === o.baud;
  if (!addressKnown || !baudKnown) return { action: 'drop', override: o, reason: 'config-changed' };
  if (takenBy !== undefined) return { action: 'drop', override: o, reason: 'address-taken' };
  return { action: 'apply', override: o, applyBaud: readersOnBus === 1 };
}

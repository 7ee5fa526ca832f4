// Policy around the COMSET store (./cp/comset-store.ts), used by the driver at start and
// after a verified COMSET. The config file stays the source of truth an installer edits; an
// override only bridges the gap between "the reader moved" and "the config says so":
// - at start, an override made from the settings the config still names is used (address;
//   the bus baud too when the bus has one reader) and logged as a warning until the config
//   is updated;
// - a config that now names the new settings, or anything else, wins: the override is
//   dropped and that is logged at info.
import type { Logger } from 'pino';
import type { OsdpConfig } from './config.js';
import { ComsetStore, ComsetStoreError, decideOverride, type ComsetOverride } from './cp/comset-store.js';

/** Where a reader's override is in force: the values to use instead of the config's. */
export type ActiveOverrides = Map<string, ComsetOverride & { baudApplied: boolean }>;

export interface OverrideDeps {
  store: ComsetStore;
  cfg: OsdpConfig;
  log: Logger;
  reportError: (err: Error, device?: string) => void;
  now: number;
}

/** What the installer should write into the config to make the override unnecessary. */
export function configHint(cfg: OsdpConfig, readerId: string, o: { address: number; baud: number }): string {
  const i = cfg.readers.findIndex((r) => r.id === readerId);
  const parts = [`readers[${i}].address: ${o.address}`];
  if (o.baud !== cfg.baud) parts.push(`baud: ${o.baud}`);
  return `update the config (the drivers.osdp entry with id "${cfg.id}"): ${parts.join(', ')}`;
}

function where(address: number, baud: number): string {
  return `address ${address}, ${baud} baud`;
}

/**
 * Decide every reader's override at start; drop those the config overrules (written back
 * at once). An unreadable store is moved aside and reported: the config is used as is.
 */
export function resolveOverrides(d: OverrideDeps): ActiveOverrides {
  const active: ActiveOverrides = new Map();
  const { store, cfg, log } = d;
  let all: Record<string, ComsetOverride>;
  try {
    all = store.all();
  } catch (err) {
    if (!(err instanceof ComsetStoreError)) throw err;
    let aside: string;
    try {
      aside = `moved to ${store.quarantine(d.now)}`;
    } catch (e) {
      aside = `could not be moved aside (${(e as Error).message})`;
    }
    d.reportError(new Error(`${err.message}; ${aside}. Readers moved by COMSET earlier are polled at their configured address until the config is updated`));
    return active;
  }
  for (const rc of cfg.readers) {
    const o = all[`${cfg.id}/${rc.id}`];
    if (!o) continue;
    const takenBy = cfg.readers.find((x) => x !== rc && (active.get(x.id)?.address ?? x.address) === o.address)?.id;
    const dec = decideOverride(o, { address: rc.address, baud: cfg.baud }, cfg.readers.length, takenBy);
    const fields = { reader: rc.id, override: { address: o.address, baud: o.baud, at: o.at }, config: { address: rc.address, baud: cfg.baud } };
    if (dec.action === 'apply') {
      active.set(rc.id, { ...o, baudApplied: dec.applyBaud });
      const speed = dec.applyBaud || o.baud === cfg.baud ? '' : `; the speed stays ${cfg.baud} baud (this bus now carries ${cfg.readers.length} readers, one speed per line)`;
      log.warn(
        fields,
        `reader "${rc.id}" was moved by COMSET at ${o.at}: using ${where(o.address, o.baud)} instead of the configured ${where(rc.address, cfg.baud)}${speed}; ${configHint(cfg, rc.id, o)}`,
      );
      continue;
    }
    try {
      store.delete(cfg.id, rc.id);
    } catch (err) {
      d.reportError(new Error(`COMSET override of "${rc.id}" not removed from ${store.path}: ${(err as Error).message}`), rc.id);
    }
    const why =
      dec.reason === 'config-matches'
        ? `the config now says ${where(rc.address, cfg.baud)} as COMSET set`
        : dec.reason === 'config-changed'
          ? `the config changed to ${where(rc.address, cfg.baud)} since it was made (it was ${where(o.configAddress, o.configBaud)}); the config wins`
          : `reader "${takenBy ?? ''}" is configured at address ${o.address}; the config wins`;
    log.info(fields, `reader "${rc.id}": COMSET override (${where(o.address, o.baud)}, ${o.at}) dropped: ${why}`);
  }
  return active;
}

/**
 * Record a verified COMSET so a restart keeps the reader. Returns the sentence for the
 * command result; a failed write is reported (the reader moved, but only until restart).
 */
export function persistComset(d: OverrideDeps, active: ActiveOverrides, readerId: string, now: { address: number; baud: number }): string {
  const rc = d.cfg.readers.find((r) => r.id === readerId);
  if (!rc) return 'not kept across restarts (reader not in the config)';
  try {
    if (now.address === rc.address && now.baud === d.cfg.baud) {
      d.store.delete(d.cfg.id, readerId);
      active.delete(readerId);
      return 'as configured';
    }
    const o: ComsetOverride = { address: now.address, baud: now.baud as ComsetOverride['baud'], configAddress: rc.address, configBaud: d.cfg.baud, at: new Date(d.now).toISOString() };
    d.store.set(d.cfg.id, readerId, o);
    active.set(readerId, { ...o, baudApplied: true });
    return `kept across restarts in ${d.store.path}; ${configHint(d.cfg, readerId, now)} to make it permanent`;
  } catch (err) {
    d.reportError(new Error(`COMSET of "${readerId}" not saved to ${d.store.path}: ${(err as Error).message}`), readerId);
    return `NOT saved (${(err as Error).message}): update the config now or the reader is lost at the next restart`;
  }
}

// Composition of local access decisions for the daemon (agent/daemon.ts): the card key,
// the credential store, the engine as a pipeline listener, the door actuator routed
// through the supervisor, and the command built-ins. docs/access.md describes the model.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { SealedEvent } from '../chain/chain.js';
import type { Observation } from '../events/types.js';
import { ObservationRefusedError } from '../admission.js';
import { loadOrCreatePinKey } from '../../drivers/osdp/cp/pin-key.js';
import { DoorActuator, type CommandRoute } from './actuate.js';
import { loadOrCreateCardKey } from './card-key.js';
import { accessBuiltins, accessEvidenceArgs } from './commands.js';
import type { AccessConfig } from './config.js';
import { ACCESS_DRIVER, AccessEngine } from './engine.js';
import { CredentialStore } from './store.js';

export { accessConfigSchema, type AccessConfig } from './config.js';
export { ACCESS_COMMANDS, accessEvidenceArgs } from './commands.js';

export interface AccessRuntime {
  engine: AccessEngine;
  store: CredentialStore;
  builtins: ReturnType<typeof accessBuiltins>;
  evidenceArgs: typeof accessEvidenceArgs;
  stop(): void;
}

export function startAccess(o: {
  config: AccessConfig;
  stateDir: string;
  pipeline: { ingest(driver: string, obs: Observation): SealedEvent; addListener(l: (e: SealedEvent) => unknown): void };
  route: CommandRoute;
  clock: Clock;
  log: Logger;
  /** After a list or lockdown change (the daemon republishes the retained `dev/access`). */
  onChange?: () => void;
}): AccessRuntime {
  const cardKey = loadOrCreateCardKey(o.config.cardKey ?? join(o.stateDir, 'access-card.key'));
  // The keypad PIN key the OSDP driver hashes entries with (pinPolicy hash): PINs are stored as the same digest.
  const pinKey = loadOrCreatePinKey(join(o.stateDir, 'osdp-pin.key'));
  const store = new CredentialStore(o.config.database ?? join(o.stateDir, 'access.db'));
  const ingest = (obs: Observation): SealedEvent | null => {
    try {
      return o.pipeline.ingest(ACCESS_DRIVER, obs);
    } catch (e) {
      // The spool cannot write and its backlog is full: the door still acted; the refusal is counted and declared.
      if (e instanceof ObservationRefusedError) return null;
      throw e;
    }
  };
  let engine: AccessEngine | undefined;
  const actuator = new DoorActuator(o.route, o.log, (door, what, target, detail) => engine?.actuationFailed(door, what, target, detail));
  engine = new AccessEngine({ config: o.config, store, cardKey, actuator, ingest, clock: o.clock, log: o.log });
  o.pipeline.addListener(engine.listener);
  const info = store.info;
  o.log.info({ doors: o.config.doors.length, listVersion: info.version, credentials: info.count, lockdown: engine.state.lockdown !== null, db: store.path }, 'access decisions on');
  const e = engine;
  return {
    engine: e,
    store,
    builtins: Object.fromEntries(
      Object.entries(accessBuiltins({ store, engine: e, cardKey, pinKey, ingest, now: () => o.clock.now() })).map(([name, run]) => [
        name,
        async (args: Parameters<typeof run>[0]) => {
          try {
            return await run(args);
          } finally {
            o.onChange?.();
          }
        },
      ]),
    ),
    evidenceArgs: accessEvidenceArgs,
    stop: () => {
      e.stop();
      store.close();
    },
  };
}

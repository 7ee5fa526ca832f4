// kind → lazy import of the driver's manifest. Lazy so a gateway without cameras never
// loads the ONVIF stack, and a broken optional dependency only breaks its own kind.
import type { DriverManifest } from './types.js';

type Loader = () => Promise<DriverManifest<unknown>>;

const registry: Record<string, Loader> = {
  modbus: async () => (await import('./modbus/index.js')).manifest as DriverManifest<unknown>,
  osdp: async () => (await import('./osdp/index.js')).manifest as DriverManifest<unknown>,
  wiegand: async () => (await import('./wiegand/index.js')).manifest as DriverManifest<unknown>,
  onvif: async () => (await import('./onvif/index.js')).manifest as DriverManifest<unknown>,
  netwatch: async () => (await import('./netwatch/index.js')).manifest as DriverManifest<unknown>,
  synthetic: async () => (await import('./synthetic/index.js')).manifest as DriverManifest<unknown>,
};

export function knownKinds(): string[] {
  return Object.keys(registry).sort();
}

export class UnknownDriverKindError extends Error {
  override readonly name = 'UnknownDriverKindError';
}

export async function loadManifest(kind: string): Promise<DriverManifest<unknown>> {
  const load = registry[kind];
  if (!load) {
    throw new UnknownDriverKindError(`unknown driver kind "${kind}" (known kinds: ${knownKinds().join(', ')})`);
  }
  return load();
}

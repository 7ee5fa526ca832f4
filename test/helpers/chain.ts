// Test helpers: a real chain with a throwaway key in a temp state dir.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chain, type ChainHead } from '../../agent/chain/chain.js';
import { createKeys, type GatewayKeys } from '../../agent/chain/keys.js';
import { systemClock } from '../../agent/clock.js';
import type { Severity } from '../../agent/events/types.js';

export function tempDir(prefix = 'gw-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function testKeys(dir = tempDir()): GatewayKeys {
  return createKeys(dir);
}

export function testChain(opts: { keys?: GatewayKeys; head?: ChainHead | null; site?: string; gw?: string } = {}): Chain {
  return new Chain({
    site: opts.site ?? 'site-t',
    gw: opts.gw ?? 'gw-t',
    keys: opts.keys ?? testKeys(),
    head: opts.head ?? null,
    clock: systemClock,
    bootId: 'test-boot',
  });
}

/** Seal n simple events (starting a new epoch when the chain has none). */
export function sealMany(chain: Chain, n: number, type = 'sensor.value.reading', severity: Severity = 'info') {
  const out = [];
  if (chain.needsEpoch) out.push(chain.newEpoch('fresh', null));
  while (out.length < n) out.push(chain.seal({ driver: 'test', device: 'dev-1', type, severity, data: { i: out.length } }));
  return out;
}

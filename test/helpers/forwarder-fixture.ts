// Builds a Forwarder for tests with config defaults from config/schema.ts (the only home
// of defaults) and a real chain feeding an in-memory spool.
import { mqttSchema, type MqttConfig } from '../../config/schema.js';
import { Forwarder, type ForwarderOptions } from '../../agent/forward/forwarder.js';
import type { Spool } from '../../agent/spool/types.js';
import { captureLog, type CapturedLog } from './mqtt-probe.js';

export const SITE = 'site-t';
export const GW = 'gw-t';
export const PREFIX = 'gatewarden/v1';
export const BASE = `${PREFIX}/${SITE}/${GW}`;

export function mqttConfig(over: Record<string, unknown>): MqttConfig {
  return mqttSchema.parse({ reconnect: { minMs: 50, maxMs: 400 }, ...over });
}

export function makeForwarder(o: {
  spool: Spool;
  mqtt: Record<string, unknown>;
  password?: string;
  random?: () => number;
  log?: CapturedLog;
}): { fwd: Forwarder; logs: CapturedLog } {
  const logs = o.log ?? captureLog();
  const opts: ForwarderOptions = {
    mqtt: mqttConfig(o.mqtt),
    site: SITE,
    gw: GW,
    spool: o.spool,
    log: logs.log,
    identity: { kid: 'kid-test', pubkey: 'pubkey-test', version: '0.0.0-test', epoch: () => o.spool.head()?.epoch ?? '' },
    health: () => ({ spoolDepth: o.spool.stats().depth }),
  };
  if (o.password !== undefined) opts.password = o.password;
  if (o.random) opts.random = o.random;
  return { fwd: new Forwarder(opts), logs };
}

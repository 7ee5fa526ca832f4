// The forwarder's publish options: shared, frozen objects, one allocation for the process
// instead of one per publish. The `hist` objects double as keys of their pre-encoded MQTT 5
// property sections (publish-encoder.ts recognises them by identity).
import type { MqttClient } from 'mqtt';
import { encodeUserProperties } from './publish-encoder.js';

export type PublishOpts = NonNullable<Parameters<MqttClient['publish']>[2]>;

export const QOS1: PublishOpts = Object.freeze({ qos: 1 });
export const QOS1_RETAIN: PublishOpts = Object.freeze({ qos: 1, retain: true });
// MQTT 5 user property hist (docs/contracts.md §Topics). Shared, frozen option objects: one allocation for
// the process instead of one per publish (seq and epoch are in the signed body already).
export const HIST1: PublishOpts = Object.freeze({ qos: 1, properties: Object.freeze({ userProperties: Object.freeze({ hist: '1' }) }) }) as PublishOpts;
export const HIST0: PublishOpts = Object.freeze({ qos: 1, properties: Object.freeze({ userProperties: Object.freeze({ hist: '0' }) }) }) as PublishOpts;
/** Their property sections, encoded once for the one-buffer PUBLISH path (publish-encoder.ts). */
export const ENCODED_PROPS: ReadonlyMap<object, Buffer> = new Map<object, Buffer>([
  [HIST1.properties as object, encodeUserProperties({ hist: '1' })],
  [HIST0.properties as object, encodeUserProperties({ hist: '0' })],
]);

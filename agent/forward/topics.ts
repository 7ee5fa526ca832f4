// The MQTT topic map of docs/contracts.md §Topics, in one place: the MQTT API typed per
// topic in one file. Every topic is `{prefix}/{site}/{gw}/…`; ids were checked by config/schema.ts
// to contain no '/', '+', '#', so no escaping is needed here.
import type { Family } from '../events/types.js';

export interface Topics {
  /** Retained QoS 1 birth `{online:true,…}`; the MQTT Will `{online:false, bdSeq}`. */
  state: string;
  /** QoS 1 signed events of one family, in seq order. */
  evt(family: Family): string;
  /** Retained device state. */
  dev(device: string): string;
  /** Periodic heartbeat (not retained). */
  health: string;
  /** Retained QoS 1 signed committed head (tail proof), published with every health tick and at shutdown. */
  head: string;
  /** Platform → gateway end-to-end acknowledgement `{epoch, seq, hash}` (QoS 1, not retained). */
  ack: string;
  /** Platform → gateway command `name`. */
  cmd(name: string): string;
  /** Subscription filter for all commands. */
  cmdFilter: string;
  /** Command results. */
  cmdResult: string;
  /** The command name of a topic under `cmd/`, or null when the topic is not one. */
  commandName(topic: string): string | null;
}

export function makeTopics(prefix: string, site: string, gw: string): Topics {
  const base = `${prefix}/${site}/${gw}`;
  const cmdBase = `${base}/cmd/`;
  // evt topics are built once per family: the publish loop must not allocate per event.
  const evtCache = new Map<string, string>();
  return {
    state: `${base}/state`,
    evt(family) {
      let t = evtCache.get(family);
      if (t === undefined) {
        t = `${base}/evt/${family}`;
        evtCache.set(family, t);
      }
      return t;
    },
    dev: (device) => `${base}/dev/${device}`,
    health: `${base}/health`,
    head: `${base}/head`,
    ack: `${base}/ack`,
    cmd: (name) => `${cmdBase}${name}`,
    cmdFilter: `${cmdBase}+`,
    cmdResult: `${base}/cmd-result`,
    commandName(topic) {
      if (!topic.startsWith(cmdBase)) return null;
      const name = topic.slice(cmdBase.length);
      return name.length > 0 && !name.includes('/') ? name : null;
    },
  };
}

// Small pure helpers of the forwarder: command messages from `cmd/{name}` and a bounded wait.
import type { IPublishPacket } from 'mqtt';
import type { IncomingCommand } from './forwarder-types.js';
import type { Topics } from './topics.js';

/** A `cmd/{name}` message as the command handler sees it (MQTT 5 reply routing kept); null for other topics. */
export function incomingCommand(topics: Topics, topic: string, payload: Buffer, packet: IPublishPacket): IncomingCommand | null {
  const name = topics.commandName(topic);
  if (name === null) return null;
  const cmd: IncomingCommand = { name, topic, payload };
  const p = packet.properties;
  if (p?.responseTopic) cmd.responseTopic = p.responseTopic;
  if (p?.correlationData) cmd.correlationData = p.correlationData;
  return cmd;
}

/** Resolves true when p settles within ms, false otherwise (p keeps running). */
export function within(p: Promise<void>, ms: number): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    p.then(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

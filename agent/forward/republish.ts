// Publishing stored rows again outside the forwarder's spool cursor (`spool.replay`,
// agent/commands/replay.ts): on their evt topics, historical (hist=1 under MQTT 5), at most
// the negotiated window in flight, spool marks untouched. The seam to the forwarder is
// PublishLink: the connected client (or none), its window, and a hook for the end of the
// connection, so a replay in progress stops waiting for PUBACKs that will never come.
import type { MqttClient } from 'mqtt';
import type { SpoolRow } from '../spool/types.js';
import { HIST1, QOS1 } from './publish-options.js';
import type { Topics } from './topics.js';

export interface PublishLink {
  readonly topics: Topics;
  readonly v5: boolean;
  /** The connected client, or null while not connected. */
  client(): MqttClient | null;
  /** Publishes in flight allowed on this connection. */
  window(): number;
  /** `cb` runs once when the current connection ends. */
  onClose(cb: () => void): void;
}

/** Publishes `rows` again, historical; resolves with how many the broker acknowledged. */
export async function republish(link: PublishLink, rows: readonly SpoolRow[]): Promise<number> {
  let ok = 0;
  let next = 0;
  await new Promise<void>((resolve) => {
    link.onClose(resolve);
    let inflight = 0;
    const fill = (): void => {
      const client = link.client();
      if (!client) {
        if (inflight === 0) resolve();
        return;
      }
      while (inflight < link.window() && next < rows.length) {
        const row = rows[next++];
        inflight++;
        client.publish(link.topics.evt(row.family), row.payload, link.v5 ? HIST1 : QOS1, (err) => {
          inflight--;
          if (!err) ok++;
          fill();
        });
      }
      if (inflight === 0 && next >= rows.length) resolve();
    };
    fill();
  });
  return ok;
}

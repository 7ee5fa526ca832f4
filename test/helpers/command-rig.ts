// The rig of the signed-command tests: a real mosquitto, a platform key pair the daemon
// trusts for commands, the real daemon (one synthetic heartbeat driver) and a probe on the
// gateway's topics. Resolves once the daemon is connected and its birth was seen; all of it
// is stopped when the test ends.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { TestContext } from 'node:test';
import { rawPublicKey } from '../../agent/chain/keys.js';
import { tempDir } from './chain.js';
import { spawnDaemon, writeDaemonConfig, type DaemonProcess } from './daemon.js';
import { startMosquitto, type MosquittoBroker } from './mosquitto.js';
import { probe, waitFor, type Probe } from './mqtt-probe.js';

/** The topic root of the gateway writeDaemonConfig configures. */
export const RIG_BASE = 'gatewarden/v1/site-t/gw-t';

export interface CommandRig {
  broker: MosquittoBroker;
  platform: { publicKey: KeyObject; privateKey: KeyObject };
  dir: string;
  daemon: DaemonProcess;
  sub: Probe;
}

/** `onMessage` sees every message of the probe as raw bytes, from before the daemon connects. */
export async function startCommandRig(t: TestContext, o: { onMessage?: (topic: string, payload: Buffer) => void } = {}): Promise<CommandRig> {
  const broker = await startMosquitto();
  t.after(() => broker.stop());
  const platform = generateKeyPairSync('ed25519');
  const dir = tempDir();
  const config = writeDaemonConfig(dir, {
    mqtt: { url: broker.url, reconnect: { minMs: 100, maxMs: 1000 } },
    commands: { publicKey: rawPublicKey(platform.publicKey).toString('base64url') },
    drivers: { synthetic: [{ id: 'heartbeat', intervalMs: 60000 }] },
  });
  const daemon = spawnDaemon(config);
  t.after(async () => {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  });
  const sub = await probe(broker.url, `${RIG_BASE}/#`);
  t.after(() => sub.close());
  const { onMessage } = o;
  if (onMessage) sub.client.on('message', (topic, payload) => onMessage(topic, Buffer.from(payload)));
  await daemon.waitLog(/connected to MQTT broker/);
  await waitFor(() => sub.on(`${RIG_BASE}/state`).some((m) => JSON.parse(m.payload).online === true), 'birth');
  return { broker, platform, dir, daemon, sub };
}

// OSDP end to end: the real daemon (`gatewarden run`) with `drivers.osdp` on one end
// of a socat pty pair, the test PD on the other, a real mosquitto. A 26-bit H10301 card
// (test/vectors/wiegand.json) becomes exactly one signed access.card.read on evt/access,
// in plaintext and inside a Secure Channel session; a signed `led` command (docs/contracts.md §Commands)
// reaches the PD; the whole received evt/# stream verifies with the gateway public key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { rawPublicKey } from '../../agent/chain/keys.js';
import { signCommand } from '../../agent/commands/sign.js';
import type { SignedEvent } from '../../agent/events/types.js';
import { verifyEvents } from '../../agent/verify/index.js';
import { tempDir } from '../helpers/chain.js';
import { gatewayPubkey, spawnDaemon, writeDaemonConfig, type DaemonProcess } from '../helpers/daemon.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.js';
import { probe, waitFor, type Probe } from '../helpers/mqtt-probe.js';
import { wiegandVectors } from '../helpers/osdp-vectors.js';
import { openPtyPair, type PtyPair } from '../helpers/pty.js';
import { startPdBus, type OsdpPd, type PdBus, type PdOptions } from '../peers/osdp-pd.js';

const BASE = 'gatewarden/v1/site-t/gw-t';
const SCBK = '000102030405060708090a0b0c0d0e0f';

interface Case {
  name: string;
  reader: Record<string, unknown>;
  pd: PdOptions;
  secure: boolean;
}

const cases: Case[] = [
  { name: 'plaintext', reader: { id: 'door-1-in', address: 5 }, pd: { address: 5 }, secure: false },
  {
    name: 'secure channel',
    reader: { id: 'door-1-in', address: 101, scbk: SCBK, secureRequired: true },
    pd: { address: 101, scbk: Buffer.from(SCBK, 'hex'), enforceSecure: true },
    secure: true,
  },
];

/** SIGTERM, then SIGKILL if the daemon has not exited within 5 s (cleanup stays bounded). */
async function stopDaemon(d: DaemonProcess): Promise<void> {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return;
  d.child.kill('SIGTERM');
  const t = setTimeout(() => d.child.kill('SIGKILL'), 5_000);
  await d.exited;
  clearTimeout(t);
}

for (const c of cases) {
  test(`${c.name}: card read → one signed access.card.read on MQTT; signed led reaches the PD`, { timeout: 60_000 }, async (t) => {
    const vec = wiegandVectors().formats.find((f) => f.format === 'H10301' && f.fc === 123 && f.cn === 4567);
    assert.ok(vec, 'H10301 FC 123 CN 4567 vector');
    const platform = generateKeyPairSync('ed25519');
    const dir = tempDir('gw-osdp-mqtt-');
    let broker: MosquittoBroker | undefined;
    let sub: Probe | undefined;
    let pty: PtyPair | undefined;
    let peer: (PdBus & { pd: OsdpPd }) | undefined;
    let daemon: DaemonProcess | undefined;
    // One hook, explicit order: the daemon lets go of the line and the broker first.
    t.after(async () => {
      if (daemon) await stopDaemon(daemon);
      await sub?.close().catch(() => undefined);
      await peer?.close().catch(() => undefined);
      await pty?.close();
      await broker?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    broker = await startMosquitto();
    // Subscribed before the daemon starts, so the stream is received from seq 1 on.
    sub = await probe(broker.url, `${BASE}/evt/#`);
    await new Promise<void>((resolve, reject) => sub!.client.subscribe(`${BASE}/cmd-result`, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
    pty = await openPtyPair();
    peer = await startPdBus(pty.b, [c.pd]);
    const config = writeDaemonConfig(dir, {
      mqtt: { url: broker.url, reconnect: { minMs: 100, maxMs: 1000 } },
      commands: { publicKey: rawPublicKey(platform.publicKey).toString('base64url') },
      drivers: { osdp: [{ id: 'bus1', port: pty.a, baud: 115200, readers: [c.reader] }] },
    });
    daemon = spawnDaemon(config);

    const s = sub;
    const events = (): SignedEvent[] => s.messages.filter((m) => m.topic.startsWith(`${BASE}/evt/`)).map((m) => JSON.parse(m.payload) as SignedEvent);
    const ofType = (type: string): SignedEvent[] => events().filter((e) => e.body.type === type);
    const d = daemon;
    // A timeout names the condition and shows the daemon's last log lines.
    const wait = (cond: () => boolean, what: string): Promise<void> =>
      waitFor(cond, what).catch((err: Error) => {
        throw new Error(`${err.message}\n--- daemon output ---\n${d.out().slice(-3000)}`);
      });

    await wait(() => ofType('access.reader.online').length > 0, 'access.reader.online');
    const online = ofType('access.reader.online')[0];
    assert.equal(online.body.src.device, 'door-1-in');
    assert.equal(online.body.data.secure, c.secure);
    assert.equal(peer.pd.secure, c.secure);

    peer.pd.presentCard(vec.bits);
    await wait(() => ofType('access.card.read').length > 0, 'access.card.read on MQTT');
    const cardMsgs = s.messages.filter((m) => m.topic.startsWith(`${BASE}/evt/`) && (JSON.parse(m.payload) as SignedEvent).body.type === 'access.card.read');
    assert.equal(cardMsgs[0].topic, `${BASE}/evt/access`);
    const card = ofType('access.card.read')[0];
    assert.equal(card.body.src.driver, 'osdp');
    assert.equal(card.body.src.device, 'door-1-in');
    assert.equal(card.body.data.format, 'H10301');
    assert.equal(card.body.data.facility, 123);
    assert.equal(card.body.data.cardNumber, 4567);
    assert.equal(card.body.data.bitCount, 26);
    assert.equal(card.body.data.bits, vec.bits);
    assert.equal(card.body.data.rawHex, vec.osdp_raw_data_hex);
    assert.equal(card.body.data.parityOk, true);
    assert.equal(card.body.data.secure, c.secure);
    assert.equal(typeof card.sig, 'string');

    // A signed led command through MQTT, addressed to the reader id. Its executed event is
    // sealed after the card read, so once it is here the card read count is final.
    const led = signCommand(platform.privateKey, 'led', { color: 'green', durationMs: 2000 }, { target: 'door-1-in' });
    void s.client.publish(`${BASE}/cmd/led`, JSON.stringify(led), { qos: 1 });
    const results = (): Array<Record<string, unknown>> => s.on(`${BASE}/cmd-result`).map((m) => JSON.parse(m.payload) as Record<string, unknown>);
    await wait(() => results().some((r) => r.id === led.body.id), 'led result');
    const result = results().find((r) => r.id === led.body.id)!;
    assert.equal(result.ok, true, JSON.stringify(result));
    await wait(() => ofType('system.command.executed').some((e) => e.body.data.id === led.body.id), 'command executed event');
    const ledCmds = peer.pd.received.filter((r) => r.cmd.type === 'LED');
    assert.equal(ledCmds.length, 1);
    assert.equal(ledCmds[0].secure, c.secure, 'LED travelled inside the session iff SC');
    const rec = peer.pd.commandsOf('LED')[0].records[0];
    assert.equal(rec.temporary.control, 2);
    assert.equal(rec.temporary.onColor, 2);
    assert.equal(rec.temporary.timer, 20);

    assert.equal(ofType('access.card.read').length, 1, 'exactly one card read');
    assert.equal(ofType('access.reader.secure_channel_failed').length, 0);

    const payloads = s.messages.filter((m) => m.topic.startsWith(`${BASE}/evt/`)).map((m) => m.payload);
    const report = verifyEvents(payloads, { pubkeys: [gatewayPubkey(join(dir, 'state'))] });
    assert.equal(report.ok, true, JSON.stringify(report.chains.flatMap((ch) => ch.findings).slice(0, 5)));
    assert.ok(report.chains.length >= 1 && payloads.length >= 3, `verified ${payloads.length} events in ${report.chains.length} chain(s)`);
  });
}

// Access decisions against the real daemon (`gatewarden run`) with the OSDP PD peer on a
// socat pty, a real mosquitto and signed credential commands:
// - PIN at a keypad that sends one key per osdp_KEYPAD reply (keypadEntry collect): a PIN
//   credential without an entry is denied pin-missing; the right PIN key by key ending
//   with '#' is granted (the strike OUT at the PD); a wrong one pin-wrong; the right PIN
//   without '#' is granted once the keypad pause ends the entry.
// - Reload: a door's nonSecureRead changed in the file and `gatewarden reload` → the next
//   read is decided under the new rule (signed system.config.reloaded names `access`, the
//   credential list is kept); an invalid access config is rejected with its path and the
//   rule in force keeps deciding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { rawPublicKey } from '../../agent/chain/keys.js';
import { signCommand } from '../../agent/commands/sign.js';
import type { JsonObject, SignedEvent } from '../../agent/events/types.js';
import { verifyEvents } from '../../agent/verify/index.js';
import { encodeWiegand } from '../../drivers/cards/formats.js';
import { tempDir } from '../helpers/chain.js';
import { gatewayPubkey, spawnDaemon, writeDaemonConfig, type DaemonProcess } from '../helpers/daemon.js';
import { runCli } from '../helpers/diag-cli.js';
import { validateObservationData } from '../helpers/event-schema.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { probe, waitFor } from '../helpers/mqtt-probe.js';
import { openPtyPair } from '../helpers/pty.js';
import { startPdBus } from '../peers/osdp-pd.js';

const BASE = 'gatewarden/v1/site-t/gw-t';
const card = (fc: number, cn: number): string => encodeWiegand('H10301', { fc, cn });

test('PIN key by key at an OSDP keypad; door rules reloaded live, an invalid access config rejected with its path', { timeout: 120_000 }, async (t) => {
  const platform = generateKeyPairSync('ed25519');
  const dir = tempDir('gw-access-reload-');
  const broker = await startMosquitto();
  const sub = await probe(broker.url, `${BASE}/#`, { clientId: 'access-reload-probe' });
  const pty = await openPtyPair();
  const peer = await startPdBus(pty.b, [{ address: 4, outputs: 2 }]);
  let daemon: DaemonProcess | undefined;
  t.after(async () => {
    if (daemon && daemon.child.exitCode === null) {
      daemon.child.kill('SIGTERM');
      await daemon.exited;
    }
    await sub.close().catch(() => undefined);
    await peer.close().catch(() => undefined);
    await pty.close();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const door = { id: 'lab', readers: ['rdr-kp'], strike: { osdpReader: 'rdr-kp', output: 0 }, pulseMs: 1000, rules: { nonSecureRead: 'alarm' } };
  const config = writeDaemonConfig(dir, {
    mqtt: { url: broker.url, reconnect: { minMs: 100, maxMs: 500 } },
    commands: { publicKey: rawPublicKey(platform.publicKey).toString('base64url') },
    access: { enabled: true, pinTimeoutSeconds: 3, doors: [door] },
    drivers: { osdp: [{ id: 'bus1', port: pty.a, baud: 115200, readers: [{ id: 'rdr-kp', address: 4, pinPolicy: 'hash', keypadTimeoutMs: 600 }] }] },
  });
  const good = parse(readFileSync(config, 'utf8')) as Record<string, unknown> & { access: Record<string, unknown> };
  const withDoor = (rules: Record<string, unknown>): string => stringify({ ...good, access: { ...good.access, doors: [{ ...door, rules }] } });
  daemon = spawnDaemon(config);
  const d = daemon;
  const wait = (cond: () => boolean, what: string): Promise<void> =>
    waitFor(cond, what).catch((err: Error) => {
      throw new Error(`${err.message}\n--- daemon output ---\n${d.out().slice(-3000)}`);
    });
  const events = (): SignedEvent[] => sub.messages.filter((m) => m.topic.startsWith(`${BASE}/evt/`)).map((m) => JSON.parse(m.payload) as SignedEvent);
  const ofType = (type: string): SignedEvent[] => events().filter((e) => e.body.type === type);
  const decisions = (): SignedEvent[] => events().filter((e) => e.body.type === 'access.card.granted' || e.body.type === 'access.card.denied');
  const results = (): JsonObject[] => sub.on(`${BASE}/cmd-result`).map((m) => JSON.parse(m.payload) as JsonObject);
  const command = async (name: string, args: JsonObject): Promise<JsonObject> => {
    const c = signCommand(platform.privateKey, name, args, { site: 'site-t', gw: 'gw-t' });
    await sub.client.publishAsync(`${BASE}/cmd/${name}`, JSON.stringify(c), { qos: 1 });
    await wait(() => results().some((r) => r.id === c.body.id), `${name} result`);
    return results().find((r) => r.id === c.body.id)!;
  };
  /** Present a card, then (optionally) type keys one reply each; resolves with the decision. */
  const present = async (bits: string, keys: string[] = []): Promise<SignedEvent> => {
    const n = decisions().length;
    peer.pd.presentCard(bits);
    for (const k of keys) peer.pd.keypad(k);
    await wait(() => decisions().length > n, 'a decision');
    return decisions()[n];
  };
  const strikes = (): number => peer.pd.commandsOf('OUT').filter((o) => o.records.some((r) => r.output === 0 && r.control === 5)).length;

  await wait(() => ofType('access.reader.online').length >= 1, 'reader online');
  const put = await command('access.credentials.put', {
    version: 7,
    groups: { staff: { doors: ['lab'] } },
    credentials: [
      { id: 'alice', card: { format: 'H10301', facility: 20, number: 1 }, groups: ['staff'] },
      { id: 'dave', card: { format: 'H10301', facility: 20, number: 2 }, groups: ['staff'], pin: '4711' },
    ],
  });
  assert.equal(put.ok, true, JSON.stringify(put));

  // PIN: none typed → pin-missing after pinTimeoutSeconds, no strike.
  const none = await present(card(20, 2));
  assert.deepEqual([none.body.type, none.body.data.credential, none.body.data.reason], ['access.card.denied', 'dave', 'pin-missing']);
  assert.equal(strikes(), 0);
  // The right PIN, one key per reply, '#' ends it → granted, the strike at the PD.
  const right = await present(card(20, 2), ['4', '7', '1', '1', '#']);
  assert.deepEqual([right.body.type, right.body.data.credential, right.body.data.pin], ['access.card.granted', 'dave', true], JSON.stringify(right.body.data));
  await wait(() => strikes() === 1, 'strike OUT at the PD');
  const entry = ofType('access.keypad').at(-1)!;
  assert.deepEqual([entry.body.data.end, entry.body.data.replies, entry.body.data.length], ['#', 5, 5]);
  assert.deepEqual(right.body.data.keypad, { epoch: entry.body.epoch, seq: entry.body.seq }, 'the grant names the entry');
  assert.equal(ofType('access.keypad').length, 1, 'one entry, not one event per key');
  // A wrong PIN → pin-wrong; the right one without '#' → granted when the keypad pause ends it.
  const wrong = await present(card(20, 2), ['1', '2', '3', '4', '#']);
  assert.deepEqual([wrong.body.type, wrong.body.data.reason], ['access.card.denied', 'pin-wrong']);
  const paused = await present(card(20, 2), ['4', '7', '1', '1']);
  assert.deepEqual([paused.body.type, paused.body.data.pin], ['access.card.granted', true]);
  assert.deepEqual([ofType('access.keypad').at(-1)!.body.data.end, ofType('access.keypad').at(-1)!.body.data.length], ['timeout', 4]);
  await wait(() => strikes() === 2, 'second strike OUT');

  // Reload: the plain reader's read is granted with the alarm under nonSecureRead alarm …
  const before = await present(card(20, 1));
  assert.deepEqual([before.body.type, before.body.data.alarms], ['access.card.granted', ['reader-not-secure']]);
  await wait(() => strikes() === 3, 'strike for the grant with the alarm');
  writeFileSync(config, withDoor({ nonSecureRead: 'deny' }));
  const ok = await runCli(['reload', '-c', config]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.doesNotMatch(ok.stdout, /applied only at restart/);
  await wait(() => ofType('system.config.reloaded').length === 1, 'system.config.reloaded');
  assert.deepEqual(ofType('system.config.reloaded')[0].body.data, { started: [], stopped: [], restarted: [], needRestart: [], access: ['doors'] });
  // … and denied under deny, decided by the running daemon with the list it held.
  const after = await present(card(20, 1));
  assert.deepEqual([after.body.type, after.body.data.reason, after.body.data.listVersion], ['access.card.denied', 'reader-not-secure', 7]);
  assert.ok(after.body.seq > ofType('system.config.reloaded')[0].body.seq);

  // An invalid access config: rejected with its path; the rule in force (deny) keeps deciding.
  writeFileSync(config, withDoor({ nonSecureRead: 'sometimes' }));
  const bad = await runCli(['reload', '-c', config]);
  assert.equal(bad.code, 1, bad.stdout + bad.stderr);
  assert.match(bad.stdout, /access\.doors\[0\]\.rules\.nonSecureRead: Invalid option/);
  await wait(() => ofType('system.config.rejected').length === 1, 'system.config.rejected');
  assert.match(String(ofType('system.config.rejected')[0].body.data.error), /access\.doors\[0\]\.rules\.nonSecureRead: Invalid option/);
  const still = await present(card(20, 1));
  assert.deepEqual([still.body.type, still.body.data.reason], ['access.card.denied', 'reader-not-secure']);
  assert.equal(strikes(), 3, 'no strike for the denials');

  // A restart-only key (the database path) is reported, not applied; the rules still apply live.
  writeFileSync(config, stringify({ ...good, access: { ...good.access, database: join(dir, 'other.db'), doors: [{ ...door, rules: { nonSecureRead: 'allow' } }] } }));
  const mixed = await runCli(['reload', '-c', config]);
  assert.equal(mixed.code, 0, mixed.stdout + mixed.stderr);
  assert.match(mixed.stdout, /applied only at restart: access/);
  const open = await present(card(20, 1));
  assert.deepEqual([open.body.type, open.body.data.alarms, open.body.data.listVersion], ['access.card.granted', [], 7]);
  await wait(() => strikes() === 4, 'strike under allow');

  const payloads = sub.messages.filter((m) => m.topic.startsWith(`${BASE}/evt/`)).map((m) => m.payload);
  const report = verifyEvents(payloads, { pubkeys: [gatewayPubkey(join(dir, 'state'))] });
  assert.equal(report.ok, true, JSON.stringify(report.chains.flatMap((ch) => ch.findings).slice(0, 5)));
  for (const e of events()) if (e.body.src.driver === 'access' || e.body.type === 'access.keypad' || e.body.type.startsWith('system.config.')) assert.equal(validateObservationData(e.body.type, e.body.data), null, e.body.type);
  // What the gateway published (not the platform's own command, which carries the PIN to it): no PIN in any field.
  const leaked = sub.messages.filter((m) => !m.topic.includes('/cmd/') && JSON.stringify(JSON.parse(m.payload), (k, v: unknown) => (k === 'sig' || k === 'prev' || k === 'hash' || k === 'hmac' ? undefined : v)).match(/[":]4711(?!\d)/));
  assert.deepEqual(leaked.map((m) => m.topic), [], 'the PIN never leaves the gateway');
});

// Access decisions that drive a Modbus coil, and credential updates the gateway refuses,
// against the real daemon (`gatewarden run`): one OSDP reader (the test PD peer on a socat
// pty), a Modbus TCP unit on the pymodbus peer (logWrites), a real mosquitto and signed
// commands from a platform key.
// - a door with a `{modbus, point}` strike: a listed card → the peer sees the coil written
//   on, then off (output.pulse through the supervisor); a denied card → no write at all.
// - `access.credentials.put` with a bad signature, an old version and a malformed entry is
//   each refused with its reason over the real command path, and the credential database
//   is unchanged byte for byte (rows and version) after all three.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { rawPublicKey } from '../../agent/chain/keys.js';
import { signCommand } from '../../agent/commands/sign.js';
import type { JsonObject, SignedEvent } from '../../agent/events/types.js';
import { encodeWiegand } from '../../drivers/cards/formats.js';
import { tempDir } from '../helpers/chain.js';
import { spawnDaemon, writeDaemonConfig, type DaemonProcess } from '../helpers/daemon.js';
import { validateObservationData } from '../helpers/event-schema.js';
import { runCli } from '../helpers/diag-cli.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { probe, waitFor } from '../helpers/mqtt-probe.js';
import { openPtyPair } from '../helpers/pty.js';
import { startPdBus } from '../peers/osdp-pd.js';
import { startPeer } from './modbus-harness.js';

const BASE = 'gatewarden/v1/site-t/gw-t';
const card = (fc: number, cn: number): string => encodeWiegand('H10301', { fc, cn });
const STRIKE_COIL = 6;

/** What the credential database holds: every row and the meta table (version, count, policy). */
function dbSnapshot(path: string): string {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT * FROM credentials ORDER BY hash').all();
    const meta = db.prepare("SELECT k, v FROM meta WHERE k NOT LIKE 'state.%' ORDER BY k").all();
    return JSON.stringify({ rows, meta });
  } finally {
    db.close();
  }
}

test('a Modbus coil strike pulses on a grant and stays untouched on a denial; bad credential updates are refused and change nothing', { timeout: 120_000 }, async (t) => {
  const platform = generateKeyPairSync('ed25519');
  const stranger = generateKeyPairSync('ed25519');
  const dir = tempDir('gw-access-modbus-');
  const broker = await startMosquitto();
  const sub = await probe(broker.url, `${BASE}/#`, { clientId: 'access-modbus-probe' });
  const plc = await startPeer({ transport: 'tcp', port: 0, logWrites: true, units: { '1': { size: 16 } } });
  const pty = await openPtyPair();
  const peer = await startPdBus(pty.b, [{ address: 3 }]);
  let daemon: DaemonProcess | undefined;
  t.after(async () => {
    if (daemon && daemon.child.exitCode === null) {
      daemon.child.kill('SIGTERM');
      await daemon.exited;
    }
    await sub.close().catch(() => undefined);
    await peer.close().catch(() => undefined);
    await pty.close();
    await plc.kill();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = writeDaemonConfig(dir, {
    mqtt: { url: broker.url, reconnect: { minMs: 100, maxMs: 500 } },
    commands: { publicKey: rawPublicKey(platform.publicKey).toString('base64url') },
    access: {
      enabled: true,
      doors: [{ id: 'gate', readers: ['rdr-1'], strike: { modbus: 'plc', point: 'gate_strike' }, pulseMs: 400, rules: { nonSecureRead: 'allow' } }],
    },
    drivers: {
      osdp: [{ id: 'bus1', port: pty.a, baud: 115200, readers: [{ id: 'rdr-1', address: 3 }] }],
      modbus: [
        {
          id: 'plc-bus',
          transport: { type: 'tcp', host: '127.0.0.1', port: Number(plc.where) },
          units: [{ id: 'plc', unitId: 1, pollIntervalMs: 1000, points: [{ name: 'gate_strike', table: 'coil', address: STRIKE_COIL, type: 'bool', writable: true }] }],
        },
      ],
    },
  });
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
  const command = async (name: string, args: JsonObject, key = platform.privateKey): Promise<JsonObject> => {
    const c = signCommand(key, name, args, { site: 'site-t', gw: 'gw-t' });
    await sub.client.publishAsync(`${BASE}/cmd/${name}`, JSON.stringify(c), { qos: 1 });
    await wait(() => results().some((r) => r.id === c.body.id), `${name} result`);
    return results().find((r) => r.id === c.body.id)!;
  };
  const present = async (bits: string): Promise<SignedEvent> => {
    const n = decisions().length;
    peer.pd.presentCard(bits);
    await wait(() => decisions().length > n, 'a decision');
    return decisions()[n];
  };
  const coil = (value: boolean) => ({ unit: 1, fc: 5, address: STRIKE_COIL, values: [value] });

  await wait(() => ofType('access.reader.online').length >= 1, 'reader online');
  await wait(() => sub.on(`${BASE}/dev/plc`).some((m) => JSON.parse(m.payload).online === true), 'plc online');
  const v1 = {
    version: 1,
    groups: { staff: { doors: ['gate'] } },
    credentials: [{ id: 'alice', card: { format: 'H10301', facility: 10, number: 500 }, groups: ['staff'] }],
  };
  assert.equal((await command('access.credentials.put', v1)).ok, true);

  // A denied card first: no write reaches the peer …
  const denied = await present(card(10, 501));
  assert.deepEqual([denied.body.type, denied.body.data.reason], ['access.card.denied', 'unknown']);
  // … then a listed card: the coil on, then off (the pulse's end), and nothing else — a
  // denial's write would have reached the peer before these on the same connection.
  const granted = await present(card(10, 500));
  assert.deepEqual([granted.body.type, granted.body.data.credential, granted.body.data.door, granted.body.data.pulseMs, granted.body.data.strike], ['access.card.granted', 'alice', 'gate', 400, true]);
  await wait(() => plc.writes().length >= 2, 'coil on and off at the peer');
  assert.deepEqual(plc.writes(), [coil(true), coil(false)]);
  assert.equal(ofType('access.door.actuation_failed').length, 0, 'the strike reported no failure');

  // Refused updates, each with its reason, the database unchanged.
  const dbFile = join(dir, 'state', 'access.db');
  const before = dbSnapshot(dbFile);
  const mallory = { id: 'mallory', card: { format: 'H10301', facility: 10, number: 666 }, groups: ['staff'] };
  const badSig = await command('access.credentials.put', { ...v1, version: 2, credentials: [...v1.credentials, mallory] }, stranger.privateKey);
  assert.deepEqual([badSig.ok, badSig.error], [false, 'bad-signature'], JSON.stringify(badSig));
  const old = await command('access.credentials.put', { ...v1, credentials: [...v1.credentials, mallory] });
  assert.deepEqual([old.ok, (old.data as JsonObject).reason, (old.data as JsonObject).heldVersion], [false, 'old-version', 1], JSON.stringify(old));
  assert.match(String(old.detail), /version 1 is not newer than the held version 1/);
  const malformed = await command('access.credentials.put', { ...v1, version: 3, credentials: [mallory, { id: 'eve', card: { facility: 10, number: -4 }, groups: ['staff'] }] });
  assert.deepEqual([malformed.ok, (malformed.data as JsonObject).reason], [false, 'malformed'], JSON.stringify(malformed));
  assert.match(String(malformed.detail), /credentials\.1\.card/);
  const patchOld = await command('access.credentials.patch', { baseVersion: 1, version: 1, upsert: [mallory] });
  assert.deepEqual([patchOld.ok, (patchOld.data as JsonObject).reason], [false, 'old-version'], JSON.stringify(patchOld));

  // Evidence: the forged list is a signed system.command.rejected and never reached the
  // access code; the other three are signed access.credentials.refused with their reason.
  await wait(() => ofType('access.credentials.refused').length === 3, 'three refusals recorded');
  assert.deepEqual(ofType('access.credentials.refused').map((e) => [e.body.data.command, e.body.data.reason, e.body.data.heldVersion]), [
    ['access.credentials.put', 'old-version', 1],
    ['access.credentials.put', 'malformed', 1],
    ['access.credentials.patch', 'old-version', 1],
  ]);
  await wait(() => ofType('system.command.rejected').some((e) => e.body.data.reason === 'bad-signature'), 'bad signature rejected');
  assert.ok(!ofType('system.command.accepted').some((e) => e.body.data.id === badSig.id), 'the forged list was not accepted');
  assert.equal(dbSnapshot(dbFile), before, 'the credential database is unchanged');
  const health = sub.on(`${BASE}/dev/access`).map((m) => JSON.parse(m.payload) as { info: JsonObject }).at(-1)!;
  assert.deepEqual([health.info.listVersion, health.info.credentials], [1, 1]);

  // And the doors decide as before: mallory unknown, no write; alice opens again.
  const m = await present(card(10, 666));
  assert.deepEqual([m.body.type, m.body.data.reason, m.body.data.listVersion], ['access.card.denied', 'unknown', 1]);
  const again = await present(card(10, 500));
  assert.equal(again.body.type, 'access.card.granted');
  await wait(() => plc.writes().length >= 4, 'second pulse at the peer');
  assert.deepEqual(plc.writes(), [coil(true), coil(false), coil(true), coil(false)]);
  // The technician override on a Modbus strike: exit 0 once the pulse is done (the coil off again), evidence first.
  const unlock = await runCli(['door', 'unlock', 'gate', '--for', '1500ms', '--config', config]);
  assert.equal(unlock.code, 0, unlock.stdout + unlock.stderr);
  assert.match(unlock.stdout, /door gate released for 1\.5 s/);
  await wait(() => plc.writes().length >= 6, 'override pulse at the peer');
  assert.deepEqual(plc.writes().slice(4), [coil(true), coil(false)]);
  await wait(() => ofType('access.door.override').length === 1, 'access.door.override');
  assert.deepEqual(ofType('access.door.override')[0].body.data, { door: 'gate', forMs: 1500, via: 'control-socket', lockdown: false });
  for (const e of events()) if (e.body.src.driver === 'access') assert.equal(validateObservationData(e.body.type, e.body.data), null, e.body.type);
});

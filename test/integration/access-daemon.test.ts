// Access decisions end to end: the real daemon (`gatewarden run`) with one OSDP bus on a
// socat pty (the test PD peer: one plain reader, one in Secure Channel) and a Wiegand
// converter on another pty, a real mosquitto, signed commands from a platform key. Shows:
// a listed card opens the door (osdp_OUT seen at the PD, inside the session for the SC
// reader); unlisted / expired / out-of-schedule denied with the reason; a plain read at a
// secure-only door denied; the Wiegand path granted with the alarm; the broker down —
// decisions go on (OUT at the PD) and their events arrive later, in seq order; lockdown
// survives a restart and release restores; five denials at one door open brute_force;
// every received event verifies and every access event matches docs/events.schema.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { rawPublicKey } from '../../agent/chain/keys.js';
import { signCommand } from '../../agent/commands/sign.js';
import type { JsonObject, SignedEvent } from '../../agent/events/types.js';
import { verifyEvents } from '../../agent/verify/index.js';
import { encodeWiegand } from '../../drivers/cards/formats.js';
import { SerialBytePort } from '../../drivers/transport/serial.js';
import { tempDir } from '../helpers/chain.js';
import { gatewayPubkey, spawnDaemon, writeDaemonConfig, type DaemonProcess } from '../helpers/daemon.js';
import { validateObservationData } from '../helpers/event-schema.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { probe, waitFor } from '../helpers/mqtt-probe.js';
import { openPtyPair } from '../helpers/pty.js';
import { startPdBus } from '../peers/osdp-pd.js';

const BASE = 'gatewarden/v1/site-t/gw-t';
const MAIN = new URL('../../agent/cli/main.ts', import.meta.url).pathname;

/** The CLI as a child, without blocking this process (the PD peer answers the bus from here). */
function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
const SCBK = '000102030405060708090a0b0c0d0e0f';
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const card = (fc: number, cn: number): string => encodeWiegand('H10301', { fc, cn });

async function stopDaemon(d: DaemonProcess): Promise<void> {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return;
  d.child.kill('SIGTERM');
  const t = setTimeout(() => d.child.kill('SIGKILL'), 5_000);
  await d.exited;
  clearTimeout(t);
}

test('door decisions over OSDP (plain + SC) and Wiegand, offline, lockdown across restart, brute_force', { timeout: 120_000 }, async (t) => {
  const platform = generateKeyPairSync('ed25519');
  const dir = tempDir('gw-access-e2e-');
  const broker = await startMosquitto();
  const sub = await probe(broker.url, `${BASE}/evt/#`, { clean: false, clientId: 'access-e2e-probe', reconnectPeriod: 100 });
  await new Promise<void>((resolve, reject) => sub.client.subscribe(`${BASE}/cmd-result`, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
  const osdpPty = await openPtyPair();
  const wgPty = await openPtyPair();
  const peer = await startPdBus(osdpPty.b, [{ address: 5, outputs: 2 }, { address: 101, scbk: Buffer.from(SCBK, 'hex'), enforceSecure: true }]);
  const plainPd = peer.find(5)!;
  const scPd = peer.find(101)!;
  const wg = new SerialBytePort({ path: wgPty.b, baudRate: 9600 });
  await wg.open();
  let daemon: DaemonProcess | undefined;
  t.after(async () => {
    if (daemon) await stopDaemon(daemon);
    await sub.close().catch(() => undefined);
    await peer.close().catch(() => undefined);
    await wg.close().catch(() => undefined);
    await osdpPty.close();
    await wgPty.close();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const other = DAYS.filter((_, i) => i !== new Date().getUTCDay());
  const config = writeDaemonConfig(dir, {
    mqtt: { url: broker.url, reconnect: { minMs: 100, maxMs: 500 } },
    commands: { publicKey: rawPublicKey(platform.publicKey).toString('base64url') },
    access: {
      enabled: true,
      timezone: 'UTC',
      doors: [
        { id: 'front', readers: ['rdr-sc'], strike: { osdpReader: 'rdr-sc', output: 0 }, pulseMs: 2000 },
        { id: 'back', readers: ['rdr-plain'], strike: { osdpReader: 'rdr-plain', output: 0 }, rules: { nonSecureRead: 'deny' } },
        { id: 'side', readers: ['wg-1'], strike: { osdpReader: 'rdr-plain', output: 1 }, feedbackReader: 'rdr-plain', rules: { nonSecureRead: 'alarm' } },
      ],
    },
    drivers: {
      osdp: [{ id: 'bus1', port: osdpPty.a, baud: 115200, readers: [{ id: 'rdr-plain', address: 5 }, { id: 'rdr-sc', address: 101, scbk: SCBK, secureRequired: true }] }],
      wiegand: [{ id: 'wg-1', port: wgPty.a, baud: 9600, lineFormat: 'bits' }],
    },
  });
  daemon = spawnDaemon(config);
  const events = (): SignedEvent[] => sub.messages.filter((m) => m.topic.startsWith(`${BASE}/evt/`)).map((m) => JSON.parse(m.payload) as SignedEvent);
  const ofType = (type: string): SignedEvent[] => events().filter((e) => e.body.type === type);
  const decisions = (): SignedEvent[] => events().filter((e) => e.body.type === 'access.card.granted' || e.body.type === 'access.card.denied');
  const wait = (cond: () => boolean, what: string): Promise<void> =>
    waitFor(cond, what).catch((err: Error) => {
      throw new Error(`${err.message}\n--- daemon output ---\n${daemon!.out().slice(-3000)}`);
    });
  const results = (): JsonObject[] => sub.on(`${BASE}/cmd-result`).map((m) => JSON.parse(m.payload) as JsonObject);
  const command = async (name: string, args: JsonObject): Promise<JsonObject> => {
    const c = signCommand(platform.privateKey, name, args, { site: 'site-t', gw: 'gw-t' });
    await sub.client.publishAsync(`${BASE}/cmd/${name}`, JSON.stringify(c), { qos: 1 });
    await wait(() => results().some((r) => r.id === c.body.id), `${name} result`);
    return results().find((r) => r.id === c.body.id)!;
  };
  /** Present a card and wait for the n-th decision. */
  const present = async (what: () => void): Promise<SignedEvent> => {
    const n = decisions().length;
    what();
    await wait(() => decisions().length > n, 'a decision');
    return decisions()[n];
  };
  const outs = (pd: typeof plainPd, output: number) => pd.received.filter((r) => r.cmd.type === 'OUT' && r.cmd.records.some((x) => x.output === output && x.control === 5));

  await wait(() => ofType('access.reader.online').length >= 2, 'both readers online');
  const put = await command('access.credentials.put', {
    version: 1,
    schedules: { never: [{ days: other, from: '00:00', to: '24:00' }] },
    groups: { staff: { doors: ['front', 'back', 'side'] }, late: { doors: ['front'], schedule: 'never' } },
    credentials: [
      { id: 'alice', card: { format: 'H10301', facility: 123, number: 4567 }, groups: ['staff'] },
      { id: 'bob', card: { format: 'H10301', facility: 123, number: 1 }, groups: ['staff'], validTo: '2020-01-01T00:00:00Z' },
      { id: 'carol', card: { format: 'H10301', facility: 123, number: 2 }, groups: ['late'] },
    ],
  });
  assert.equal(put.ok, true, JSON.stringify(put));
  const accepted = ofType('system.command.accepted').find((e) => e.body.data.name === 'access.credentials.put');
  assert.ok(accepted, 'system.command.accepted');
  assert.deepEqual(accepted.body.data.args, { version: 1, credentials: 3, upsert: null, remove: null, redacted: 'card numbers and PINs are not recorded' }, 'command evidence holds the shape, no card number');

  // SC reader: granted, the strike OUT travelled inside the session.
  const g = await present(() => scPd.presentCard(card(123, 4567)));
  assert.equal(g.body.type, 'access.card.granted');
  assert.deepEqual([g.body.data.credential, g.body.data.door, g.body.data.secure], ['alice', 'front', true]);
  await wait(() => outs(scPd, 0).length === 1, 'OUT 0 at the SC PD');
  assert.equal(outs(scPd, 0)[0].secure, true);
  await wait(() => scPd.received.some((r) => r.cmd.type === 'LED') && scPd.received.some((r) => r.cmd.type === 'BUZ'), 'green LED and beep');
  for (const [cn, reason] of [[999, 'unknown'], [1, 'expired'], [2, 'outside-schedule']] as const) {
    const d = await present(() => scPd.presentCard(card(123, cn)));
    assert.deepEqual([d.body.type, d.body.data.reason], ['access.card.denied', reason]);
  }
  assert.equal(outs(scPd, 0).length, 1, 'no strike for a denial');
  // Plain reader at a secure-only door.
  const plain = await present(() => plainPd.presentCard(card(123, 4567)));
  assert.deepEqual([plain.body.type, plain.body.data.reason], ['access.card.denied', 'reader-not-secure']);
  assert.equal(outs(plainPd, 0).length, 0);
  // Wiegand converter: granted with the alarm; the strike is an OUT on the plain reader.
  const w = await present(() => void wg.write(Buffer.from(`${card(123, 4567)}\n`)));
  assert.deepEqual([w.body.type, w.body.data.door, w.body.data.alarms, w.body.severity], ['access.card.granted', 'side', ['reader-not-secure'], 'alarm']);
  await wait(() => outs(plainPd, 1).length === 1, 'OUT 1 at the plain PD');

  // Broker down: the door still decides; the events come later, in order.
  await broker.halt();
  const before = decisions().length;
  scPd.presentCard(card(123, 4567));
  await wait(() => outs(scPd, 0).length === 2, 'OUT with the broker down');
  scPd.presentCard(card(123, 998));
  await wait(() => scPd.received.filter((r) => r.cmd.type === 'LED').length >= 3, 'deny LED with the broker down');
  await broker.restart();
  await wait(() => decisions().length >= before + 2, 'offline decisions delivered');
  const late = decisions().slice(before);
  assert.deepEqual(late.map((e) => [e.body.type, e.body.data.credential]), [['access.card.granted', 'alice'], ['access.card.denied', null]]);
  const seqs = events().map((e) => e.body.seq);
  assert.ok(late[0].body.seq < late[1].body.seq);

  // Lockdown, kept across a restart; release.
  assert.equal((await command('access.lockdown', { reason: 'test' })).ok, true);
  const l = await present(() => scPd.presentCard(card(123, 4567)));
  assert.equal(l.body.data.reason, 'lockdown');
  await stopDaemon(daemon);
  daemon = spawnDaemon(config);
  await wait(() => ofType('system.agent.start').length >= 2, 'restarted');
  await wait(() => ofType('access.reader.online').length >= 4, 'readers online again');
  const l2 = await present(() => scPd.presentCard(card(123, 4567)));
  assert.deepEqual([l2.body.data.reason, l2.body.data.listVersion], ['lockdown', 1]);
  assert.equal((await command('access.release', {})).ok, true);
  const r = await present(() => scPd.presentCard(card(123, 4567)));
  assert.equal(r.body.type, 'access.card.granted');

  // Technician override over the control socket: signed evidence, then the strike.
  const outsBefore = outs(scPd, 0).length;
  const ok = await cli(['door', 'unlock', 'front', '--for', '3s', '--config', config]);
  assert.equal(ok.status, 0, ok.stderr + ok.stdout);
  await wait(() => outs(scPd, 0).length > outsBefore, 'override OUT at the PD');
  const o = outs(scPd, 0).at(-1)!.cmd;
  assert.equal(o.type === 'OUT' ? o.records[0].timer : -1, 30, 'a 3 s pulse');
  await wait(() => ofType('access.door.override').length === 1, 'access.door.override');
  assert.deepEqual(ofType('access.door.override')[0].body.data, { door: 'front', forMs: 3000, via: 'control-socket', lockdown: false });
  const bad = await cli(['door', 'unlock', 'nowhere', '--for', '3s', '--config', config]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /no door "nowhere"/);

  // Five denials in a minute at one door.
  for (let i = 0; i < 5; i++) await present(() => plainPd.presentCard(card(7, 100 + i)));
  await wait(() => ofType('incident.access.brute_force').length > 0, 'brute_force incident');
  const inc = ofType('incident.access.brute_force')[0];
  assert.equal((inc.body.data.events as unknown[]).length, 5);

  // Everything verifies; every access event matches the schema.
  const payloads = sub.messages.filter((m) => m.topic.startsWith(`${BASE}/evt/`)).map((m) => m.payload);
  const report = verifyEvents(payloads, { pubkeys: [gatewayPubkey(join(dir, 'state'))] });
  assert.equal(report.ok, true, JSON.stringify(report.chains.flatMap((ch) => ch.findings).slice(0, 5)));
  for (const e of events()) if (e.body.src.driver === 'access') assert.equal(validateObservationData(e.body.type, e.body.data), null);
  assert.ok(seqs.length > 20);
});

// OSDP osdp_COMSET (v2.2 §6.14) end to end: the real driver against the test PD over a socat
// pty pair. The PD answers osdp_COM at the OLD address/baud and switches afterwards; the CP
// follows (address + tcsetattr on its pty), verifies with a POLL and keeps the reader online.
// Bad arguments never reach the wire; a PD that answers COM but stays is reported and the
// CP falls back to the old settings. Observations are schema-checked by the harness context
// (../helpers/event-schema.ts). No timing assertions: every wait polls for a condition.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonObject } from '../../agent/events/types.js';
import type { OsdpDriver } from '../../drivers/osdp/driver.js';
import { encodeWiegand } from '../../drivers/cards/formats.js';
import { startRig, type OsdpRig } from '../helpers/osdp-harness.js';
import type { PdOptions } from '../peers/osdp-pd.js';
import { waitUntil } from '../helpers/driver-context.js';

const K = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
/** Short enough that "stays online" is shown by waiting past it; long enough for a noisy CI box. */
const OFFLINE_AFTER_MS = 2000;

/** A rig torn down after the test, including the context's (empty) state folder. */
async function rigFor(t: TestContext, cfg: Record<string, unknown>, pds: PdOptions[]): Promise<OsdpRig> {
  const rig = await startRig({ offlineAfterMs: OFFLINE_AFTER_MS, ...cfg }, pds);
  t.after(async () => {
    await rig.close();
    rmSync(rig.c.ctx.stateDir, { recursive: true, force: true });
    assert.deepEqual(rig.c.schemaErrors, [], 'observations match docs/events.schema.json');
  });
  return rig;
}

function readerHealth(driver: OsdpDriver, id: string): { state: string; address: unknown; framesRx: number } {
  const h = driver.health().find((x) => x.device === id);
  assert.ok(h, `health of ${id}`);
  return { state: h.state, address: h.info?.address, framesRx: h.counters.framesRx };
}

/** The persisted COMSET override of a reader (<stateDir>/osdp-comset.json), if any. */
function comsetRecord(rig: OsdpRig, id: string): { address: number; baud: number } | undefined {
  const file = join(rig.c.ctx.stateDir, 'osdp-comset.json');
  if (!existsSync(file)) return undefined;
  return (JSON.parse(readFileSync(file, 'utf8')) as { readers: Record<string, { address: number; baud: number }> }).readers[`bus1/${id}`];
}

function busBaud(driver: OsdpDriver): unknown {
  return driver.health().find((x) => x.device === 'bus1')?.info?.baud;
}

/**
 * The reader keeps answering: more than OFFLINE_AFTER_MS passes (so a reader the CP lost
 * would have gone offline) while at least 20 further replies arrive, and no offline event.
 */
async function staysOnline(rig: OsdpRig, id: string): Promise<void> {
  const until = Date.now() + 2 * OFFLINE_AFTER_MS;
  const rx0 = readerHealth(rig.driver, id).framesRx;
  await waitUntil(() => Date.now() > until && readerHealth(rig.driver, id).framesRx >= rx0 + 20, `${id} keeps answering`, 30_000);
  assert.equal(rig.c.of('access.reader.offline', id).length, 0, 'never offline');
  assert.equal(readerHealth(rig.driver, id).state, 'online');
}

async function cardAt(rig: OsdpRig, id: string, pd: number, cn: number): Promise<Record<string, unknown>> {
  const before = rig.c.of('access.card.read', id).length;
  rig.peer.find(pd)!.presentCard(encodeWiegand('H10301', { fc: 42, cn }));
  const card = await waitUntil(() => rig.c.of('access.card.read', id)[before], `card ${cn} on ${id}`);
  assert.equal(card.data.cardNumber, cn);
  return card.data;
}

test('plaintext COMSET: reader moves to a new address and baud, the CP follows; and back again', async (t) => {
  const rig = await rigFor(t, { readers: [{ id: 'door-1', address: 5 }] }, [{ address: 5 }]);
  const { c, peer, driver } = rig;
  await waitUntil(() => c.of('access.reader.online', 'door-1')[0], 'reader online');
  assert.equal(busBaud(driver), 115200);

  const res = await driver.command('comset', { address: 9, baud: 19200 });
  assert.equal(res.ok, true, res.detail);
  assert.match(res.detail ?? '', /address 9\b/);
  assert.match(res.detail ?? '', /19200 baud/);
  assert.deepEqual(res.data, { address: 9, baud: 19200 });
  assert.match(res.detail ?? '', /kept across restarts/, 'persisted (restart behaviour: osdp-comset-persist.test.ts)');
  assert.equal(comsetRecord(rig, 'door-1')?.address, 9);
  // Sent once, in clear; the PD switched after its COM reply (address and its pty's speed).
  assert.deepEqual(peer.pd.commandsOf('COMSET'), [{ type: 'COMSET', address: 9, baud: 19200 }]);
  assert.equal(peer.pd.received.find((r) => r.cmd.type === 'COMSET')?.secure, false);
  assert.equal(peer.pd.address, 9);
  assert.equal(peer.pd.baud, 19200);
  assert.equal(readerHealth(driver, 'door-1').address, 9);
  assert.equal(busBaud(driver), 19200, 'the bus reports the line speed in use, not the configured one');

  const card = await cardAt(rig, 'door-1', 9, 1001);
  assert.equal(card.address, 9, 'the card came from the reader at its new address');
  assert.equal(card.format, 'H10301');
  await staysOnline(rig, 'door-1');

  // Back to the configured settings: the CP must switch its line speed back too.
  const back = await driver.command('comset', { address: 5, baud: 115200 });
  assert.equal(back.ok, true, back.detail);
  assert.deepEqual(back.data, { address: 5, baud: 115200 });
  assert.match(back.detail ?? '', /as configured/);
  assert.equal(comsetRecord(rig, 'door-1'), undefined, 'back at the configured settings: no override left');
  assert.equal(peer.pd.address, 5);
  assert.equal(peer.pd.baud, 115200);
  assert.equal(busBaud(driver), 115200);
  assert.equal((await cardAt(rig, 'door-1', 5, 1002)).address, 5);
  assert.equal(c.of('access.reader.online', 'door-1').length, 1, 'no restart of the reader');
  assert.deepEqual(c.errors, []);
});

test('secure channel COMSET: sent inside the session, the session survives the move', async (t) => {
  const rig = await rigFor(t, { readers: [{ id: 'sec-1', address: 101, scbk: K.toString('hex') }] }, [{ address: 101, scbk: K, enforceSecure: true }]);
  const { c, peer, driver } = rig;
  const online = await waitUntil(() => c.of('access.reader.online', 'sec-1')[0], 'secure reader online');
  assert.equal(online.data.secure, true);

  const res = await driver.command('comset', { address: 102, baud: 38400 });
  assert.equal(res.ok, true, res.detail);
  assert.deepEqual(res.data, { address: 102, baud: 38400 });
  const sent = peer.pd.received.filter((r) => r.cmd.type === 'COMSET');
  assert.equal(sent.length, 1);
  assert.equal(sent[0].secure, true, 'COMSET travelled inside the secure session');
  assert.equal(peer.pd.address, 102);
  assert.equal(peer.pd.baud, 38400);
  assert.equal(busBaud(driver), 38400);

  const card = await cardAt(rig, 'sec-1', 102, 2001);
  assert.equal(card.address, 102);
  assert.equal(card.secure, true);
  await staysOnline(rig, 'sec-1');
  assert.equal(peer.pd.secure, true);
  assert.equal(peer.pd.counters.handshakes, 1, 'the session carried over the address change');
  assert.equal(peer.pd.counters.macFailures, 0);
  assert.equal(c.of('access.reader.secure_channel_failed').length, 0);
  const plain = peer.pd.received.filter((r) => !r.secure).map((r) => r.cmd.type);
  assert.ok(plain.every((x) => x === 'ID' || x === 'CAP'), `only ID/CAP in clear, got ${plain.join(',')}`);
  assert.deepEqual(c.errors, []);
});

test('bad COMSET arguments are refused before the wire; the reader keeps its address', async (t) => {
  const rig = await rigFor(t, { readers: [{ id: 'r1', address: 5 }, { id: 'r2', address: 6 }] }, [{ address: 5 }, { address: 6 }]);
  const { c, peer, driver } = rig;
  await waitUntil(() => c.of('access.reader.online').length === 2, 'both readers online');

  const cases: Array<{ args: JsonObject; names: RegExp }> = [
    { args: { address: 127, baud: 9600 }, names: /^address: / },
    { args: { address: 200, baud: 9600 }, names: /^address: / },
    { args: { address: -1, baud: 9600 }, names: /^address: / },
    { args: { address: 7.5, baud: 9600 }, names: /^address: / },
    { args: { address: 7, baud: 12345 }, names: /^baud: / },
    { args: { address: 7, baud: '19200' }, names: /^baud: / },
    { args: { address: 7 }, names: /^baud: / },
    { args: { address: 7, baud: 9600, parity: 'even' }, names: /parity/ },
    // Another reader on this bus already answers at 6: two PDs on one address break both.
    { args: { address: 6, baud: 115200 }, names: /^address: 6 is used by reader "r2"/ },
    // One speed per bus: r2 would be cut off.
    { args: { address: 7, baud: 19200 }, names: /^baud: this bus carries 2 readers at 115200 baud/ },
  ];
  for (const { args, names } of cases) {
    // Refused as bad args (CommandArgsError → `bad-args` on the command path), naming the field.
    await assert.rejects(driver.command('comset', args, 'r1'), (e: Error) => {
      assert.equal(e.name, 'CommandArgsError', JSON.stringify(args));
      assert.match(e.message, names, `${JSON.stringify(args)} → ${e.message}`);
      return true;
    });
  }
  assert.equal(peer.pds.flatMap((p) => p.commandsOf('COMSET')).length, 0, 'nothing sent to any reader');
  assert.equal(peer.find(5)?.address, 5);
  assert.equal(readerHealth(driver, 'r1').address, 5);
  assert.equal(busBaud(driver), 115200);
  assert.equal((await cardAt(rig, 'r1', 5, 3001)).address, 5);
  await staysOnline(rig, 'r1');
  assert.deepEqual(c.errors, []);
});

for (const secure of [false, true]) {
  test(`a PD that answers COM but does not switch${secure ? ' (secure channel)' : ''}: ok:false, the CP falls back and keeps the reader`, async (t) => {
    const scbk = secure ? { scbk: K.toString('hex') } : {};
    const rig = await rigFor(t, { readers: [{ id: 'door-1', address: 5, ...scbk }] }, [{ address: 5, ignoreComset: true, ...(secure ? { scbk: K, enforceSecure: true } : {}) }]);
    const { c, peer, driver } = rig;
    const online = await waitUntil(() => c.of('access.reader.online', 'door-1')[0], 'reader online');
    assert.equal(online.data.secure, secure);

    const res = await driver.command('comset', { address: 9, baud: 19200 });
    assert.equal(res.ok, false);
    assert.match(res.detail ?? '', /did not answer at address 9, 19200 baud/);
    assert.match(res.detail ?? '', /still answers at address 5, 115200 baud/);
    assert.deepEqual(peer.pd.commandsOf('COMSET'), [{ type: 'COMSET', address: 9, baud: 19200 }]);
    assert.equal(peer.pd.address, 5, 'the peer stayed');
    assert.equal(readerHealth(driver, 'door-1').address, 5, 'the CP is back at the old address');
    assert.equal(busBaud(driver), 115200, 'and at the old line speed');
    assert.equal(comsetRecord(rig, 'door-1'), undefined, 'a move that did not verify is not recorded');
    const card = await cardAt(rig, 'door-1', 5, 4001);
    assert.equal(card.address, 5);
    assert.equal(card.secure, secure);
    await staysOnline(rig, 'door-1');
    if (secure) {
      assert.equal(peer.pd.counters.handshakes, 1, 'the session outlived the failed move');
      assert.equal(c.of('access.reader.secure_channel_failed').length, 0);
    }
    assert.deepEqual(c.errors, []);
  });
}

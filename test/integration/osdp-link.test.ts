// OSDP link behaviour over a socat pty pair: noise on the line, BUSY, sequence resync,
// and the reader going silent → offline after the spec default (8 s) → back by itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { encodeFrame } from '../../drivers/osdp/phy/frame.js';
import { encodeWiegand } from '../../drivers/cards/formats.js';
import { startRig } from '../helpers/osdp-harness.js';
import { waitUntil } from '../helpers/driver-context.js';

test('noise: random bytes and truncated frames → no crash, counted errors, polling continues', async (t) => {
  const rig = await startRig({ pollIntervalMs: 20, readers: [{ id: 'noisy', address: 2 }] }, [{ address: 2 }]);
  t.after(() => rig.close());
  const { c, peer, driver } = rig;
  await waitUntil(() => c.of('access.reader.online')[0], 'online');
  // A valid-looking reply frame with a broken CRC, a truncated frame, and random bytes.
  const good = encodeFrame({ address: 2, reply: true, sqn: 1, useCrc: true, code: 0x40, data: Buffer.alloc(0) });
  const badCrc = Buffer.from(good);
  badCrc[badCrc.length - 1] ^= 0xff;
  for (let i = 0; i < 30; i++) {
    await peer.inject(randomBytes(1 + (i % 40)));
    await peer.inject(good.subarray(0, 4 + (i % 3)));
    await peer.inject(badCrc);
    if (i % 10 === 0) await peer.inject(Buffer.from([0x53, 0x82, 0xff, 0x7f])); // absurd LEN
  }
  const bus = () => driver.health().find((h) => h.device === 'bus1')!;
  await waitUntil(() => bus().counters.crcErrors > 0 && bus().counters.garbageBytes > 0, 'counted bus errors');
  const polls = driver.health().find((h) => h.device === 'noisy')!.counters.polls;
  await waitUntil(() => driver.health().find((h) => h.device === 'noisy')!.counters.polls > polls + 5, 'polling continues');
  peer.pd.presentCard(encodeWiegand('H10301', { fc: 7, cn: 77 }));
  const card = await waitUntil(() => c.of('access.card.read')[0], 'card after noise');
  assert.equal(card.data.cardNumber, 77);
  assert.ok(bus().counters.lengthErrors + bus().counters.crcErrors + bus().counters.truncated > 0);
  assert.equal(c.of('access.reader.online').length, 1, 'never dropped offline by noise');
  assert.deepEqual(c.errors, []);
});

test('BUSY is repeated at the same SQN; a PD-side sequence reset makes the CP restart at SQN 0', async (t) => {
  const rig = await startRig({ readers: [{ id: 'busy', address: 9 }] }, [{ address: 9 }]);
  t.after(() => rig.close());
  const { c, peer, driver } = rig;
  await waitUntil(() => c.of('access.reader.online')[0], 'online');
  peer.pd.busyNext = 2;
  assert.equal((await driver.command('buzzer', {})).ok, true);
  assert.equal(peer.pd.commandsOf('BUZ').length, 1, 'the command ran exactly once');
  assert.ok(driver.health().find((h) => h.device === 'busy')!.counters.busy >= 2);
  // The PD loses its sequence state (e.g. a brown-out): the next SQN is out of order for it.
  (peer.pd as unknown as { lastSqn?: number }).lastSqn = undefined;
  await waitUntil(() => (driver.health().find((h) => h.device === 'busy')!.counters.nak_SEQUENCE_NUMBER ?? 0) >= 1, 'NAK 0x04 seen');
  peer.pd.presentCard(encodeWiegand('H10301', { fc: 1, cn: 5 }));
  await waitUntil(() => c.of('access.card.read')[0], 'card after resync');
  assert.equal(c.of('access.reader.offline').length, 0, 'one NAK is not offline');
});

test('silent reader → offline after the 8 s default → online again by itself', async (t) => {
  const rig = await startRig({ probeBackoffMs: 200, probeBackoffMaxMs: 500, readers: [{ id: 'quiet', address: 4 }] }, [{ address: 4 }]);
  t.after(() => rig.close());
  const { c, peer, driver } = rig;
  assert.equal(rig.config.offlineAfterMs, 8000, 'spec default');
  await waitUntil(() => c.of('access.reader.online')[0], 'online');
  peer.pd.silent = true;
  const off = await waitUntil(() => c.of('access.reader.offline')[0], 'offline', 20_000);
  assert.equal(off.data.reason, 'no valid reply');
  assert.equal(driver.health().find((h) => h.device === 'quiet')!.state, 'offline');
  assert.ok(driver.health().find((h) => h.device === 'quiet')!.counters.timeouts > 3);
  assert.equal((await driver.command('led', { color: 'red' })).ok, false);
  peer.pd.silent = false;
  await waitUntil(() => c.of('access.reader.online').length === 2, 'back online', 15_000);
  peer.pd.presentCard(encodeWiegand('H10301', { fc: 2, cn: 22 }));
  await waitUntil(() => c.of('access.card.read')[0], 'card after recovery');
});

test('short offline threshold (configurable): offline and back within a couple of seconds', async (t) => {
  const rig = await startRig({ offlineAfterMs: 600, probeBackoffMs: 100, probeBackoffMaxMs: 200, readers: [{ id: 'q2', address: 8 }] }, [{ address: 8 }]);
  t.after(() => rig.close());
  const { c, peer } = rig;
  await waitUntil(() => c.of('access.reader.online')[0], 'online');
  peer.pd.silent = true;
  await waitUntil(() => c.of('access.reader.offline')[0], 'offline');
  peer.pd.silent = false;
  await waitUntil(() => c.of('access.reader.online').length === 2, 'online again');
});

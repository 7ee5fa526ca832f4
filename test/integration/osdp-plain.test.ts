// OSDP CP ↔ test PD over a real socat pty pair, plaintext: start-up, card reads, commands
// out, tamper and door inputs, keypad policy. No timing assertions: every wait polls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeWiegand } from '../../drivers/cards/formats.js';
import { startRig } from '../helpers/osdp-harness.js';
import { waitUntil } from '../helpers/driver-context.js';

test('plaintext: online with identity, card read, LED/BUZ/OUT reach the PD, tamper and door events', async (t) => {
  const rig = await startRig(
    {
      readers: [
        {
          id: 'door-1-in',
          address: 5,
          pinPolicy: 'hash',
          door: { contactInput: 0, rexInput: 1, strikeOutput: 0, heldOpenSeconds: 1, grantSeconds: 2 },
        },
      ],
    },
    [{ address: 5, inputs: 4, outputs: 2 }],
  );
  t.after(() => rig.close());
  const { c, peer, driver } = rig;

  const online = await waitUntil(() => c.of('access.reader.online', 'door-1-in')[0], 'reader online');
  assert.equal(online.data.vendor, '007a69');
  assert.equal(online.data.serial, '01020304');
  assert.equal(online.data.firmware, '10.11.12');
  assert.equal(online.data.secure, false);
  const h = driver.health().find((x) => x.device === 'door-1-in');
  assert.equal(h?.state, 'online');
  assert.equal(h?.info?.model, 153);

  // A 26-bit H10301 card: one access.card.read with format, facility, card number, raw bits.
  const bits = encodeWiegand('H10301', { fc: 123, cn: 4567 });
  peer.pd.presentCard(bits);
  const card = await waitUntil(() => c.of('access.card.read')[0], 'card read');
  assert.equal(card.device, 'door-1-in');
  assert.equal(card.data.format, 'H10301');
  assert.equal(card.data.facility, 123);
  assert.equal(card.data.cardNumber, 4567);
  assert.equal(card.data.bitCount, 26);
  assert.equal(card.data.bits, bits);
  assert.equal(card.data.parityOk, true);
  assert.equal(card.data.address, 5);
  assert.equal(typeof card.data.rawHex, 'string');
  assert.equal(c.of('access.card.read').length, 1);

  // Commands out.
  assert.deepEqual(await driver.command('led', { color: 'green', durationMs: 2000 }, 'door-1-in'), { ok: true, detail: 'ACK' });
  assert.equal((await driver.command('buzzer', { count: 2 })).ok, true);
  assert.equal((await driver.command('output', { action: 'pulse', durationMs: 3000 })).ok, true);
  const led = peer.pd.commandsOf('LED')[0];
  assert.equal(led.records[0].temporary.control, 2);
  assert.equal(led.records[0].temporary.onColor, 2);
  assert.equal(led.records[0].temporary.timer, 20);
  assert.equal(peer.pd.commandsOf('BUZ')[0].count, 2);
  assert.deepEqual(peer.pd.commandsOf('OUT')[0].records[0], { output: 0, control: 5, timer: 30 });
  assert.equal(peer.pd.outputs[0], 1);
  // No text display in PDCAP (function 6): refused before the wire (osdp-text.test.ts has the rest).
  await assert.rejects(driver.command('text', { text: 'hello' }), { name: 'CommandUnsupportedError' });
  assert.equal(peer.pd.commandsOf('TEXT').length, 0);
  await assert.rejects(driver.command('led', { color: 'purple-ish' }), { name: 'CommandArgsError', message: /^color: / });

  // Door opened within the strike grant: opened (granted), no forced; then held, closed.
  peer.pd.setInput(0, 1);
  const opened = await waitUntil(() => c.of('access.door.opened')[0], 'door opened');
  assert.equal(opened.data.granted, true);
  await waitUntil(() => c.of('access.door.held')[0], 'door held');
  peer.pd.setInput(0, 0);
  await waitUntil(() => c.of('access.door.closed')[0], 'door closed');
  assert.equal(c.of('access.door.forced').length, 0);

  // Tamper.
  peer.pd.setTamper(true);
  const tamper = await waitUntil(() => c.of('access.reader.tamper')[0], 'tamper');
  assert.equal(tamper.data.tamper, true);
  assert.equal(tamper.severity, 'alarm');

  // Keypad: hashed, never the digits.
  peer.pd.keypad('1234#');
  const kp = await waitUntil(() => c.of('access.keypad')[0], 'keypad');
  assert.equal(kp.data.length, 5);
  assert.match(String(kp.data.hmac), /^[A-Za-z0-9_-]{43}$/, 'keyed digest of the PIN');
  assert.ok(!JSON.stringify(kp).includes('1234'));

  const diag = await driver.diagnose();
  assert.equal(diag.find((d) => d.check === 'serial port')?.verdict, 'pass');
  assert.equal(diag.find((d) => d.check === 'reader answers')?.verdict, 'pass');
  assert.equal(diag.find((d) => d.check === 'last card read')?.verdict, 'pass');
  assert.deepEqual(c.errors, []);
});

test('plaintext: door forced when opened with no grant; unknown command target refused', async (t) => {
  const rig = await startRig(
    { readers: [{ id: 'r1', address: 0, door: { contactInput: 2, grantSeconds: 1 } }, { id: 'r2', address: 1 }] },
    [{ address: 0 }, { address: 1 }],
  );
  t.after(() => rig.close());
  const { c, peer, driver } = rig;
  await waitUntil(() => c.of('access.reader.online').length === 2, 'both readers online');
  peer.find(0)!.setInput(2, 1);
  const forced = await waitUntil(() => c.of('access.door.forced', 'r1')[0], 'door forced');
  assert.equal(forced.severity, 'alarm');
  peer.find(1)!.presentCard(encodeWiegand('H10306', { fc: 1, cn: 2 }));
  const card = await waitUntil(() => c.of('access.card.read', 'r2')[0], 'card on r2');
  assert.equal(card.data.format, 'H10306');
  assert.equal((await driver.command('led', { color: 'red' })).ok, false, 'two readers: a target is needed');
  assert.equal((await driver.command('led', { color: 'red' }, 'r2')).ok, true);
  await assert.rejects(driver.command('snapshot', {}, 'r2'), /unknown command/);
});

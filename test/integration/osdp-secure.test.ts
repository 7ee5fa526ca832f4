// OSDP Secure Channel against the test PD (own key derivation) over a socat pty pair:
// established session carries cards and commands encrypted; wrong SCBK fails with a counted
// event and no plaintext fallback; install mode re-keys once and a later fall-back of the
// reader to SCBK-D is a security event, never a silent re-key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWiegand } from '../../drivers/cards/formats.js';
import { startRig } from '../helpers/osdp-harness.js';
import { waitUntil } from '../helpers/driver-context.js';

const K = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const WRONG = 'ffeeddccbbaa99887766554433221100';

test('secure channel: handshake, encrypted card read, LED/OUT in session, status replies SCS_18 as libosdp', async (t) => {
  const rig = await startRig(
    { readers: [{ id: 'sec-1', address: 101, scbk: K.toString('hex'), door: { contactInput: 0, strikeOutput: 1 } }] },
    [{ address: 101, scbk: K, enforceSecure: true }],
  );
  t.after(() => rig.close());
  const { c, peer, driver } = rig;
  const online = await waitUntil(() => c.of('access.reader.online')[0], 'secure reader online');
  assert.equal(online.data.secure, true);
  assert.equal(peer.pd.secure, true);
  assert.equal(peer.pd.counters.handshakes, 1);

  const bits = encodeWiegand('C1k35s', { fc: 4000, cn: 123456 });
  peer.pd.presentCard(bits);
  const card = await waitUntil(() => c.of('access.card.read')[0], 'card read in session');
  assert.equal(card.data.format, 'C1k35s');
  assert.equal(card.data.facility, 4000);
  assert.equal(card.data.cardNumber, 123456);
  assert.equal(card.data.secure, true);

  assert.equal((await driver.command('led', { color: 'red' })).ok, true);
  assert.equal((await driver.command('output', { action: 'latch' })).ok, true);
  const secureCmds = peer.pd.received.filter((r) => r.cmd.type === 'LED' || r.cmd.type === 'OUT');
  assert.equal(secureCmds.length, 2);
  assert.ok(secureCmds.every((r) => r.secure), 'commands travelled inside the session');
  assert.equal(peer.pd.outputs[1], 1);
  // LSTAT/ISTAT/OSTAT at start: asked in the session and answered SCS_18 (encrypted), as libosdp does.
  for (const cmd of ['LSTAT', 'ISTAT', 'OSTAT']) assert.ok(peer.pd.received.some((r) => r.cmd.type === cmd && r.secure), `${cmd} in the session`);
  for (const reply of ['LSTATR', 'ISTATR', 'OSTATR']) assert.equal(peer.pd.replyScs.get(reply), 0x18, `${reply} as SCS_18`);
  assert.equal(peer.pd.challenges.join(','), '1', 'one CHLNG, with the reader key');
  peer.pd.setTamper(true);
  await waitUntil(() => c.of('access.reader.tamper')[0], 'tamper in session');
  const h = driver.health().find((x) => x.device === 'sec-1');
  assert.equal(h?.counters.scHandshakes, 1);
  assert.equal(h?.counters.scFailures, 0);
  assert.equal(c.of('access.reader.secure_channel_failed').length, 0);
  assert.equal((await driver.diagnose()).find((d) => d.check === 'secure channel')?.verdict, 'pass');
});

test('secure channel: wrong SCBK → handshake fails, counted event, no plaintext fallback', async (t) => {
  const rig = await startRig(
    { scBackoffMs: 100, scBackoffMaxMs: 200, readers: [{ id: 'sec-2', address: 3, scbk: WRONG }] },
    [{ address: 3, scbk: K }],
  );
  t.after(() => rig.close());
  const { c, peer, driver } = rig;
  await waitUntil(() => c.of('access.reader.secure_channel_failed').length >= 2, 'two counted failures');
  const ev = c.of('access.reader.secure_channel_failed')[0];
  assert.equal(ev.data.reason, 'client-cryptogram-mismatch');
  assert.equal(ev.severity, 'warning');
  assert.equal(ev.data.failures, 1);
  assert.match(String(ev.data.detail), /neither the configured key nor the factory key/);
  // Like libosdp's CP: after the mismatch a CHLNG asks for SCBK-D; a keyed PD (not in install mode) answers with its own key.
  assert.deepEqual(peer.pd.challenges.slice(0, 2), [1, 0]);
  peer.pd.presentCard(encodeWiegand('H10301', { fc: 1, cn: 1 }));
  await waitUntil(() => (driver.health().find((x) => x.device === 'sec-2')?.counters.scFailures ?? 0) >= 3, 'retries with backoff');
  assert.equal(c.of('access.reader.online').length, 0, 'never online without the secure channel');
  assert.equal(c.of('access.card.read').length, 0);
  const plain = peer.pd.received.filter((r) => !r.secure).map((r) => r.cmd.type);
  assert.ok(plain.every((t) => t === 'ID' || t === 'CAP'), `only ID/CAP in clear, got ${plain.join(',')}`);
  assert.equal(driver.health().find((x) => x.device === 'sec-2')?.state, 'degraded');
  const diag = await driver.diagnose();
  const sc = diag.find((d) => d.check === 'secure channel');
  assert.equal(sc?.verdict, 'fail');
  assert.match(String(sc?.hint), /wrong key/);
  assert.doesNotMatch(String(sc?.hint), /power|wiring/);
  // The reader answers (ID/CAP); only the key is wrong.
  assert.equal(diag.find((d) => d.check === 'reader answers')?.verdict, 'pass');
  assert.equal(c.of('access.reader.secure_channel_failed').filter((e) => e.severity === 'alarm').length, 0);
});

test('install mode: SCBK-D → KEYSET new key (stored 0600) → re-handshake; a later factory reset is an alarm, re-keyed only because install mode is still on', async (t) => {
  const stateDir = mkdtempSync(join(tmpdir(), 'gw-osdp-install-'));
  t.after(() => rmSync(stateDir, { recursive: true, force: true }));
  const cfg = { scBackoffMs: 100, scBackoffMaxMs: 200, readers: [{ id: 'new-reader', address: 7, install: true }] };
  {
    const rig = await startRig(cfg, [{ address: 7, installMode: true }], { stateDir });
    try {
      const online = await waitUntil(() => rig.c.of('access.reader.online')[0], 'online after install');
      assert.equal(online.data.secure, true);
      assert.equal(online.data.key, 'store');
      assert.equal(rig.c.of('access.reader.key_installed').length, 1);
      const file = join(stateDir, 'osdp-keys.json');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const stored = JSON.parse(readFileSync(file, 'utf8')) as { keys: Record<string, { scbk: string }> };
      const key = stored.keys['bus1/new-reader'].scbk;
      assert.equal(rig.peer.pd.scbk?.toString('hex'), key);
      assert.notEqual(key, '303132333435363738393a3b3c3d3e3f');
      assert.equal(rig.peer.pd.counters.handshakes, 2, 'SCBK-D session, then the new key');
      rig.peer.pd.presentCard(encodeWiegand('H10301', { fc: 9, cn: 99 }));
      await waitUntil(() => rig.c.of('access.card.read')[0], 'card after install');
    } finally {
      await rig.close();
    }
  }
  const first = (JSON.parse(readFileSync(join(stateDir, 'osdp-keys.json'), 'utf8')) as { keys: Record<string, { scbk: string }> }).keys['bus1/new-reader'].scbk;
  // The reader was factory-reset (a libosdp PD without a key: install mode, all-zero key); the gateway holds its key.
  const rig = await startRig(cfg, [{ address: 7 }], { stateDir });
  t.after(() => rig.close());
  const ev = await waitUntil(() => rig.c.of('access.reader.secure_channel_failed')[0], 'security event');
  assert.equal(ev.data.reason, 'reader-reset-to-scbk-d');
  assert.equal(ev.severity, 'alarm');
  assert.equal(ev.data.rekey, true);
  const online = await waitUntil(() => rig.c.of('access.reader.online')[0], 'online after the re-key');
  assert.equal(online.data.secure, true);
  assert.equal(rig.peer.pd.commandsOf('KEYSET').length, 1, 're-keyed once (install: true)');
  const again = (JSON.parse(readFileSync(join(stateDir, 'osdp-keys.json'), 'utf8')) as { keys: Record<string, { scbk: string }> }).keys['bus1/new-reader'].scbk;
  assert.notEqual(again, first, 'a new key replaced the lost one');
  assert.equal(rig.peer.pd.scbk?.toString('hex'), again);
  assert.equal(rig.c.of('access.reader.key_installed')[0]?.data.key, 'store');
  // The stored key's CHLNG failed (zero key), the probe asked for SCBK-D, then the SCBK-D session, then the new key.
  assert.deepEqual(rig.peer.pd.challenges, [1, 0, 0, 1]);
});

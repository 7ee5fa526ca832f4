// A reader reset to factory defaults, against the test PD made faithful to libosdp's PD
// (drivers/osdp/README.md, "libosdp's handshake"): a PD without a key answers a CHLNG that
// asks for the installed key with its own all-zero key, and uses SCBK-D only when the CHLNG
// asks for it (key selector 0). The driver probes with SCBK-D after the mismatch, raises the
// documented alarm, and sends osdp_KEYSET only when install mode is configured. One log line
// per condition (rate-limited), naming the reader and the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startRig } from '../helpers/osdp-harness.js';
import { waitUntil } from '../helpers/driver-context.js';

const K = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

interface Line {
  level: number;
  msg: string;
  reader?: string;
  reason?: string;
  repeated?: number;
  key?: string;
}

function captureLog(): { log: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  return { log, lines };
}

function stateWithKey(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-osdp-reset-'));
  writeFileSync(join(dir, 'osdp-keys.json'), JSON.stringify({ v: 1, keys: { 'bus1/door-1': { scbk: K.toString('hex'), set: new Date().toISOString() } } }), { mode: 0o600 });
  return dir;
}

test('factory-reset reader (libosdp PD without a key), no install mode: SCBK-D probe, alarm, never KEYSET; logs throttled; diag says why', async (t) => {
  const stateDir = stateWithKey();
  t.after(() => rmSync(stateDir, { recursive: true, force: true }));
  const { log, lines } = captureLog();
  const rig = await startRig({ scBackoffMs: 100, scBackoffMaxMs: 200, readers: [{ id: 'door-1', address: 9 }] }, [{ address: 9 }], { stateDir, log });
  t.after(() => rig.close());
  const { c, peer, driver } = rig;
  const ev = await waitUntil(() => c.of('access.reader.secure_channel_failed')[0], 'alarm');
  assert.equal(ev.severity, 'alarm');
  assert.equal(ev.data.reason, 'reader-reset-to-scbk-d');
  assert.equal(ev.data.key, 'store');
  assert.equal(ev.data.rekey, false);
  // First CHLNG with the installed key (selector 1: the PD used its zero key), then the SCBK-D probe (selector 0).
  assert.deepEqual(peer.pd.challenges.slice(0, 2), [1, 0]);
  await waitUntil(() => c.of('access.reader.secure_channel_failed').length >= 4, 'keeps failing with backoff');
  assert.ok(c.of('access.reader.secure_channel_failed').every((e) => e.severity === 'alarm' && e.data.reason === 'reader-reset-to-scbk-d'));
  assert.equal(peer.pd.commandsOf('KEYSET').length, 0, 'no KEYSET without install mode');
  assert.equal(peer.pd.counters.handshakes, 0, 'no session with SCBK-D either');
  assert.equal(c.of('access.reader.online').length, 0);
  assert.ok(peer.pd.received.every((r) => r.cmd.type === 'ID' || r.cmd.type === 'CAP'), 'nothing else in clear');
  // The stored key is untouched.
  const stored = JSON.parse(readFileSync(join(stateDir, 'osdp-keys.json'), 'utf8')) as { keys: Record<string, { scbk: string }> };
  assert.equal(stored.keys['bus1/door-1'].scbk, K.toString('hex'));

  // One error line for the condition though it repeated (LogThrottle: first in full, then counted).
  const sc = lines.filter((l) => l.msg.includes('secure channel failed'));
  assert.equal(sc.length, 1, JSON.stringify(sc));
  assert.equal(sc[0].level, 50);
  assert.equal(sc[0].reader, 'door-1');
  assert.equal(sc[0].reason, 'reader-reset-to-scbk-d');
  assert.match(sc[0].msg, /door-1.*reader-reset-to-scbk-d/);

  const diag = await driver.diagnose();
  assert.equal(diag.find((d) => d.check === 'reader answers')?.verdict, 'pass');
  const check = diag.find((d) => d.check === 'secure channel');
  assert.equal(check?.verdict, 'fail');
  assert.match(String(check?.hint), /factory key SCBK-D/);
  assert.match(String(check?.hint), /install: true/);
  assert.doesNotMatch(String(check?.hint), /power|wiring/);
  assert.ok((driver.health().find((h) => h.device === 'door-1')?.counters.factoryKeyDetected ?? 0) >= 1);
});

test('factory-reset reader with install mode and a configured scbk: alarm, KEYSET of the configured key, online secure; log lines for each', async (t) => {
  const { log, lines } = captureLog();
  const rig = await startRig({ scBackoffMs: 100, scBackoffMaxMs: 200, offlineAfterMs: 1000, readers: [{ id: 'door-2', address: 4, scbk: K.toString('hex'), install: true }] }, [{ address: 4 }], { log });
  t.after(() => rig.close());
  const { c, peer } = rig;
  const online = await waitUntil(() => c.of('access.reader.online')[0], 'online after the re-key');
  assert.equal(online.data.secure, true);
  assert.equal(online.data.key, 'config');
  const ev = c.of('access.reader.secure_channel_failed');
  assert.equal(ev.length, 1);
  assert.equal(ev[0].severity, 'alarm');
  assert.equal(ev[0].data.rekey, true);
  const keysets = peer.pd.commandsOf('KEYSET');
  assert.equal(keysets.length, 1, 'KEYSET sent (install mode)');
  assert.deepEqual(keysets[0].key, K, 'the configured key is installed');
  assert.ok(peer.pd.received.find((r) => r.cmd.type === 'KEYSET')?.secure, 'KEYSET inside the SCBK-D session');
  assert.deepEqual(peer.pd.scbk, K);
  assert.equal(c.of('access.reader.key_installed')[0]?.data.key, 'config');
  assert.deepEqual(peer.pd.challenges, [1, 0, 0, 1]);

  const keyLine = lines.find((l) => l.msg.includes('key installed'));
  assert.equal(keyLine?.reader, 'door-2');
  assert.equal(keyLine?.key, 'config');
  const onLine = lines.filter((l) => l.msg.includes('online'));
  assert.equal(onLine.length, 1);
  assert.equal(onLine[0].reader, 'door-2');

  // Offline: one warning line naming the reason.
  peer.pd.silent = true;
  await waitUntil(() => c.of('access.reader.offline')[0], 'offline', 20_000);
  const off = await waitUntil(() => lines.find((l) => l.msg.includes('offline')), 'offline log line');
  assert.equal(off.level, 40);
  assert.equal(off.reader, 'door-2');
  assert.equal(off.reason, 'no valid reply');
});

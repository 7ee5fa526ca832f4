// `gatewarden discover osdp` over a real pty against the PD peer: readers are found by
// address with their identity, a secure-only reader too, and the snippet is a valid
// drivers.osdp instance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openPtyPair } from '../helpers/pty.js';
import { startPdBus } from '../peers/osdp-pd.js';
import { discoverReaders, scanReaders } from '../../drivers/osdp/discover.js';
import { validateConfig } from '../../config/loader.js';

test('discover osdp: finds each reader on the bus with its identity; snippet validates', { timeout: 60_000 }, async (t) => {
  const pty = await openPtyPair();
  t.after(() => pty.close());
  const bus = await startPdBus(pty.b, [{ address: 3 }, { address: 7, scbk: Buffer.alloc(16, 1), enforceSecure: true }]);
  t.after(() => bus.close());
  const progress: string[] = [];
  const found = await scanReaders({ port: pty.a, bauds: [115200], addresses: [0, 1, 2, 3, 4, 5, 6, 7, 8], timeoutMs: 150, onProgress: (l) => progress.push(l) });
  assert.deepEqual(found.map((r) => r.address), [3, 7]);
  for (const r of found) {
    assert.equal(r.baud, 115200);
    assert.equal(typeof r.vendor, 'number');
    assert.equal(typeof r.serial, 'number');
  }
  assert.ok(progress.length >= 9);
  const d = await discoverReaders({ port: pty.a, addresses: [3, 4, 7], timeoutMs: 150 });
  assert.equal(d.lines.length, 2);
  assert.match(d.lines[0], /^address 3 @ \d+ baud: vendor 0x[0-9a-f]{6} model \d+ serial 0x[0-9a-f]{8} firmware \d+\.\d+\.\d+$/);
  const loaded = await validateConfig({ site: 's', gateway: 'g', drivers: { osdp: [d.instance] } });
  assert.deepEqual((loaded.drivers[0].config as { readers: Array<{ address: number }> }).readers.map((r) => r.address), [3, 7]);
});

test('discover osdp: a silent bus says so, naming what to check', { timeout: 30_000 }, async (t) => {
  const pty = await openPtyPair();
  t.after(() => pty.close());
  const d = await discoverReaders({ port: pty.a, addresses: [1, 2], timeoutMs: 50 });
  assert.equal(d.instance, undefined);
  assert.match(d.lines[0], /no OSDP reader answered on .* \(check A\/B wiring, termination, power\)/);
});

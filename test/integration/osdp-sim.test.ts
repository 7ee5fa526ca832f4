// The demo simulator over the in-process line: the real OsdpDriver sees it online and
// turns its card into access.card.read; a strike pulse → door opened (granted) and closed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { osdpConfigSchema } from '../../drivers/osdp/config.js';
import { OsdpDriver } from '../../drivers/osdp/driver.js';
import { osdpSimConfig, startOsdpSim } from '../../drivers/osdp/sim.js';
import { collectingContext, waitUntil } from '../helpers/driver-context.js';

test('demo simulator: online, card read, strike pulse → door opened/closed without forced', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-osdp-sim-'));
  const sim = await startOsdpSim({ name: `sim-${process.pid}`, cardEveryMs: 3_600_000 });
  const c = collectingContext();
  const cfg = osdpConfigSchema.parse({ ...osdpSimConfig(sim), keyStore: join(dir, 'keys.json') });
  const driver = new OsdpDriver(cfg, c.ctx);
  t.after(async () => {
    await driver.stop();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await driver.start();
  await waitUntil(() => c.of('access.reader.online')[0], 'sim reader online');
  sim.presentCard(42, 4242);
  const card = await waitUntil(() => c.of('access.card.read')[0], 'card');
  assert.deepEqual([card.data.format, card.data.facility, card.data.cardNumber], ['H10301', 42, 4242]);
  assert.equal((await driver.command('output', { action: 'pulse', durationMs: 2000 })).ok, true);
  await waitUntil(() => c.of('access.door.closed')[0], 'door cycle');
  assert.equal(c.of('access.door.opened')[0].data.granted, true);
  assert.equal(c.of('access.door.forced').length, 0);
  assert.equal((await driver.diagnose())[0].verdict, 'pass');
});

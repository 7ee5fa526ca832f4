// The demo simulator (`npm start`) works with the driver: its config helper passes the
// schema, the camera comes online, a forced motion burst arrives with a snapshot hash.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { onvifConfigSchema } from '../../drivers/onvif/config.js';
import { OnvifDriver } from '../../drivers/onvif/driver.js';
import { onvifSimConfig, startOnvifSim } from '../../drivers/onvif/sim.js';
import { tempDir } from '../helpers/chain.js';
import { collectingContext, waitUntil } from '../helpers/driver-context.js';

test('onvif demo simulator drives the driver', { timeout: 30_000 }, async () => {
  const sim = await startOnvifSim({ port: 0, motionEveryMs: 3_600_000 });
  const dir = tempDir('gw-onvif-sim-');
  const c = collectingContext();
  const driver = new OnvifDriver(onvifConfigSchema.parse(onvifSimConfig(sim.port, { snapshotDir: dir })), c.ctx);
  try {
    await driver.start();
    await waitUntil(() => driver.sessions[0].subscribed, 'subscribed');
    sim.motion();
    const ev = await waitUntil(() => c.of('video.motion.start')[0], 'motion start');
    assert.equal(ev.device, 'cam-lobby');
    assert.equal((ev.data.snapshot as { size: number }).size, 1028);
  } finally {
    await driver.stop();
    c.abort.abort();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

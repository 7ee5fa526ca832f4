// Snapshot retention in the running driver against the test camera: the prune at start
// removes images past maxAgeHours (foreign files stay), each new image triggers a prune
// that keeps the newest maxFilesPerCamera, pruned counts show in health, and an alarm
// event still carries the SHA-256 and size of an image that retention later deleted.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { onvifConfigSchema } from '../../drivers/onvif/config.js';
import { OnvifDriver } from '../../drivers/onvif/driver.js';
import { snapshotFileName, SNAPSHOT_FILE } from '../../drivers/onvif/retention.js';
import { tempDir } from '../helpers/chain.js';
import { collectingContext, waitUntil } from '../helpers/driver-context.js';
import { startOnvifCamera } from '../peers/onvif-camera.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('retention: prune at start, after each image, counted; the event keeps the evidence hash', { timeout: 60_000 }, async () => {
  const cam = await startOnvifCamera({ snapshotBytes: 1500 });
  const dir = tempDir('gw-onvif-ret-');
  dirs.push(dir);
  const camDir = join(dir, 'cam1');
  mkdirSync(camDir, { recursive: true });
  const DAY = 86_400_000;
  const stale = [10, 9, 8].map((d) => snapshotFileName(Date.now() - d * DAY, `${d}`.padStart(64, 'a'), 'jpg'));
  for (const n of stale) writeFileSync(join(camDir, n), 'old image');
  writeFileSync(join(camDir, 'operator-notes.txt'), 'not ours');
  const cfg = onvifConfigSchema.parse({
    id: 'cams',
    cameras: [{ id: 'cam1', host: '127.0.0.1', port: cam.port, username: 'admin', password: 'secret', snapshotOnAlarm: true }],
    pullTimeoutSeconds: 2,
    minPullIntervalMs: 200,
    reconnect: { minMs: 100, maxMs: 1000 },
    snapshot: { dir, maxFilesPerCamera: 2 },
  });
  const c = collectingContext();
  const driver = new OnvifDriver(cfg, c.ctx);
  const images = (): string[] => (existsSync(camDir) ? readdirSync(camDir).filter((n) => SNAPSHOT_FILE.test(n)) : []);
  try {
    await driver.start();
    await waitUntil(() => images().length === 0, 'images older than maxAgeHours (7 days) pruned at start');
    assert.ok(existsSync(join(camDir, 'operator-notes.txt')), 'a foreign file stays');
    await waitUntil(() => c.of('video.camera.online').length > 0 && driver.sessions[0].subscribed, 'online');

    cam.emit('motion', true);
    const ev = await waitUntil(() => c.of('video.motion.start')[0], 'motion start with snapshot');
    const snap = ev.data.snapshot as { sha256: string; size: number; path: string };
    assert.equal(snap.sha256, createHash('sha256').update(cam.jpeg).digest('hex'));
    assert.equal(snap.size, cam.jpeg.length);

    // Three more images (names differ by their millisecond time stamp), each followed by a prune.
    for (let i = 0; i < 3; i++) {
      const res = await driver.command('snapshot', {}, 'cam1');
      assert.equal(res.ok, true, res.detail);
    }
    await driver.pruner.idle();
    await waitUntil(() => images().length === 2, 'only the newest maxFilesPerCamera images kept');
    assert.ok(!existsSync(snap.path), 'the alarm image was pruned; its event still carries sha256 and size');
    const h = driver.health()[0];
    assert.equal(h.counters.snapshots, 4);
    assert.equal(h.counters.snapshotsPruned, 3 + 2, 'the three stale images and two of the four new ones');
    assert.equal(c.errors.length, 0, c.errors.map((e) => e.err.message).join('; '));
  } finally {
    await driver.stop();
    c.abort.abort();
    await cam.close();
  }
});

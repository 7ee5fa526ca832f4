// Event times from cameras whose clocks lie, against the SOAP test camera: a PullMessages
// CurrentTime frozen decades back (seen in recorded real captures) must not move the clock
// offset (events were stamped in 2053, a clock_skew warning every ~12 s); an event time is
// never later than its receipt, and implausible camera times fall back to the receipt time
// with data.timeSource = 'receipt' (drivers/onvif/README.md "Event times").
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Observation } from '../../agent/events/types.js';
import { waitUntil } from '../helpers/driver-context.js';
import { startOnvifRig } from '../helpers/onvif-rig.js';
import type { OnvifCameraOptions } from '../peers/onvif-camera.js';

const HOUR = 3600_000;

async function rig(peer: OnvifCameraOptions) {
  // Receipt by the gateway = the moment the driver hands the observation over.
  const received = new Map<Observation, number>();
  const r = await startOnvifRig(peer, {
    config: { minPullIntervalMs: 100 },
    onContext: (c) => {
      const emit = c.ctx.emit;
      c.ctx.emit = (o) => {
        received.set(o, Date.now());
        return emit(o);
      };
    },
  });
  return { ...r, received };
}

describe('onvif event times', { timeout: 60_000 }, () => {
  test('frozen PullMessages CurrentTime, camera clock 2 h ahead: corrected times, never after receipt, one skew warning', async () => {
    const r = await rig({ clockOffsetMs: 2 * HOUR, frozenPullTimeMs: Date.parse('1994-03-01T00:00:00Z') });
    try {
      await r.driver.start();
      await waitUntil(() => r.c.of('video.camera.online').length === 1, 'online');
      // Several pulls (1 s long polls) with events between them.
      for (let i = 0; i < 4; i++) {
        r.cam.emit('motion', i % 2 === 0);
        await waitUntil(() => r.c.of(i % 2 === 0 ? 'video.motion.start' : 'video.motion.end').length === Math.floor(i / 2) + 1, `motion ${i}`);
        await new Promise((res) => setTimeout(res, 1200));
      }
      const motion = [...r.c.of('video.motion.start'), ...r.c.of('video.motion.end')];
      assert.equal(motion.length, 4);
      for (const e of motion) {
        const got = r.received.get(e)!;
        assert.ok(e.at!.getTime() <= got, `event time ${e.at!.toISOString()} is after its receipt ${new Date(got).toISOString()}`);
        assert.ok(got - e.at!.getTime() < 5000, `corrected by the 2 h offset (${e.at!.toISOString()})`);
        assert.equal(e.data.timeSource, 'camera');
        assert.ok(Math.abs((e.data.clockOffsetMs as number) - 2 * HOUR) < 3000, `offset ${e.data.clockOffsetMs}`);
      }
      assert.equal(r.c.of('video.camera.clock_skew').length, 1, 'one skew warning for one offset');
      assert.ok(r.cam.stats.pulls >= 4, `${r.cam.stats.pulls} pulls`);
      assert.ok((r.cam.stats.byOp.GetSystemDateAndTime ?? 0) <= 3, `the frozen CurrentTime is checked once, not at every pull (${r.cam.stats.byOp.GetSystemDateAndTime})`);
      assert.deepEqual(r.c.schemaErrors, []);
    } finally {
      await r.close();
    }
  });

  test('camera event times an hour in the future: the receipt time stands, and the event says so', async () => {
    const r = await rig({ eventTimeOffsetMs: HOUR });
    try {
      await r.driver.start();
      await waitUntil(() => r.c.of('video.camera.online').length === 1, 'online');
      r.cam.emit('tamper', true);
      const e = await waitUntil(() => r.c.of('video.tamper.detected')[0], 'tamper');
      const got = r.received.get(e)!;
      assert.equal(e.data.timeSource, 'receipt');
      assert.ok(e.at!.getTime() <= got && got - e.at!.getTime() < 1000, `receipt time (${e.at!.toISOString()})`);
      assert.ok(Date.parse(e.data.cameraUtcTime as string) - got > HOUR - 5000, 'the camera time is kept as sent');
      assert.equal(r.c.of('video.camera.clock_skew').length, 0, 'the clock itself is right');
      assert.deepEqual(r.c.schemaErrors, []);
    } finally {
      await r.close();
    }
  });
});

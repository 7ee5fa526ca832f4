// The reconnecting link (drivers/transport/link.ts, lifecycle.ts): backoff resets only on a
// proven session, downMs on online, flapping is announced once and then held down.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { Clock } from '../../agent/clock.js';
import type { Observation } from '../../agent/events/types.js';
import { LinkLifecycle, type LinkPolicy } from '../../drivers/transport/lifecycle.js';
import { SessionLink } from '../../drivers/transport/link.js';
import { waitUntil } from '../helpers/driver-context.js';

const silent = pino({ level: 'silent' });

function fakeClock(): Clock & { t: number } {
  const c = { t: 1_000_000, now: () => c.t, mono: () => c.t };
  return c;
}

const announce = { device: 'cam1', online: 'video.camera.online', offline: 'video.camera.offline', onlineSeverity: 'info' as const, downMs: true, neverConnected: true };

function policy(p: Partial<LinkPolicy> = {}): LinkPolicy {
  return { minMs: 100, maxMs: 10_000, minStableMs: 60_000, flapCount: 3, flapWindowMs: 600_000, holdMs: 300_000, ...p };
}

test('lifecycle: the backoff grows across sessions that never prove themselves and resets on a proven one', () => {
  const clock = fakeClock();
  const lc = new LinkLifecycle({ policy: policy({ flapCount: 100 }), clock, random: () => 0.999 });
  const unproven: number[] = [];
  for (let i = 0; i < 5; i++) {
    lc.up();
    unproven.push(lc.lost('pull failed'));
  }
  // Connecting alone resets nothing: 100, 200, 400, 800, 1600 (× 0.999).
  assert.deepEqual(unproven, [100, 199, 399, 799, 1598]);
  const proven: number[] = [];
  for (let i = 0; i < 3; i++) {
    lc.up();
    lc.proved();
    proven.push(lc.lost('camera rebooted'));
  }
  assert.deepEqual(proven, [100, 100, 100]);
  lc.dispose();
});

test('lifecycle: online carries downMs; a failed first attempt is announced once as neverConnected', () => {
  const clock = fakeClock();
  const events: Observation[] = [];
  const lc = new LinkLifecycle({ policy: policy(), clock, emit: (o) => events.push(o), announce });
  lc.failed('connect ECONNREFUSED');
  lc.failed('connect ECONNREFUSED');
  clock.t += 4000;
  lc.up({ model: 'X' });
  lc.proved();
  clock.t += 1000;
  lc.lost('socket hang up');
  clock.t += 2500;
  lc.up();
  lc.dispose();
  assert.deepEqual(
    events.map((e) => [e.type, e.data]),
    [
      ['video.camera.offline', { reason: 'connect ECONNREFUSED', neverConnected: true }],
      ['video.camera.online', { model: 'X', downMs: 4000 }],
      ['video.camera.offline', { reason: 'socket hang up' }],
      ['video.camera.online', { downMs: 2500 }],
    ],
  );
});

test('lifecycle: losses spread wider than the flap window never flap', () => {
  const clock = fakeClock();
  const events: Observation[] = [];
  const lc = new LinkLifecycle({ policy: policy({ flapWindowMs: 10_000 }), clock, emit: (o) => events.push(o), announce });
  for (let i = 0; i < 6; i++) {
    lc.up();
    lc.proved();
    clock.t += 6000;
    lc.lost('dropped');
  }
  lc.dispose();
  assert.equal(lc.flapping, false);
  assert.equal(events.filter((e) => e.data.flapping === true).length, 0);
  assert.equal(events.filter((e) => e.type === 'video.camera.online').length, 6);
});

test('link: a session that connects and always fails is announced 3 + 3 times, one flapping notice, then held down', async () => {
  const events: Observation[] = [];
  let attempts = 0;
  const link = new SessionLink({
    name: 'cam1',
    log: silent,
    clock: { now: () => Date.now(), mono: () => performance.now() },
    // holdMs small so the run exercises many held-down attempts in well under a second.
    policy: policy({ minMs: 10, maxMs: 40, holdMs: 50 }),
    emit: (o) => events.push(o),
    announce,
    session: async (h) => {
      attempts += 1;
      h.up({ model: 'X' });
      await new Promise((r) => setImmediate(r));
      throw new Error('PullMessages: ter:ActionNotSupported');
    },
  });
  await link.start();
  await waitUntil(() => attempts >= 15, '15 session attempts');
  await link.stop();
  const on = events.filter((e) => e.type === 'video.camera.online');
  const off = events.filter((e) => e.type === 'video.camera.offline');
  assert.equal(on.length, 3, 'three online before the flapping notice');
  assert.equal(off.length, 3);
  assert.deepEqual(off.map((e) => e.data.flapping ?? false), [false, false, true]);
  assert.equal(off[2].data.holdMs, 50);
  assert.ok(attempts >= 15 && link.lifecycle.flapping);
});

test('link: a flapping link that proves itself is announced online once, with downMs, and is stable again', async () => {
  const events: Observation[] = [];
  let n = 0;
  const link = new SessionLink({
    name: 'port',
    log: silent,
    clock: { now: () => Date.now(), mono: () => performance.now() },
    policy: policy({ minMs: 10, maxMs: 20, holdMs: 20 }),
    emit: (o) => events.push(o),
    announce,
    session: async (h) => {
      n += 1;
      h.up();
      if (n < 6) throw new Error('reset by peer');
      h.proved();
      await new Promise((r) => h.signal.addEventListener('abort', r, { once: true }));
    },
  });
  await link.start();
  await waitUntil(() => n >= 6 && !link.lifecycle.flapping, 'the sixth, proven session');
  await link.stop();
  const types = events.map((e) => `${e.type.split('.').pop()}${e.data.flapping ? '(flapping)' : ''}`);
  assert.deepEqual(types, ['online', 'offline', 'online', 'offline', 'online', 'offline(flapping)', 'online']);
  assert.equal(typeof events.at(-1)!.data.downMs, 'number');
});

test('link: firstMustConnect rejects with the first failure and stops trying', async () => {
  let n = 0;
  const link = new SessionLink({
    name: '/dev/ttyNONE', log: silent, clock: fakeClock(), policy: policy({ minMs: 10 }),
    session: async () => {
      n += 1;
      throw new Error('ENOENT');
    },
  });
  await assert.rejects(link.start({ firstMustConnect: true }), /ENOENT/);
  await link.stop();
  assert.equal(n, 1);
});

test('link: stopped before its first session came up → no unhandled rejection; an awaiting caller still sees it', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    const make = (): SessionLink =>
      new SessionLink({
        name: 'cam-never',
        log: silent,
        clock: { now: () => Date.now(), mono: () => performance.now() },
        policy: policy({ minMs: 10, maxMs: 20 }),
        emit: () => undefined,
        announce,
        session: async () => {
          throw new Error('connect ECONNREFUSED');
        },
      });
    // Background start (how a camera connects): nobody waits on the promise.
    const bg = make();
    void bg.start();
    await new Promise((r) => setTimeout(r, 30));
    await bg.stop();
    // A caller that waits is told why.
    const fg = make();
    const started = fg.start();
    await new Promise((r) => setTimeout(r, 30));
    await fg.stop();
    await assert.rejects(started, /stopped before it connected/);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

// agent/restarting-child.ts with real processes (sh): full-jitter backoff that grows while
// the child dies silently and resets once it printed a line; a missing binary is reported
// once and never retried; onExit false gives up; stop() ends the child and any restart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RestartingChild } from '../../agent/restarting-child.js';
import { waitUntil } from '../helpers/driver-context.js';

test('a child that dies without output is restarted with growing full-jitter delays', async () => {
  const delays: number[] = [];
  const exits: Array<number | null> = [];
  const c = new RestartingChild({
    command: 'sh',
    args: ['-c', 'exit 3'],
    onLine: () => assert.fail('no output expected'),
    onSpawnError: (e) => assert.fail(e),
    onError: (e) => assert.fail(e),
    onExit: (code) => (exits.push(code), true),
    onRestartScheduled: (d) => delays.push(d),
    // random ≈ 1: each delay is its cap, 10 · 2^attempt.
    backoff: { minMs: 10, maxMs: 60, random: () => 0.9999 },
  });
  c.start();
  await waitUntil(() => delays.length >= 5, 'five restarts');
  await c.stop();
  assert.deepEqual(delays.slice(0, 5), [10, 19, 39, 59, 59]);
  assert.ok(exits.every((e) => e === 3), exits.join());
  assert.equal(c.running, false);
});

test('a child that printed a line proved itself: the backoff starts over', async () => {
  const delays: number[] = [];
  const lines: string[] = [];
  const c = new RestartingChild({
    command: 'sh',
    args: ['-c', 'echo up; exit 1'],
    onLine: (l) => lines.push(l),
    onSpawnError: (e) => assert.fail(e),
    onError: (e) => assert.fail(e),
    onExit: () => true,
    onRestartScheduled: (d) => delays.push(d),
    backoff: { minMs: 10, maxMs: 1000, random: () => 0.9999 },
  });
  c.start();
  await waitUntil(() => delays.length >= 3, 'three restarts');
  await c.stop();
  assert.deepEqual(delays.slice(0, 3), [10, 10, 10]);
  assert.ok(lines.length >= 3 && lines.every((l) => l === 'up'));
  assert.equal(c.lines, lines.length);
});

test('a missing binary is reported once and never retried; onExit false gives up', async () => {
  const spawnErrors: Error[] = [];
  const missing = new RestartingChild({
    command: '/nonexistent/child-binary',
    args: [],
    onLine: () => {},
    onSpawnError: (e) => spawnErrors.push(e),
    onError: (e) => assert.fail(e),
    onExit: () => assert.fail('no exit without a process'),
  });
  missing.start();
  await waitUntil(() => spawnErrors.length === 1, 'spawn error');
  missing.start();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(spawnErrors.length, 1);
  assert.match(spawnErrors[0]!.message, /ENOENT/);
  assert.equal(missing.running, false);

  let exits = 0;
  let stderrSeen = '';
  const refused = new RestartingChild({
    command: 'sh',
    args: ['-c', 'echo "permission denied" >&2; exit 1'],
    collectStderr: true,
    onLine: () => {},
    onSpawnError: (e) => assert.fail(e),
    onError: (e) => assert.fail(e),
    onExit: (_code, _sig, stderr) => ((exits += 1), (stderrSeen = stderr), false),
    onRestartScheduled: () => assert.fail('gave up: no restart'),
    backoff: { minMs: 10, maxMs: 20 },
  });
  refused.start();
  await waitUntil(() => exits === 1, 'exit');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(exits, 1);
  assert.equal(stderrSeen, 'permission denied\n');
});

test('stop() ends a running child and no restart follows', async () => {
  let exits = 0;
  const c = new RestartingChild({
    command: 'sh',
    args: ['-c', 'echo ready; exec sleep 30'],
    onLine: () => {},
    onSpawnError: (e) => assert.fail(e),
    onError: (e) => assert.fail(e),
    onExit: () => ((exits += 1), true),
  });
  c.start();
  await waitUntil(() => c.lines === 1, 'ready');
  assert.equal(c.running, true);
  await c.stop();
  assert.equal(c.running, false);
  assert.equal(exits, 0, 'an exit asked for by stop() is not a failure');
});

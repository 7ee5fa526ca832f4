// The README's main command: `npm start` (= `gatewarden demo`) shows verified signed
// events within seconds, keeps its state outside the checkout, stops cleanly on Ctrl-C,
// and says plainly when its broker port is taken.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/chain.js';
import { freePort } from '../helpers/mosquitto.js';

const MAIN = new URL('../../agent/cli/main.ts', import.meta.url).pathname;

function runDemo(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'demo'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('demo: verified events from the synthetic source and the simulated sensor; clean stop', { timeout: 60_000 }, async () => {
  const state = join(tempDir(), 'demo-state');
  const d = runDemo({ GATEWARDEN_STATE_DIR: state, GATEWARDEN_DEMO_PORT: String(await freePort()) });
  try {
    await until(() => /✓ #\d+ .*sensor\.reading .*demo-heartbeat/.test(d.out()), 'a verified synthetic event');
    await until(() => /✓ #\d+ .*sensor\.reading .*env-sensor-1/.test(d.out()), 'a verified event from the simulated Modbus sensor');
    await until(() => /✓ #\d+ .*video\.camera\.online .*cam-lobby/.test(d.out()), 'the simulated ONVIF camera online');
    await until(() => /✓ #\d+ .*access\.reader\.online .*reader-lobby/.test(d.out()), 'the simulated OSDP reader online');
    assert.doesNotMatch(d.out(), /BAD SIGNATURE/);
    assert.match(d.out(), new RegExp(`state directory ${state.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.ok(existsSync(join(state, 'spool.db')) && existsSync(join(state, 'keys', 'gateway-ed25519.pem')));
  } finally {
    d.child.kill('SIGINT');
  }
  assert.equal(await d.exited, 0, d.out().slice(-2000));
  assert.match(d.out(), /system\.chain\.checkpoint/);
});

test('demo: a taken port is reported plainly', { timeout: 30_000 }, async () => {
  const blocker = createServer();
  const port = await freePort();
  await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
  try {
    const d = runDemo({ GATEWARDEN_STATE_DIR: join(tempDir(), 's'), GATEWARDEN_DEMO_PORT: String(port) });
    assert.equal(await d.exited, 1);
    assert.match(d.out(), new RegExp(`port ${port} on 127.0.0.1 is already taken`));
  } finally {
    blocker.close();
  }
});

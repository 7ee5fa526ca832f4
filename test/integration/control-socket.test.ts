// The control socket over a real Unix socket: round trip, mode 0660, unknown methods,
// a stale socket file left by a killed daemon, a second server refused, and "daemon not
// running" as ControlUnavailableError (docs/contracts.md §Files).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../helpers/chain.js';
import { ControlServer, ControlSocketInUseError } from '../../agent/control/server.js';
import { controlRequest, ControlUnavailableError } from '../../agent/control/client.js';

const handlers = {
  status: () => ({ ok: 1 }),
  health: () => ({ h: true }),
  'spool-stats': () => ({ depth: 3 }),
  diag: async () => {
    throw new Error('boom');
  },
  reload: async () => ({ ok: true }),
  'key-rotate': async () => ({ oldKid: 'a', newKid: 'b' }),
  'door-unlock': (p: Record<string, unknown>) => ({ echo: p }),
};

test('control socket: requests, errors, permissions, stale file, second server', { timeout: 60_000 }, async (t) => {
  const dir = tempDir('gw-ctl-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'run', 'control.sock');

  await assert.rejects(controlRequest(path, 'status', 5000), ControlUnavailableError);

  const server = new ControlServer({ path, handlers });
  await server.start();
  t.after(() => server.stop());
  assert.equal(statSync(path).mode & 0o777, 0o660);
  assert.deepEqual(await controlRequest(path, 'status'), { ok: 1 });
  assert.deepEqual(await controlRequest(path, 'spool-stats'), { depth: 3 });
  // Params travel to the handler (door-unlock).
  assert.deepEqual(await controlRequest(path, 'door-unlock', 5000, { door: 'front', forMs: 1000 }), { echo: { door: 'front', forMs: 1000 } });
  await assert.rejects(controlRequest(path, 'diag'), /daemon: boom/);

  // Raw protocol: two requests in one chunk, one unknown method, answered in order.
  const lines = await new Promise<string[]>((resolve, reject) => {
    const s = connect(path);
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      const l = buf.split('\n').filter(Boolean);
      if (l.length === 2) {
        s.destroy();
        resolve(l);
      }
    });
    s.on('error', reject);
    s.write('{"id":7,"method":"health"}\n{"id":8,"method":"reboot"}\n');
  });
  assert.deepEqual(JSON.parse(lines[0]), { id: 7, ok: true, result: { h: true } });
  assert.equal(JSON.parse(lines[1]).ok, false);
  assert.match(JSON.parse(lines[1]).error, /unknown method "reboot"/);

  // A second daemon must not steal a live socket.
  await assert.rejects(new ControlServer({ path, handlers }).start(), ControlSocketInUseError);
  await server.stop();
  await assert.rejects(controlRequest(path, 'status', 5000), ControlUnavailableError);

  // A stale socket file (daemon SIGKILLed) is replaced.
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((r) => child.stdout!.once('data', () => r()));
  child.kill('SIGKILL');
  await new Promise<void>((r) => child.once('exit', () => r()));
  assert.ok(existsSync(path), 'SIGKILL leaves the socket file behind');
  const again = new ControlServer({ path, handlers });
  await again.start();
  t.after(() => again.stop());
  assert.deepEqual(await controlRequest(path, 'status'), { ok: 1 });
});

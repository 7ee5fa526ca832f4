// Reload is visible, against the real daemon process: `gatewarden reload` asks over the
// control socket and exits 0 when applied, 1 with the config error (named by its path)
// when rejected; `status` shows the last outcome; SIGHUP keeps working; a stopped daemon
// is an answer for `status --json` ({running:false}) and an exit 1 for reload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { tempDir } from '../helpers/chain.js';
import { spawnDaemon, writeDaemonConfig } from '../helpers/daemon.js';
import { runCli } from '../helpers/diag-cli.js';
import { freePort } from '../helpers/mosquitto.js';

interface Status {
  running: boolean;
  lastReload: { at: string; ok: boolean; config: string; reason?: string; needRestart?: string[] } | null;
  drivers: Array<{ id: string }>;
}

test('gatewarden reload: applied (exit 0), rejected with the reason (exit 1), shown by status; SIGHUP still reloads', { timeout: 120_000 }, async () => {
  const dir = tempDir('gw-reload-');
  const port = await freePort(); // no broker: reload does not need one
  const config = writeDaemonConfig(dir, { mqtt: { url: `mqtt://127.0.0.1:${port}`, reconnect: { minMs: 200, maxMs: 1000 } } });
  const good = parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
  const d = spawnDaemon(config);
  try {
    await d.waitLog(/control socket listening/);
    let st = JSON.parse((await runCli(['status', '--json', '-c', config])).stdout) as Status;
    assert.equal(st.running, true);
    assert.equal(st.lastReload, null);
    assert.match((await runCli(['status', '-c', config])).stdout, /reload {3}none since start/);

    // Applied: a driver added, mqtt changed (needs a restart).
    writeFileSync(config, stringify({ ...good, mqtt: { url: `mqtt://127.0.0.1:${port + 1}` }, drivers: { synthetic: [{ id: 'syn-1', intervalMs: 1000 }] } }));
    const ok = await runCli(['reload', '-c', config]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^reloaded .*config\.yaml: started syn-1/m);
    assert.match(ok.stdout, /applied only at restart: mqtt/);
    st = JSON.parse((await runCli(['status', '--json', '-c', config])).stdout) as Status;
    assert.equal(st.lastReload?.ok, true);
    assert.deepEqual(st.lastReload?.needRestart, ['mqtt']);
    assert.ok(st.drivers.some((x) => x.id === 'syn-1'), 'the new driver runs');

    // Rejected: a URL without a host; exit 1, the problem with its path, status says so.
    writeFileSync(config, stringify({ ...good, mqtt: { url: 'mqtt:/127.0.0.1:1883' } }));
    const bad = await runCli(['reload', '-c', config]);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /reload rejected: the daemon keeps its running config/);
    assert.match(bad.stdout, /mqtt\.url: has no host/);
    const badJson = JSON.parse((await runCli(['reload', '--json', '-c', config])).stdout) as { ok: boolean; reason: string };
    assert.equal(badJson.ok, false);
    assert.match(badJson.reason, /mqtt\.url: has no host/);
    st = JSON.parse((await runCli(['status', '--json', '-c', config])).stdout) as Status;
    assert.equal(st.lastReload?.ok, false);
    assert.match(st.lastReload?.reason ?? '', /mqtt\.url: has no host/);
    assert.match((await runCli(['status', '-c', config])).stdout, /reload {3}REJECTED at .*mqtt\.url: has no host/);
    assert.ok(st.drivers.some((x) => x.id === 'syn-1'), 'the running config stays');

    // SIGHUP with a good file: applied, the driver goes, status shows it.
    writeFileSync(config, stringify(good));
    d.child.kill('SIGHUP');
    const deadline = Date.now() + 20_000;
    do {
      await new Promise((r) => setTimeout(r, 100));
      st = JSON.parse((await runCli(['status', '--json', '-c', config])).stdout) as Status;
    } while (st.lastReload?.ok !== true && Date.now() < deadline);
    assert.equal(st.lastReload?.ok, true, JSON.stringify(st.lastReload));
    assert.ok(!st.drivers.some((x) => x.id === 'syn-1'));
  } finally {
    d.child.kill('SIGTERM');
    await d.exited;
  }
  // Stopped: status --json still prints one document; reload exits 1.
  const down = await runCli(['status', '--json', '-c', config]);
  assert.equal(down.code, 1);
  assert.equal((JSON.parse(down.stdout) as Status).running, false);
  const r = await runCli(['reload', '-c', config]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /daemon not running/);
});

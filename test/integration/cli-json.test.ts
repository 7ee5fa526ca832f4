// --json on every inspection command: each prints one JSON document on stdout that
// parses, with the same --config/--state-dir options, beside a running daemon and (for
// status) after it stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../helpers/chain.js';
import { spawnDaemon, writeDaemonConfig } from '../helpers/daemon.js';
import { runCli } from '../helpers/diag-cli.js';
import { freePort } from '../helpers/mosquitto.js';

type Check = (doc: unknown) => void;

test('--json table: status, spool stats, events list, config check, discover, diag', { timeout: 180_000 }, async () => {
  const dir = tempDir('gw-json-');
  const config = writeDaemonConfig(dir, { mqtt: { url: `mqtt://127.0.0.1:${await freePort()}`, reconnect: { minMs: 200, maxMs: 1000 } }, drivers: { synthetic: [{ id: 'syn-1', intervalMs: 100 }] } });
  const stateDir = join(dir, 'state');
  const d = spawnDaemon(config);
  const table: Array<[string[], number[], Check]> = [
    [['status', '--json', '-c', config], [0], (j) => assert.equal((j as { running: boolean }).running, true)],
    [['spool', 'stats', '--json', '--config', config], [0], (j) => assert.ok((j as { depth: number }).depth >= 1)],
    [['spool', 'stats', '--json', '--state-dir', stateDir], [0], (j) => assert.ok((j as { depth: number }).depth >= 1)],
    [['events', 'list', '--json', '-n', '5', '--state-dir', stateDir], [0], (j) => assert.ok(Array.isArray(j) && j.length >= 1 && typeof (j[0] as { sig: unknown }).sig === 'string')],
    [['config', 'check', '--json', '--config', config], [0], (j) => assert.equal((j as { ok: boolean }).ok, true)],
    [['discover', 'cameras', '--json', '--address', '127.0.0.1', '--wsd-port', '9', '--timeout', '300', '-c', config], [0], (j) => assert.deepEqual((j as { found: unknown[] }).found, [])],
    [['diag', '--json', '-c', config], [0, 1, 2], (j) => assert.ok(Array.isArray((j as { checks: unknown[] }).checks))],
  ];
  try {
    await d.waitLog(/control socket listening/);
    for (const [args, codes, check] of table) {
      const r = await runCli(args);
      assert.ok(codes.includes(r.code), `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
      let doc: unknown;
      assert.doesNotThrow(() => (doc = JSON.parse(r.stdout)), `${args.join(' ')} printed no JSON:\n${r.stdout}`);
      check(doc);
    }
  } finally {
    d.child.kill('SIGTERM');
    await d.exited;
  }
  const down = await runCli(['status', '--json', '-c', config]);
  assert.equal(down.code, 1);
  assert.equal((JSON.parse(down.stdout) as { running: boolean }).running, false);
});

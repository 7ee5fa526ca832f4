// Logs under repetition (docs/architecture.md): the real daemon with a broker that refuses
// connections for several seconds and a driver whose start keeps failing, then with the
// spool over quota under load, writes a bounded number of lines: each condition once,
// then a summary with the count; a stack trace at most once per distinct error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../helpers/chain.js';
import { spawnDaemon, writeDaemonConfig } from '../helpers/daemon.js';
import { freePort, startMosquitto } from '../helpers/mosquitto.js';
import { runCli } from '../helpers/diag-cli.js';

interface LogLine {
  level: number;
  msg: string;
  part?: string;
  repeated?: number;
  suppressedTotals?: Record<string, number>;
  count?: number;
  err?: { message?: string; stack?: string };
}

function parse(out: string): LogLine[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

/** Lines carrying a real stack trace, by error message. */
function stacks(lines: LogLine[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines) if (l.err?.stack) m.set(l.err.message ?? '', (m.get(l.err.message ?? '') ?? 0) + 1);
  return m;
}

const OUTAGE_MS = 6000;

test('broker refusing connections and a driver failing to start: bounded lines, counted repeats, stack once', { timeout: 90_000 }, async (t) => {
  const port = await freePort(); // nobody listens yet: every connect is refused
  const dir = tempDir('gw-logs-');
  const config = writeDaemonConfig(dir, {
    mqtt: { url: `mqtt://127.0.0.1:${port}`, reconnect: { minMs: 20, maxMs: 200 } },
    drivers: {
      synthetic: [{ id: 'syn', intervalMs: 100 }],
      modbus: [{ id: 'rtu', transport: { type: 'rtu', path: join(dir, 'no-such-serial-port') }, units: [{ id: 'u1', unitId: 1, points: [{ name: 'p', table: 'holding', address: 0, type: 'uint16' }] }] }],
    },
  });
  const d = spawnDaemon(config);
  t.after(async () => {
    if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    await d.exited;
  });
  await d.waitLog(/gatewarden running/);
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  const outage = parse(d.out());

  const broker = await startMosquitto({ port });
  t.after(() => broker.stop());
  await d.waitLog(/connected to MQTT broker/);
  d.child.kill('SIGTERM');
  assert.equal(await d.exited, 0, d.out().slice(-3000));
  const all = parse(d.out());

  const mqttOutage = outage.filter((l) => l.part === 'mqtt');
  const connectSummary = all.find((l) => l.part === 'mqtt' && l.msg.startsWith('connecting to MQTT broker (repeated'));
  assert.ok(connectSummary, 'the attempts during the outage are summarised once the broker is back');
  const attempts = 1 + (connectSummary.repeated ?? 0);
  const refusedSummary = all.find((l) => l.level === 50 && /ECONNREFUSED.*\(repeated \d+/.test(l.msg));
  const startFailures = all.filter((l) => l.msg.startsWith('driver start failed; retrying'));
  const startAttempts = startFailures.reduce((n, l) => n + 1 + (l.repeated ?? 0), 0) - startFailures.filter((l) => l.repeated).length;
  const st = stacks(all);
  t.diagnostic(
    `outage ${OUTAGE_MS} ms: ${attempts} connect attempts, ${mqttOutage.length} mqtt log lines during it ` +
      `(${mqttOutage.filter((l) => l.level === 50).length} at error); refused repeats counted: ${refusedSummary?.repeated}; ` +
      `driver start failures: ${startAttempts} in ${startFailures.length} lines; whole run ${all.length} lines; ` +
      `stacks: ${[...st].map(([m, n]) => `${n}× ${m.slice(0, 60)}`).join('; ')}`,
  );
  // Unthrottled, each attempt wrote three lines (connecting, error, reconnecting).
  assert.ok(attempts >= 10, `the outage really repeated: ${attempts} attempts`);
  assert.ok(mqttOutage.length <= 3, `one line per condition during the outage, got ${mqttOutage.length}:\n${mqttOutage.map((l) => l.msg).join('\n')}`);
  assert.equal(mqttOutage.filter((l) => l.level === 50).length, 1, 'the refusal at error level once');
  assert.ok(refusedSummary && (refusedSummary.repeated ?? 0) >= attempts - 2, 'the refusals are counted in a summary');
  assert.ok(all.filter((l) => l.part === 'mqtt').length <= 8, 'outage lines + their summaries + connected');
  assert.ok(startAttempts >= 2, `the driver start failed repeatedly: ${startAttempts}`);
  assert.ok(startFailures.length <= 3, `driver start failures: ${startFailures.length} lines`);
  for (const [message, n] of st) assert.equal(n, 1, `stack once per distinct error: ${n}× ${message}`);
  assert.ok(st.size >= 1, 'the first driver start failure carries its stack');
});

test('spool over quota under load: the eviction and drop announcements log once, then counted', { timeout: 90_000 }, async (t) => {
  const dir = tempDir('gw-logs-q-');
  const state = join(dir, 'state');
  const config = writeDaemonConfig(dir, {
    mqtt: { url: `mqtt://127.0.0.1:${await freePort()}`, reconnect: { minMs: 500, maxMs: 2000 } },
    spool: { quotaBytes: 300_000, reserveBytes: 0 },
    drivers: { synthetic: [{ id: 'door', intervalMs: 1, type: 'access.door.forced', severity: 'alarm', padBytes: 300 }] },
  });
  const d = spawnDaemon(config);
  t.after(async () => {
    if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    await d.exited;
  });
  await d.waitLog(/gatewarden running/);
  await d.waitLog(/spool over quota/);
  await new Promise((r) => setTimeout(r, 5000));
  d.child.kill('SIGTERM');
  assert.equal(await d.exited, 0, d.out().slice(-3000));
  const all = parse(d.out());
  const quota = all.filter((l) => /spool over quota: unsent events dropped/.test(l.msg));
  const stats = await runCli(['spool', 'stats', '--state-dir', state, '--json']);
  assert.equal(stats.code, 0, stats.stderr);
  const dropped = (JSON.parse(stats.stdout) as { droppedEvents: number }).droppedEvents;
  const announced = all.filter((l) => l.part === 'pipeline' && /spool over quota/.test(l.msg)).reduce((n, l) => n + (l.count ?? 0) + (l.suppressedTotals?.count ?? 0), 0);
  t.diagnostic(`${dropped} events dropped for quota; ${quota.length} "spool over quota" lines (${quota.slice(0, 12).map((l) => `${l.part}:${l.repeated ?? 'first'}`).join(', ')}${quota.length > 12 ? ', …' : ''}); the pipeline's lines account for ${announced} dropped`);
  assert.ok(dropped >= 500, `the quota really bit: ${dropped} dropped`);
  assert.ok(quota.length <= 6, `bounded: ${quota.length} lines`);
  assert.ok(quota.some((l) => (l.repeated ?? 0) > 0), 'repeats are counted in a summary');
  // The summaries carry the totals of what their repeats dropped (the signed overflow records stay exact).
  assert.ok(announced >= dropped * 0.9, `the pipeline's lines account for ${announced} of ${dropped} dropped`);
});

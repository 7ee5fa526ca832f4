// Pure parts of the field tooling: permission maths for the daemon's user,
// exit codes and rendering, redaction, the init template, metrics exposition, protocol.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/chain.js';
import { canAccess, lookupUser } from '../../agent/diag/perms.js';
import { pass, problem, summarize, type DiagReport } from '../../agent/diag/types.js';
import { renderReport } from '../../agent/diag/render.js';
import { redactConfig } from '../../config/redact.js';
import { REDACTED, scrubSecrets } from '../../config/secrets.js';
import { renderConfig, enrolmentString } from '../../agent/cli/init.js';
import { parseYaml, validateConfig } from '../../config/loader.js';
import { renderMetrics, errorCount } from '../../agent/metrics.js';
import { parseRequest, LineBuffer } from '../../agent/control/protocol.js';

test('canAccess: owner, group, other bits for a non-root user; root bypasses r/w', () => {
  const who = { uid: 1000, gid: 1000, groups: [1000, 20] };
  assert.equal(canAccess({ mode: 0o100600, uid: 1000, gid: 0 }, who, ['r', 'w']), true);
  assert.equal(canAccess({ mode: 0o100644, uid: 0, gid: 0 }, who, ['w']), false);
  assert.equal(canAccess({ mode: 0o100660, uid: 0, gid: 20 }, who, ['r', 'w']), true, 'supplementary group');
  assert.equal(canAccess({ mode: 0o100606, uid: 0, gid: 20 }, who, ['w']), false, 'group bits apply, not other');
  assert.equal(canAccess({ mode: 0o100400, uid: 5, gid: 5 }, { uid: 0, gid: 0, groups: [] }, ['r', 'w']), true);
});

test('lookupUser reads passwd and group files', () => {
  const etc = tempDir('gw-etc-');
  writeFileSync(join(etc, 'passwd'), 'root:x:0:0::/root:/bin/sh\ngatewarden:x:998:997::/var/lib/gatewarden:/usr/sbin/nologin\n');
  writeFileSync(join(etc, 'group'), 'dialout:x:20:gatewarden,other\ngatewarden:x:997:\n');
  assert.deepEqual(lookupUser('gatewarden', etc), { uid: 998, gid: 997, groups: [997, 20], name: 'gatewarden' });
  assert.equal(lookupUser('998', etc)?.name, 'gatewarden');
  assert.equal(lookupUser('nobody-here', etc), null);
  rmSync(etc, { recursive: true, force: true });
});

test('exit codes: 0 all pass, 1 warnings, 2 failures; skips do not count', () => {
  const p = pass('disk', 'disk space', 'ok');
  assert.equal(summarize([p]).exitCode, 0);
  assert.equal(summarize([p, problem('broker', 'skip', 'x', 'y', 'z')]).exitCode, 0);
  assert.equal(summarize([p, problem('clock', 'warn', 'c', 'd', 'h')]).exitCode, 1);
  assert.equal(summarize([problem('clock', 'warn', 'c', 'd', 'h'), problem('key', 'fail', 'k', 'd', 'h')]).exitCode, 2);
});

test('render: ✔/⚠/✖ marks and a fix line under every non-pass row', () => {
  const checks = [pass('disk', 'disk space', '1 GiB free'), problem('key', 'fail', 'key permissions', 'mode 0644', 'chmod 600 /k')];
  const r: DiagReport = { version: '0', host: 'h', ts: 't', daemon: 'running', checks, ...summarize(checks) };
  const text = renderReport(r);
  assert.match(text, /^✔ disk/m);
  assert.match(text, /^✖ key .*mode 0644\n\s+→ fix: chmod 600 \/k$/m);
  assert.match(text, /exit 2$/);
});

test('redactConfig: schema-marked secrets and URL credentials; scrubSecrets: literal secrets and PEM keys', async () => {
  const { redacted, values: found } = await redactConfig({ mqtt: { url: 'mqtt://u:p%40ss@h:1883', password: 'pw1', passwordFile: '/etc/x' }, drivers: { onvif: [{ cameras: [{ password: 'cam' }] }] } }, { readFile: () => { throw new Error('absent'); } });
  const r = redacted as Record<string, any>;
  assert.equal(r.mqtt.password, REDACTED);
  assert.equal(r.mqtt.passwordFile, '/etc/x');
  assert.equal(r.mqtt.url, `mqtt://${REDACTED}@h:1883`);
  assert.equal(r.drivers.onvif[0].cameras[0].password, REDACTED);
  assert.deepEqual([...found].sort(), ['cam', 'p%40ss', 'p@ss', 'pw1']);
  const s = scrubSecrets('a pw1 b\n-----BEGIN PRIVATE KEY-----\nMC4CAQ\n-----END PRIVATE KEY-----\n', found);
  assert.ok(!s.includes('pw1') && !s.includes('MC4CAQ'));
});

test('init template renders a valid, commented config; optional settings only when given', async () => {
  const plain = renderConfig({ site: 's-1', gateway: 'g-1', broker: 'mqtts://b:8883', stateDir: '/tmp/x' });
  assert.match(plain, /^# gatewarden configuration/m);
  assert.match(plain, /^ {2}# username:/m);
  const l1 = await validateConfig(parseYaml(plain, 'p'), 'p');
  assert.equal(l1.config.control.socket, undefined);
  const full = renderConfig({ site: 's-1', gateway: 'g-1', broker: 'mqtts://b:8883', ca: '/etc/ca.pem', username: 'gw', passwordFile: '/etc/pw' });
  const l2 = await validateConfig(parseYaml(full, 'f'), 'f');
  assert.equal(l2.config.mqtt.tls?.ca, '/etc/ca.pem');
  assert.equal(l2.config.mqtt.username, 'gw');
  assert.equal(l2.config.mqtt.passwordFile, '/etc/pw');
  assert.equal(l2.config.control.socket, '/run/gatewarden/control.sock', 'installed layout keeps the socket in /run');
  assert.equal(l2.config.metrics.enabled, false);
  assert.equal(enrolmentString('s', 'g', 'PK'), 'gatewarden:v1:s:g:PK');
});

test('metrics: text exposition with HELP/TYPE, escaped labels and process figures', () => {
  const text = renderMetrics(
    {
      spool: { depth: 5, unsent: 2, oldestUnsentAgeMs: 1500, bytes: 10, quotaBytes: 100, droppedEvents: 1, sentTotal: 3 },
      acceptedTotal: 5,
      mqtt: { connected: true, reconnects: 4 },
      devices: [{ driver: 'osdp', instance: 'bus"1', device: 'door\\1', online: false, errors: 7 }],
      driverErrors: [],
      clockSync: 'rtc',
    },
    { rss: 1000, cpuSeconds: 1.5, startTime: 1 },
  );
  assert.match(text, /^# TYPE gatewarden_spool_unsent gauge\ngatewarden_spool_unsent 2$/m);
  assert.match(text, /^gatewarden_spool_oldest_unsent_age_seconds 1\.5$/m);
  assert.match(text, /^gatewarden_mqtt_reconnects_total 4$/m);
  assert.match(text, /^gatewarden_device_online\{driver="osdp",instance="bus\\"1",device="door\\\\1"\} 0$/m);
  assert.match(text, /^gatewarden_clock_sync\{source="rtc"\} 1$/m);
  assert.match(text, /^process_resident_memory_bytes 1000$/m);
  assert.ok(text.endsWith('\n'));
  assert.equal(errorCount({ frames: 9, crcErrors: 2, timeouts: 3, naks: 1 }), 6);
});

test('control protocol: request parsing and line splitting', () => {
  assert.deepEqual(parseRequest('{"id":3,"method":"status"}'), { id: 3, method: 'status' });
  assert.match((parseRequest('{"id":3,"method":"rm"}') as { error: string }).error, /unknown method/);
  assert.match((parseRequest('nope') as { error: string }).error, /not JSON/);
  const lb = new LineBuffer(10);
  assert.deepEqual(lb.push('{"a"'), []);
  assert.deepEqual(lb.push(':1}\n{"b":2}\n'), ['{"a":1}', '{"b":2}']);
  lb.push('x'.repeat(11));
  assert.equal(lb.overflow, true);
});

test('diag disk: warns exactly when spool.quotaBytes exceeds the free space (the spool\'s own bytes count), fails below the margin; spool writes from the daemon', async () => {
  const { checkDisk } = await import('../../agent/diag/local-checks.js');
  const { checkSpoolWrite } = await import('../../agent/diag/spool-write.js');
  const MiB = 1024 * 1024;
  const fs = (freeMiB: number) => () => ({ bavail: freeMiB * 256, bsize: 4096, blocks: 1000 * 256 });
  const dir = process.cwd();
  const run = (free: number, quota: number, held?: number) => checkDisk({ dir, quotaBytes: quota * MiB, reserveBytes: 2 * MiB, spoolBytes: held === undefined ? undefined : held * MiB, statfs: fs(free) })[0];
  assert.equal(run(300, 256).verdict, 'pass');
  const w = run(100, 256);
  assert.equal(w.verdict, 'warn');
  assert.match(w.detail, /spool\.quotaBytes exceeds the free space/);
  assert.match(w.hint ?? '', /lower spool\.quotaBytes to at most 98\.0? ?MiB|lower spool\.quotaBytes to at most 98 MiB/);
  assert.equal(run(100, 256, 200).verdict, 'pass', 'the spool already holds 200 MiB of its quota: 56 MiB to grow, 100 free');
  assert.equal(run(60, 256, 200).verdict, 'pass');
  assert.equal(run(50, 256, 200).verdict, 'warn', '56 MiB to grow, 50 free');
  assert.equal(run(1, 16).verdict, 'fail', 'less than the margin the spool keeps free');
  const ok = { state: 'ok' as const, since: null, attempts: 0, lastError: null, errorsTotal: 0, uncommitted: 0, maxBacklogEvents: 10000, committedTotal: 5, refusedTotal: 0, refusedUndeclared: 0, refused: [], reserve: null };
  assert.deepEqual(checkSpoolWrite(undefined, dir), [], 'no daemon: no row');
  assert.equal(checkSpoolWrite(ok, dir)[0].verdict, 'pass');
  const failing = checkSpoolWrite({ ...ok, state: 'failing', since: '2026-01-01T00:00:00.000Z', attempts: 4, lastError: { code: 'SQLITE_FULL', message: 'database or disk is full' }, errorsTotal: 4, uncommitted: 10000, refusedTotal: 77, refusedUndeclared: 77 }, dir)[0];
  assert.equal(failing.verdict, 'fail');
  assert.match(failing.detail, /SQLITE_FULL/);
  assert.match(failing.detail, /77 observation/);
  assert.match(failing.hint ?? '', /free space/);
  assert.match(failing.hint ?? '', /check the filesystem/);
});

test('diag delivery: MQTT 3.1.1 without end-to-end ack warns with the fix; 5, or ack on, passes', async () => {
  const { checkDelivery } = await import('../../agent/diag/delivery.js');
  const mqtt = async (extra: string): Promise<Parameters<typeof checkDelivery>[0]> =>
    (await validateConfig(parseYaml(`site: s\ngateway: g\nmqtt:\n  url: mqtt://127.0.0.1:1883\n${extra}`, 'd'), 'd')).config.mqtt;
  const [v4] = checkDelivery(await mqtt('  protocolVersion: 4\n'));
  assert.equal(v4.verdict, 'warn');
  assert.equal(v4.section, 'broker');
  assert.match(v4.detail, /3\.1\.1.*without mqtt\.platformAck\.enabled.*silently dropped/);
  assert.match(v4.hint ?? '', /mqtt\.protocolVersion: 5.*mqtt\.platformAck\.enabled: true/);
  assert.match(renderReport({ version: 'v', host: 'h', ts: 't', daemon: 'not running', checks: [v4], summary: { pass: 0, warn: 1, fail: 0, skip: 0 }, exitCode: 1 }), /platformAck\.enabled: true/);
  const [v4ack] = checkDelivery(await mqtt('  protocolVersion: 4\n  platformAck:\n    enabled: true\n    resendAfterSeconds: 30\n'));
  assert.equal(v4ack.verdict, 'pass');
  assert.match(v4ack.detail, /end-to-end ack on.*30 s/);
  const [v5] = checkDelivery(await mqtt(''));
  assert.equal(v5.verdict, 'pass');
  assert.match(v5.detail, /MQTT 5/);
});

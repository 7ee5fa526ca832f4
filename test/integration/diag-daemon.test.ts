// `gatewarden diag` against the real daemon and a real mosquitto: all ✔ first,
// then one thing broken at a time, each reported as the right ✖ with a hint naming the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/chain.js';
import { spawnDaemon, writeDaemonConfig } from '../helpers/daemon.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { diagJson, failures, find } from '../helpers/diag-cli.js';
import { keyFilePath } from '../../agent/chain/keys.js';

const PASSWORD = 'diag-s3cret-pw';

test('diag against a running daemon: all pass, then each broken thing is the right failure', { timeout: 300_000 }, async (t) => {
  const dir = tempDir('gw-diag-');
  chmodSync(dir, 0o755); // --user nobody must be able to traverse to the state dir
  const broker = await startMosquitto({ auth: { users: { gw: PASSWORD } } });
  t.after(async () => {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const pwFile = join(dir, 'mqtt-password');
  writeFileSync(pwFile, `${PASSWORD}\n`, { mode: 0o640 });
  const syncFile = join(dir, 'synchronized');
  writeFileSync(syncFile, '');
  const config = writeDaemonConfig(dir, {
    mqtt: { url: broker.url, username: 'gw', passwordFile: pwFile, reconnect: { minMs: 50, maxMs: 500 } },
    drivers: { synthetic: [{ id: 'syn-1', intervalMs: 200 }] },
  });
  const daemon = spawnDaemon(config);
  t.after(async () => {
    if (daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
    await daemon.exited;
  });
  await daemon.waitLog(/control socket listening/);
  const noRtc = { GATEWARDEN_RTC_DEVICE: join(dir, 'no-rtc') };
  const synced = ['--clock-sync-file', syncFile];

  // 1. Everything healthy. The daemon's broker connection may still be coming up: poll.
  let ok = await diagJson(config, synced, noRtc);
  for (let i = 0; i < 100 && ok.code !== 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    ok = await diagJson(config, synced, noRtc);
  }
  assert.equal(ok.code, 0, failures(ok).join('\n'));
  assert.equal(ok.daemon, 'running');
  for (const c of ['config valid', 'daemon running', 'key permissions', 'clock synced', 'disk space', 'spool writable', 'spool integrity', 'TCP connect', 'MQTT auth', 'publish round trip']) {
    assert.equal(find(ok, c).verdict, 'pass', c);
  }
  assert.equal(find(ok, 'synthetic: synthetic source running').verdict, 'pass', 'device checks come from the daemon');

  // 2. Clock unsynced (no sync file, no RTC).
  const clock = await diagJson(config, ['--clock-sync-file', join(dir, 'missing')], noRtc);
  assert.equal(clock.code, 2);
  assert.equal(find(clock, 'clock synced').verdict, 'fail');
  assert.match(find(clock, 'clock synced').hint ?? '', /timedatectl set-ntp true/);
  assert.deepEqual(failures(clock).length, 1, failures(clock).join('\n'));

  // 3. Key readable by others.
  const key = keyFilePath(join(dir, 'state'));
  chmodSync(key, 0o644);
  const perms = await diagJson(config, synced, noRtc);
  chmodSync(key, 0o600);
  assert.equal(perms.code, 2);
  assert.equal(find(perms, 'key permissions').verdict, 'fail');
  assert.match(find(perms, 'key permissions').hint ?? '', /chmod 600/);
  assert.equal(failures(perms).length, 1, failures(perms).join('\n'));

  // 4. Wrong broker password (diag reads the password file, as a restarted daemon would).
  writeFileSync(pwFile, 'wrong-password\n');
  const auth = await diagJson(config, synced, noRtc);
  writeFileSync(pwFile, `${PASSWORD}\n`);
  assert.equal(auth.code, 2);
  const a = find(auth, 'MQTT auth');
  assert.equal(a.verdict, 'fail');
  assert.match(a.detail, /bad username or password|not authorized/);
  assert.match(a.hint ?? '', /mqtt\.username and the password in .*mqtt-password/);
  assert.equal(find(auth, 'publish round trip').verdict, 'skip');

  // 5. Spool not writable by the service user. Permissions are judged for the daemon's
  //    user; here the "service user" is nobody, owning the state dir as an install would.
  const state = join(dir, 'state');
  const chownR = (p: string, uid: number): void => {
    chownSync(p, uid, uid);
    for (const e of readdirSync(p, { withFileTypes: true })) {
      if (e.isDirectory()) chownR(join(p, e.name), uid);
      else if (!e.isSocket()) chownSync(join(p, e.name), uid, uid);
    }
  };
  chownR(state, 65534);
  const asNobody = await diagJson(config, [...synced, '--user', '65534'], noRtc);
  assert.equal(find(asNobody, 'spool writable').verdict, 'pass', failures(asNobody).join('\n'));
  chownSync(join(state, 'spool.db'), 0, 0);
  chmodSync(join(state, 'spool.db'), 0o644);
  const spool = await diagJson(config, [...synced, '--user', '65534'], noRtc);
  assert.equal(spool.code, 2);
  assert.equal(find(spool, 'spool writable').verdict, 'fail');
  assert.match(find(spool, 'spool writable').hint ?? '', /chown -R .*state && chmod u\+rw .*spool\.db/);
  assert.equal(failures(spool).length, 1, failures(spool).join('\n'));
  chownR(state, 0);

  // 6. Broker down.
  await broker.halt();
  const down = await diagJson(config, synced, noRtc);
  assert.equal(down.code, 2);
  const tcp = find(down, 'TCP connect');
  assert.equal(tcp.verdict, 'fail');
  assert.match(tcp.detail, /ECONNREFUSED/);
  assert.match(tcp.hint ?? '', /start the broker/);
  assert.equal(find(down, 'MQTT auth').verdict, 'skip');
  await broker.restart();

  // 7. Daemon stopped: diag creates the drivers briefly itself and says the daemon is down.
  daemon.child.kill('SIGTERM');
  await daemon.exited;
  const alone = await diagJson(config, synced, noRtc);
  assert.equal(alone.daemon, 'not running');
  assert.equal(find(alone, 'daemon running').verdict, 'warn');
  assert.match(find(alone, 'daemon running').hint ?? '', /systemctl start gatewarden/);
  assert.equal(find(alone, 'synthetic: synthetic source running').verdict, 'pass');
  assert.equal(alone.code, 1, failures(alone).join('\n'));
});

test('diag: a serial port the daemon cannot open is reported by the driver with its fix', { timeout: 120_000 }, async (t) => {
  const dir = tempDir('gw-diag-serial-');
  const broker = await startMosquitto();
  t.after(async () => {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const missing = join(dir, 'ttyUSB-missing');
  const config = writeDaemonConfig(dir, {
    mqtt: { url: broker.url },
    drivers: {
      modbus: [{ id: 'rs485-1', transport: { type: 'rtu', path: missing }, units: [{ id: 'env-1', unitId: 1, points: [{ name: 't', table: 'holding', address: 0, type: 'uint16' }] }] }],
    },
  });
  const daemon = spawnDaemon(config);
  t.after(async () => {
    if (daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
    await daemon.exited;
  });
  await daemon.waitLog(/control socket listening/);
  const r = await diagJson(config, ['--clock-sync-file', config]);
  assert.equal(r.daemon, 'running');
  assert.equal(r.code, 2);
  const port = r.checks.find((c) => c.check === 'modbus: serial port exists');
  assert.ok(port, JSON.stringify(r.checks, null, 1));
  assert.equal(port.verdict, 'fail');
  assert.equal(port.instance, 'rs485-1');
  assert.match(port.hint ?? '', /plug the adapter in or fix transport\.path/);
  const running = r.checks.find((c) => c.check === 'modbus: driver running');
  assert.equal(running?.verdict, 'fail');
});

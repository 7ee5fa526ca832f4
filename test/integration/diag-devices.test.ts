// `gatewarden diag` device checks against the real daemon:
// a real mosquitto, the SOAP test camera and an OSDP PD on a socat pty pair. All camera and
// reader checks pass; then one device thing is broken at a time — the reader unplugged
// (the PD stops answering: the adapter and line stay, the reader is gone), then the camera
// configured with a wrong password — and each is the right failure with a hint naming the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tempDir } from '../helpers/chain.js';
import { spawnDaemon, writeDaemonConfig, type DaemonProcess } from '../helpers/daemon.js';
import { diagJson, runCli } from '../helpers/diag-cli.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { openPtyPair } from '../helpers/pty.js';
import { startOnvifCamera } from '../peers/onvif-camera.js';
import { startPdBus } from '../peers/osdp-pd.js';
import type { DiagCheck, DiagReport } from '../../agent/diag/types.js';

const CAM_PW = 'cam-s3cret';
const CAMERA_CHECKS = ['onvif: onvif.reachable', 'onvif: onvif.clock_skew', 'onvif: onvif.login', 'onvif: onvif.events'];
const READER_CHECKS = ['osdp: serial port', 'osdp: reader answers', 'osdp: last card read'];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The check `name` of `device` (several devices share check names). */
function dev(r: DiagReport, name: string, device: string): DiagCheck {
  const c = r.checks.find((x) => x.check === name && x.device === device);
  if (!c) throw new Error(`no check "${name}" for ${device} in:\n${r.checks.map((x) => `${x.verdict} ${x.device ?? '-'} ${x.check}`).join('\n')}`);
  return c;
}

/** Failed device checks as "device check" (sorted), for "only this failed" assertions. */
function deviceFailures(r: DiagReport): string[] {
  return r.checks.filter((c) => c.section === 'drivers' && c.verdict === 'fail').map((c) => `${c.device ?? '-'} ${c.check}`).sort();
}
const explain = (r: DiagReport): string => JSON.stringify(r.checks.filter((c) => c.section === 'drivers'), null, 1);

async function poll<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v, null, 1).slice(0, 3000)}`);
    await sleep(250);
  }
}

interface StatusDevices {
  devices?: Array<{ device: string; state: string }>;
}

async function devicesOnline(config: string): Promise<Record<string, boolean>> {
  const r = await runCli(['status', '--json', '-c', config]);
  if (r.code !== 0) return {};
  const s = JSON.parse(r.stdout) as StatusDevices;
  return Object.fromEntries((s.devices ?? []).map((d) => [d.device, d.state === 'online']));
}

test('diag with a camera and an OSDP reader: all pass, then reader unplugged, then wrong camera password', { timeout: 180_000 }, async (t) => {
  const dir = tempDir('gw-diag-dev-');
  const broker = await startMosquitto();
  const cam = await startOnvifCamera({ password: CAM_PW });
  const pty = await openPtyPair();
  const peer = await startPdBus(pty.b, [{ address: 3 }]);
  let daemon: DaemonProcess | undefined;
  t.after(async () => {
    if (daemon && daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
    await daemon?.exited;
    await peer.close().catch(() => undefined);
    await pty.close();
    await cam.close();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const writeConfig = (camPassword: string): string =>
    writeDaemonConfig(dir, {
      mqtt: { url: broker.url, reconnect: { minMs: 50, maxMs: 500 } },
      drivers: {
        onvif: [{
          id: 'cams',
          cameras: [{ id: 'cam1', host: '127.0.0.1', port: cam.port, username: 'admin', password: camPassword }],
          pullTimeoutSeconds: 2,
          minPullIntervalMs: 200,
          reconnect: { minMs: 200, maxMs: 1000 },
        }],
        // A short offline threshold (the default is 8 s, OSDP §5.7) keeps the test brief.
        osdp: [{ id: 'bus1', port: pty.a, baud: 115200, offlineAfterMs: 1500, probeBackoffMs: 200, probeBackoffMaxMs: 1000, readers: [{ id: 'rdr1', address: 3 }] }],
      },
    });
  const diag = (config: string): Promise<DiagReport & { code: number }> => diagJson(config, ['--clock-sync-file', config]);

  // 1. Everything right: both devices come online, a card is read, every device check passes.
  let config = writeConfig(CAM_PW);
  daemon = spawnDaemon(config);
  await daemon.waitLog(/control socket listening/);
  await poll('cam1 and rdr1 online', () => devicesOnline(config), (d) => d.cam1 === true && d.rdr1 === true);
  peer.pd.presentCard('1'.repeat(26));
  const ok = await poll('the card read and the subscription to show in diag', () => diag(config), (r) =>
    r.checks.some((c) => c.check === 'osdp: last card read' && c.verdict === 'pass') && r.checks.some((c) => c.check === 'onvif: onvif.events' && c.verdict === 'pass'));
  assert.equal(ok.daemon, 'running');
  for (const c of CAMERA_CHECKS) assert.equal(dev(ok, c, 'cam1').verdict, 'pass', `${c}: ${dev(ok, c, 'cam1').detail}`);
  for (const c of READER_CHECKS) assert.equal(dev(ok, c, c === 'osdp: serial port' ? 'bus1' : 'rdr1').verdict, 'pass', c);
  assert.deepEqual(deviceFailures(ok), [], explain(ok));

  // 2. Reader unplugged: the PD goes silent while the daemon runs; after the offline
  //    threshold diag says the reader does not answer and to check power/wiring/address.
  peer.pd.silent = true;
  await poll('rdr1 offline', () => devicesOnline(config), (d) => d.rdr1 === false);
  const unplugged = await diag(config);
  assert.equal(unplugged.code, 2);
  const answers = dev(unplugged, 'osdp: reader answers', 'rdr1');
  assert.equal(answers.verdict, 'fail');
  assert.match(answers.detail, /address 3 offline \(\d+ timeouts, 0 CRC errors\)/);
  assert.match(answers.hint ?? '', /check power, wiring, the reader address and baud rate/);
  assert.equal(dev(unplugged, 'osdp: serial port', 'bus1').verdict, 'pass', 'the adapter is still there');
  assert.equal(dev(unplugged, 'onvif: onvif.login', 'cam1').verdict, 'pass');
  assert.deepEqual(deviceFailures(unplugged), ['rdr1 osdp: reader answers'], explain(unplugged));
  peer.pd.silent = false;

  // 3. Camera wrong password: the daemon restarted on a config with a wrong camera password.
  daemon.child.kill('SIGTERM');
  await daemon.exited;
  config = writeConfig('not-the-password');
  daemon = spawnDaemon(config);
  await daemon.waitLog(/control socket listening/);
  await poll('rdr1 online again', () => devicesOnline(config), (d) => d.rdr1 === true);
  const wrong = await poll('a login failure in diag', () => diag(config), (r) => r.checks.some((c) => c.check === 'onvif: onvif.login' && c.verdict === 'fail'));
  assert.equal(wrong.code, 2);
  assert.equal(dev(wrong, 'onvif: onvif.reachable', 'cam1').verdict, 'pass', 'PRE_AUTH calls still answer');
  const login = dev(wrong, 'onvif: onvif.login', 'cam1');
  assert.equal(login.verdict, 'fail');
  assert.match(login.hint ?? '', /authentication failed for user "admin": fix cameras\[0\]\.password \(or \.username\) of onvif instance "cams"/);
  assert.ok(!JSON.stringify(wrong).includes('not-the-password'), 'diag never prints the password');
  assert.equal(dev(wrong, 'onvif: onvif.events', 'cam1').verdict, 'fail', 'no subscription without a login');
  assert.equal(dev(wrong, 'osdp: reader answers', 'rdr1').verdict, 'pass');
  assert.deepEqual(deviceFailures(wrong), ['cam1 onvif: onvif.events', 'cam1 onvif: onvif.login'], explain(wrong));
});

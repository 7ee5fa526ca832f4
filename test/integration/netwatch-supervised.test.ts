// netwatch as a supervised driver, against the real daemon process (drivers/netwatch/,
// docs/netwatch.md): its source is a recorded proc tree (procRoot → temp dir). A start that
// cannot read net/dev is retried by the supervisor; a running netwatch whose net/dev
// vanishes fails and is restarted once it is back; SIGHUP disables and enables it.
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { controlRequest } from '../../agent/control/client.js';
import { tempDir } from '../helpers/chain.js';
import { allSpoolRows, spawnDaemon, writeDaemonConfig } from '../helpers/daemon.js';
import { freePort } from '../helpers/mosquitto.js';

const ARP = 'IP address       HW type     Flags       HW address            Mask     Device\n10.0.0.10        0x1         0x2         02:00:00:00:0c:01     *        eth0\n';
const DEV = 'Inter-| Receive | Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\n  eth0: 1000 10 0 0 0 0 0 0 500 5 0 0 0 0 0 0\n';

interface Status {
  drivers: Array<{ id: string; kind: string; state: string }>;
  devices: Array<{ device: string; kind: string; instance: string; state: string }>;
  netwatch?: { baselineLearned: boolean; blind: boolean; detail: string };
}

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await get();
      if (ok(last)) return last;
    } catch {
      // the control socket is not up yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('netwatch under the supervisor: retried while net/dev is unreadable, restarted after failing, follows SIGHUP', { timeout: 120_000 }, async (t) => {
  const dir = tempDir('gw-nwsup-');
  const proc = join(dir, 'proc');
  mkdirSync(join(proc, 'net'), { recursive: true });
  writeFileSync(join(proc, 'net/arp'), ARP);
  const dev = join(proc, 'net/dev');
  const netwatch = { enabled: true, procRoot: proc, intervalSeconds: 0.2, learningSeconds: 0, monitorNeigh: false, interfaces: ['eth0'], listeners: { enabled: false } };
  const base = { mqtt: { url: `mqtt://127.0.0.1:${await freePort()}` }, drivers: { synthetic: [{ id: 's1', intervalMs: 1000 }] } };
  const file = writeDaemonConfig(dir, { ...base, netwatch });
  const sock = join(dir, 'state', 'control.sock');
  const spool = join(dir, 'state', 'spool.db');
  const status = () => controlRequest<Status>(sock, 'status', 5000);
  const nwState = (s: Status) => s.drivers.find((d) => d.id === 'netwatch')?.state;
  const d = spawnDaemon(file);
  t.after(async () => {
    if (d.child.exitCode === null) d.child.kill('SIGKILL');
    await d.exited;
    rmSync(dir, { recursive: true, force: true });
  });
  await d.waitLog(/gatewarden running/);

  // 1. No net/dev at start: the supervisor holds it in backoff; status says blind, with the reason.
  let s = await until('netwatch in backoff', status, (x) => nwState(x) === 'backoff');
  assert.equal(s.netwatch?.blind, true);
  assert.equal(s.netwatch?.baselineLearned, false);
  assert.match(s.netwatch?.detail ?? '', /net\/dev unreadable \(ENOENT\)/);
  assert.equal(s.devices.filter((x) => x.kind === 'netwatch').length, 0);
  const diag = await controlRequest<{ checks: Array<{ kind: string; check: string; verdict: string; hint?: string }> }>(sock, 'diag', 20_000);
  const procfs = diag.checks.find((c) => c.kind === 'netwatch' && c.check === 'netwatch.procfs');
  assert.equal(procfs?.verdict, 'fail', 'diag runs netwatch checks while it is down');
  assert.match(procfs?.hint ?? '', /ProcSubset=pid/);

  // 2. net/dev appears: a retry starts it; its interface is in status.devices.
  writeFileSync(dev, DEV);
  s = await until('netwatch running', status, (x) => nwState(x) === 'running' && x.devices.some((v) => v.kind === 'netwatch' && v.state === 'online'));
  assert.deepEqual(s.devices.filter((x) => x.kind === 'netwatch').map((x) => [x.device, x.instance]), [['eth0', 'netwatch']]);
  assert.equal(s.netwatch?.blind, false);
  const attempts = async () => (await controlRequest<{ instances: Array<{ id: string; attempts: number }> }>(sock, 'diag', 20_000)).instances.find((i) => i.id === 'netwatch')?.attempts ?? 0;
  const attemptsBefore = await attempts();
  assert.ok(attemptsBefore >= 2, `started on a retry (attempts ${attemptsBefore})`);

  // 3. net/dev vanishes while running: after 3 blind polls it fails; the supervisor restarts it once it is back.
  renameSync(dev, `${dev}.away`);
  s = await until('netwatch failed', status, (x) => nwState(x) === 'backoff', 20_000);
  assert.match(s.netwatch?.detail ?? '', /unreadable for 3 polls in a row/);
  await d.waitLog(/driver failed while running; restarting/);
  renameSync(`${dev}.away`, dev);
  await until('netwatch running again', status, (x) => nwState(x) === 'running');
  assert.ok((await attempts()) > attemptsBefore, 'a new attempt started it');

  // 4. SIGHUP: disabled → stopped, its fields gone; enabled again → started. The synthetic driver is untouched.
  const reloads = () => allSpoolRows(spool).filter((r) => r.type === 'system.config.reloaded').map((r) => JSON.parse(r.payload).body.data as { started: string[]; stopped: string[]; restarted: string[] });
  writeDaemonConfig(dir, { ...base, netwatch: { ...netwatch, enabled: false } });
  d.child.kill('SIGHUP');
  s = await until('netwatch stopped', status, (x) => nwState(x) === undefined);
  assert.equal(s.netwatch, undefined);
  assert.deepEqual(reloads()[0], { started: [], stopped: ['netwatch'], restarted: [], needRestart: [] });
  writeDaemonConfig(dir, { ...base, netwatch });
  d.child.kill('SIGHUP');
  await until('netwatch running after enable', status, (x) => nwState(x) === 'running' && x.netwatch?.blind === false);
  await until('second reload event', async () => reloads(), (r) => r.length >= 2);
  assert.deepEqual(reloads()[1], { started: ['netwatch'], stopped: [], restarted: [], needRestart: [] });
  // A changed section restarts it.
  writeDaemonConfig(dir, { ...base, netwatch: { ...netwatch, intervalSeconds: 0.3 } });
  d.child.kill('SIGHUP');
  await until('third reload event', async () => reloads(), (r) => r.length >= 3);
  assert.deepEqual(reloads()[2], { started: [], stopped: [], restarted: ['netwatch'], needRestart: [] });
  await until('netwatch running after change', status, (x) => nwState(x) === 'running');

  d.child.kill('SIGTERM');
  assert.equal(await d.exited, 0);
});

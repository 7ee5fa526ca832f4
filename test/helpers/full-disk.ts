// Helpers of the full-disk tests (test/integration/full-disk*.test.ts): a real tmpfs in a
// private mount namespace (unshare -m) that ends with its holder process, a filler that
// keeps it full, a spool reader living inside the namespace, the daemon + broker rig both
// tests start from and the checks both end with.
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { controlRequest } from '../../agent/control/client.js';
import type { SpoolRecord } from '../../agent/spool/sqlite-spool.js';
import { tempDir } from './chain.js';
import { spawnDaemon, writeDaemonConfig, type DaemonProcess } from './daemon.js';
import { startMosquitto, type MosquittoBroker } from './mosquitto.js';
import { probe, waitFor, type Probe } from './mqtt-probe.js';

export function skipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (mount namespace, tmpfs)';
  try {
    execFileSync('unshare', ['-m', '--propagation', 'private', 'true'], { stdio: 'ignore' });
    return null;
  } catch (e) {
    return `unshare -m unavailable: ${(e as Error).message}`;
  }
}

/** A private mount namespace holding a tmpfs at `at`; ends (and unmounts) when its holder dies. */
export async function tmpfsNamespace(at: string, size: string): Promise<{ pid: number; path: (p: string) => string; destroy(): Promise<void> }> {
  const holder: ChildProcess = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=${size},mode=0755 gw-full-disk ${at} && echo ready && exec sleep 3600`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    holder.once('exit', (code) => reject(new Error(`mount namespace holder exited (${code})`)));
  });
  const pid = holder.pid!;
  return {
    pid,
    // The namespace's view of a path, from the host: through the holder's root.
    path: (p) => `/proc/${pid}/root${p}`,
    destroy: async () => {
      if (holder.exitCode === null) {
        const gone = new Promise((r) => holder.once('exit', r));
        holder.kill('SIGKILL');
        await gone;
      }
    },
  };
}

export function hostHasMount(at: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === at);
}

/** Appends to `file` until the filesystem says ENOSPC; returns bytes written. */
export function topUp(file: string): number {
  const fd = openSync(file, 'a');
  const buf = Buffer.alloc(64 * 1024, 0x61);
  let n = 0;
  try {
    for (;;) {
      try {
        n += writeSync(fd, buf);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOSPC') {
          // Fill the last partial chunk too.
          for (const size of [4096, 512]) {
            try {
              for (;;) n += writeSync(fd, buf, 0, size);
            } catch {
              /* full at this granularity */
            }
          }
          return n;
        }
        throw e;
      }
    }
  } finally {
    closeSync(fd);
  }
}

const READER = new URL('./spool-reader-child.ts', import.meta.url).pathname;

/** A spool reader living in the namespace (test/helpers/spool-reader-child.ts). */
export function spoolReader(prefix: string[], spoolPath: string) {
  const c = spawn(prefix[0], [...prefix.slice(1), process.execPath, '--import', 'tsx', READER, spoolPath], { stdio: ['pipe', 'pipe', 'inherit'] });
  const rl = createInterface({ input: c.stdout! });
  const waiting: Array<(line: string) => void> = [];
  rl.on('line', (l) => waiting.shift()?.(l));
  const ask = <T>(op: string): Promise<T> =>
    new Promise((resolve, reject) => {
      waiting.push((line) => {
        const r = JSON.parse(line) as T & { error?: string };
        if (r.error) reject(new Error(`spool reader: ${r.error}`));
        else resolve(r);
      });
      c.stdin!.write(`${JSON.stringify({ op })}\n`);
    });
  return {
    head: async () => (await ask<{ head: { epoch: string; seq: number; hash: string } | null }>('head')).head,
    rows: async () => (await ask<{ rows: SpoolRecord[] }>('rows')).rows,
    close: () => c.kill('SIGKILL'),
  };
}

export async function waitForAsync(cond: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface FullDiskRig {
  broker: MosquittoBroker;
  /** Persistent-session probe on the gateway's events (the broker is halted at start). */
  sub: Probe;
  dir: string;
  mnt: string;
  ns: Awaited<ReturnType<typeof tmpfsNamespace>>;
  /** The state dir as the daemon sees it (inside the namespace). */
  stateDir: string;
  /** Control socket, on the host filesystem: reachable from both sides. */
  sock: string;
  config: string;
  /** nsenter into the namespace: the daemon and the spool reader run behind it. */
  prefix: string[];
  /** The daemon running now (respawn() replaces it); SIGKILLed at the end of the test. */
  d: DaemonProcess;
  respawn(): DaemonProcess;
  health<T>(timeoutMs?: number): Promise<T>;
}

/**
 * The full-disk tests' start: mosquitto with a persistent probe session, then halted (the
 * uplink is down for the failure); a 32 MiB tmpfs in a private namespace holding the state
 * dir; the daemon (two synthetic sources at full speed, a 16 MiB quota) running in it with
 * its control socket answering.
 */
export async function startFullDiskRig(t: TestContext, o: { name: string; maxBacklogEvents: number }): Promise<FullDiskRig> {
  const broker = await startMosquitto({ persistence: true });
  t.after(() => broker.stop());
  const sub = await probe(broker.url, 'gatewarden/v1/site-t/gw-t/evt/#', { clean: false, clientId: `${o.name}-${process.pid}`, properties: { sessionExpiryInterval: 3600 } });
  t.after(() => sub.close());
  await broker.halt('SIGTERM');

  const dir = tempDir(`gw-${o.name}-`);
  const mnt = join(dir, 'fs');
  mkdirSync(mnt);
  const ns = await tmpfsNamespace(mnt, '32m');
  t.after(async () => {
    await ns.destroy();
    assert.equal(hostHasMount(mnt), false, 'nothing left mounted in the host namespace');
    rmSync(dir, { recursive: true, force: true });
  });
  assert.equal(hostHasMount(mnt), false, 'the tmpfs is only in the private namespace');

  const stateDir = join(mnt, 'state');
  const sock = join(dir, 'control.sock');
  const config = writeDaemonConfig(dir, {
    stateDir,
    log: { level: 'info', format: 'json' },
    control: { socket: sock },
    mqtt: { url: broker.url, reconnect: { minMs: 100, maxMs: 500 } },
    spool: { quotaBytes: '16MiB', maxBacklogEvents: o.maxBacklogEvents, reserveBytes: '256KiB' },
    drivers: { synthetic: [0, 1].map((i) => ({ id: `load-${i}`, intervalMs: 0 })) },
  });
  const prefix = ['nsenter', '-t', String(ns.pid), '-m', `--wd=${process.cwd()}`, '--'];
  const rig: FullDiskRig = {
    broker, sub, dir, mnt, ns, stateDir, sock, config, prefix,
    d: spawnDaemon(config, { prefix }),
    respawn: () => (rig.d = spawnDaemon(config, { prefix })),
    health: <T>(timeoutMs = 10_000) => controlRequest<T>(sock, 'health', timeoutMs),
  };
  t.after(async () => {
    if (rig.d.child.exitCode === null && rig.d.child.signalCode === null) rig.d.child.kill('SIGKILL');
    await rig.d.exited;
  });
  await rig.d.waitLog(/gatewarden running/).catch((e) => {
    throw new Error(`${(e as Error).message}\n${rig.d.out().slice(-2000)}`);
  });
  await waitForAsync(async () => (await rig.health().catch(() => null)) !== null, 'control socket', 10_000);
  return rig;
}

/** The load never stops: waits until the forwarder has caught up with the backlog, then SIGTERM (exit 0). */
export async function drainAndStop(rig: FullDiskRig): Promise<void> {
  await waitForAsync(async () => {
    const h = await rig.health<{ spool: { unsent: number } }>(5000).catch(() => null);
    return h !== null && rig.sub.messages.length > 0 && h.spool.unsent < 500;
  }, 'the forwarder caught up with the backlog', 90_000);
  rig.d.child.kill('SIGTERM');
  assert.equal(await rig.d.exited, 0, rig.d.out().slice(-2000));
}

/** Waits until the probe received every row the spool marks sent. */
export async function waitSentReceived(sub: Probe, rows: SpoolRecord[], timeoutMs = 30_000): Promise<void> {
  const sent = rows.filter((r) => r.sentAt !== null).map((r) => r.seq);
  await waitFor(() => {
    const got = new Set(sub.messages.map((m) => JSON.parse(m.payload).body.seq as number));
    return sent.every((s) => got.has(s));
  }, `all ${sent.length} acknowledged events received`, timeoutMs);
}

/** seq → body (JSON text) over every payload; a seq that carries two different bodies fails the test. */
export function bodiesBySeq(payloads: string[]): Map<number, string> {
  const bySeq = new Map<number, string>();
  for (const p of payloads) {
    const body = JSON.parse(p).body;
    const prior = bySeq.get(body.seq);
    const canon = JSON.stringify(body);
    assert.ok(prior === undefined || prior === canon, `seq ${body.seq} carries two bodies`);
    bySeq.set(body.seq, canon);
  }
  return bySeq;
}

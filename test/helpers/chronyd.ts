// A private chronyd for clock-sync tests: `chronyd -x` never touches the system clock, no
// NTP port (port 0), its command socket, pid file and config in a temp folder. With
// `local: true` it serves its own clock as stratum 8 and reports leap status Normal at
// once; without it, it has no source and reports "Not synchronised".
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Chronyd {
  socket: string;
  stop(): Promise<void>;
}

function tracking(socket: string): Promise<string | null> {
  return new Promise((resolve) => execFile('chronyc', ['-h', socket, '-n', '-c', 'tracking'], { timeout: 2000 }, (err, out) => resolve(err ? null : out)));
}

export async function startChronyd(o: { local: boolean }): Promise<Chronyd> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-chrony-'));
  const socket = join(dir, 'chronyd.sock');
  const conf = join(dir, 'chrony.conf');
  writeFileSync(conf, [...(o.local ? ['local stratum 8'] : []), 'port 0', 'cmdport 0', `bindcmdaddress ${socket}`, `pidfile ${join(dir, 'chronyd.pid')}`, ''].join('\n'));
  const args = ['-x', '-d', '-f', conf, ...(process.getuid?.() === 0 ? ['-u', 'root'] : [])];
  const child: ChildProcess = spawn('chronyd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    const out = await tracking(socket);
    if (out && (!o.local || out.includes('Normal'))) return { socket, stop };
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`chronyd did not answer on ${socket}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

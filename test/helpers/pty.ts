// A connected pseudo-terminal pair from socat: bytes written to `a` come out of `b` and
// back. Stands in for an RS-485/RS-232 line in integration tests (Modbus RTU, OSDP). A pty
// imposes no baud-rate timing: frames arrive as fast as the kernel copies them.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PtyPair {
  /** Stable symlink paths to the two pty slaves. */
  a: string;
  b: string;
  /** Folder holding the links; pass it to openPtyPair again to re-create the pair at the same paths. */
  dir: string;
  /** Kill socat (SIGKILL) and remove the links: both ends see the line vanish. Idempotent. */
  close(): Promise<void>;
}

export interface PtyPairOptions {
  /** Reuse this folder (same `a`/`b` paths as an earlier pair); default: a new temp folder. */
  dir?: string;
  /** How long to wait for socat to create both links. */
  timeoutMs?: number;
}

export async function openPtyPair(opts: PtyPairOptions = {}): Promise<PtyPair> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'gw-pty-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  mkdirSync(dir, { recursive: true });
  // Links left behind by a SIGKILLed socat would make the readiness check below lie.
  rmSync(a, { force: true });
  rmSync(b, { force: true });
  const child: ChildProcess = spawn(
    'socat',
    ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  child.once('error', () => undefined);

  const close = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGKILL');
      await exit;
    }
    rmSync(a, { force: true });
    rmSync(b, { force: true });
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };

  // socat logs "starting data transfer loop" once both ptys exist and the links are made.
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  while (!(existsSync(a) && existsSync(b) && stderr.includes('starting data transfer loop'))) {
    if (exited || Date.now() > deadline) {
      await close();
      throw new Error(`socat pty pair did not come up: ${stderr.trim() || 'no output'}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { a, b, dir, close };
}

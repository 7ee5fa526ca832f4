// Runs `gatewarden platform` (the reference consumer) as a real child process, and reads
// its SQLite store read-only beside it, for the platform tests.
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { rawPublicKey } from '../../agent/chain/keys.js';
import { createKeys } from '../../agent/chain/keys.js';
import { spawnCli } from './cli-child.js';
import { waitUntil } from './driver-context.js';

export interface ConsumerProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | string>;
  stop(): Promise<void>;
}

export function spawnConsumer(args: string[]): ConsumerProcess {
  const { child, stdout, stderr, exited } = spawnCli(['platform', ...args]);
  return {
    child,
    stdout,
    stderr,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** spawnConsumer, resolved once it is connected (its stderr tail in the error if not); stopped when the test ends. */
export async function startConsumer(t: TestContext, args: string[], what = 'consumer connected'): Promise<ConsumerProcess> {
  const c = spawnConsumer(args);
  t.after(() => c.stop());
  await waitUntil(() => /platform consumer connected/.test(c.stderr()), what, 20_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${c.stderr().slice(-2000)}`);
  });
  return c;
}

/**
 * The daemon config of the platform tests for a preparedGateway: its state dir, a 1 s
 * health, one synthetic heartbeat every `intervalMs`; `mqtt` is merged over the broker URL,
 * `extra` over the whole (e.g. `commands`).
 */
export function platformGatewayConfig(stateDir: string, url: string, o: { intervalMs: number; mqtt?: Record<string, unknown>; extra?: Record<string, unknown> }): Record<string, unknown> {
  return {
    stateDir,
    mqtt: { url, reconnect: { minMs: 100, maxMs: 1000 }, healthIntervalSeconds: 1, ...o.mqtt },
    drivers: { synthetic: [{ id: 'heartbeat', intervalMs: o.intervalMs }] },
    ...o.extra,
  };
}

/** A gateway state dir with its key created up front (so the platform can enrol it first), and the key file line. */
export function preparedGateway(dir: string, site = 'site-t', gw = 'gw-t'): { stateDir: string; enrolment: string; pubkey: string } {
  const stateDir = join(dir, 'state');
  const keys = createKeys(stateDir);
  const pubkey = keys.pubkey;
  const enrolment = join(dir, 'gateways.json');
  writeFileSync(enrolment, JSON.stringify({ [`${site}/${gw}`]: pubkey }));
  return { stateDir, enrolment, pubkey };
}

/** A platform key pair; the private key as a PEM file (as `openssl genpkey -algorithm ed25519` writes it). */
export function platformKeyFile(dir: string): { file: string; publicRaw: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const file = join(dir, 'platform-ed25519.pem');
  writeFileSync(file, String(privateKey.export({ format: 'pem', type: 'pkcs8' })), { mode: 0o600 });
  return { file, publicRaw: rawPublicKey(publicKey).toString('base64url') };
}

export interface StoreView {
  seqs(epoch?: string): number[];
  payloads(): string[];
  verified(): Array<{ epoch: string; verified_seq: number; acked_seq: number; max_seq: number }>;
  byConsumer(): Record<string, number>;
  gaps(): Array<{ from_seq: number; to_seq: number; state: string }>;
  conflicts(): number;
  close(): void;
}

/** Opens the consumer's store read-only (WAL: beside the writer). */
export function readStore(file: string): StoreView {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return {
    seqs: (epoch) =>
      (epoch
        ? db.prepare('SELECT seq FROM events WHERE epoch = ? ORDER BY seq').pluck().all(epoch)
        : db.prepare('SELECT seq FROM events ORDER BY epoch, seq').pluck().all()) as number[],
    payloads: () => db.prepare('SELECT payload FROM events ORDER BY epoch, seq').pluck().all() as string[],
    verified: () => db.prepare('SELECT epoch, verified_seq, acked_seq, max_seq FROM chains ORDER BY last_seen').all() as Array<{ epoch: string; verified_seq: number; acked_seq: number; max_seq: number }>,
    byConsumer: () => Object.fromEntries((db.prepare('SELECT consumer, count(*) AS n FROM events GROUP BY consumer').all() as Array<{ consumer: string; n: number }>).map((r) => [r.consumer, r.n])),
    gaps: () => db.prepare('SELECT from_seq, to_seq, state FROM gaps ORDER BY from_seq').all() as Array<{ from_seq: number; to_seq: number; state: string }>,
    conflicts: () => (db.prepare('SELECT count(*) AS n FROM conflicts').get() as { n: number }).n,
    close: () => db.close(),
  };
}

/** Polls a store condition, opening the file fresh each time (it may not exist yet). */
export async function waitStore<T>(file: string, get: (s: StoreView) => T, ok: (v: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      const s = readStore(file);
      try {
        last = get(s);
      } finally {
        s.close();
      }
      if (ok(last)) return last;
    } catch {
      // not created yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)?.slice(0, 500)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

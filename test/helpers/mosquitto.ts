// A private mosquitto broker per test: /usr/sbin/mosquitto on 127.0.0.1 and a free port,
// with a generated config in a temp dir. Always call stop() (e.g. in t.after); brokers
// still alive when the test process exits are SIGKILLed by an exit hook.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { tempDir } from './chain.js';

export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';

export interface MosquittoOptions {
  port?: number;
  /** Users and passwords; anonymous clients are refused when set. */
  auth?: { users: Record<string, string>; acl?: string };
  tls?: { caFile: string; certFile: string; keyFile: string; requireClientCert?: boolean };
  /** max_queued_messages; default 1,000,000 (mosquitto's 1000 drops QoS 1 to slow subscribers). */
  maxQueued?: number;
  /** Keep sessions and retained messages across restart() (saved on SIGTERM); default false. */
  persistence?: boolean;
}

export interface MosquittoBroker {
  port: number;
  /** mqtt://127.0.0.1:PORT, or mqtts:// with tls. */
  url: string;
  dir: string;
  /** SIGTERM, wait for exit (SIGKILL after 5 s), remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** Stop the process but keep the dir (for restart). */
  halt(signal?: NodeJS.Signals): Promise<void>;
  /** Start again on the same port with the same config. */
  restart(): Promise<void>;
  /** The broker's log so far (log_type all). */
  log(): string;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = netConnect({ port, host: '127.0.0.1' });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<MosquittoBroker> {
  const dir = tempDir('gw-mosq-');
  const port = opts.port ?? (await freePort());
  const logFile = join(dir, 'mosquitto.log');
  const lines = [
    `listener ${port} 127.0.0.1`,
    `allow_anonymous ${opts.auth ? 'false' : 'true'}`,
    ...(opts.persistence ? ['persistence true', `persistence_location ${dir}/`, 'autosave_interval 0'] : ['persistence false']),
    `max_queued_messages ${opts.maxQueued ?? 1_000_000}`,
    'max_inflight_messages 0',
    `log_dest file ${logFile}`,
    'log_type all',
    'connection_messages true',
    // Run as whoever runs the tests: as root, mosquitto would otherwise drop to the
    // `mosquitto` user and could not read this 0700 temp dir (log, passwords, keys).
    `user ${userInfo().username}`,
  ];
  if (opts.auth) {
    const pw = join(dir, 'passwd');
    writeFileSync(pw, '', { mode: 0o600 });
    for (const [user, pass] of Object.entries(opts.auth.users)) {
      execFileSync('mosquitto_passwd', ['-b', pw, user, pass], { stdio: ['ignore', 'ignore', 'pipe'] });
    }
    lines.push(`password_file ${pw}`);
    if (opts.auth.acl !== undefined) {
      const acl = join(dir, 'acl');
      writeFileSync(acl, opts.auth.acl, { mode: 0o600 });
      lines.push(`acl_file ${acl}`);
    }
  }
  if (opts.tls) {
    lines.push(`cafile ${opts.tls.caFile}`, `certfile ${opts.tls.certFile}`, `keyfile ${opts.tls.keyFile}`);
    if (opts.tls.requireClientCert) lines.push('require_certificate true');
  }
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, lines.join('\n') + '\n');

  let proc: ChildProcess | null = null;
  let stderr = '';

  const launch = async (): Promise<void> => {
    const p = spawn(MOSQUITTO_BIN, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc = p;
    live.add(p);
    let exited = false;
    p.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    p.once('exit', () => {
      exited = true;
      live.delete(p);
    });
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`mosquitto exited at start (port ${port}): ${stderr}\n${readLog()}`);
      if (await canConnect(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    p.kill('SIGKILL');
    throw new Error(`mosquitto did not accept on port ${port} within 15 s: ${stderr}\n${readLog()}`);
  };

  const readLog = (): string => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };

  const halt = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill(signal);
    const t = setTimeout(() => p.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(t);
  };

  await launch();
  let stopped = false;
  return {
    port,
    url: `${opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    dir,
    log: readLog,
    halt,
    restart: async () => {
      await halt();
      await launch();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// A two-node ejabberd cluster (Debian package `ejabberd`, mod_mqtt: MQTT 5) for tests, on
// this machine and loopback only: each node has its own temp dir (config, Mnesia spool,
// logs), its own Erlang node name and MQTT port; both share one random Erlang cookie; the
// second node joins the first (`ejabberdctl join_cluster`). Erlang distribution binds
// 127.0.0.1 (INET_DIST_INTERFACE) and epmd is asked to listen on 127.0.0.1 only
// (ERL_EPMD_ADDRESS; an epmd already running is reused and left running, as Erlang does).
// MQTT clients authenticate through the anonymous backend: any username, any password.
// ejabberdctl drops to the `ejabberd` user when run as root; the per-node ejabberdctl.cfg
// keeps it as the current user so the temp dirs stay private. Needs root (ejabberdctl
// refuses other users except `ejabberd`).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './chain.js';
import { freePort } from './mosquitto.js';

const run = promisify(execFile);
export const EJABBERDCTL = process.env.EJABBERDCTL ?? '/usr/sbin/ejabberdctl';

export interface EjabberdNode {
  /** Erlang node name, e.g. gwt1a2b3ca@localhost */
  name: string;
  port: number;
  url: string;
  dir: string;
  /** This node's ejabberd.log so far. */
  log(): string;
  /** Runs an ejabberdctl command against this node; resolves with stdout. */
  ctl(...args: string[]): Promise<string>;
}

export interface EjabberdCluster {
  nodes: EjabberdNode[];
  /** `ejabberdctl list_cluster` as seen from node i. */
  members(i?: number): Promise<string[]>;
  /** Stops every node (ejabberdctl stop; SIGKILL of the node's own beam process if it lingers) and removes the dirs. */
  stop(): Promise<void>;
}

const env = { ...process.env, ERL_EPMD_ADDRESS: '127.0.0.1' };

function nodeConfig(port: number): string {
  return [
    'hosts: ["localhost"]',
    'loglevel: info',
    'log_rotate_count: 0',
    'auth_method: [anonymous]',
    'anonymous_protocol: login_anon',
    'listen:',
    '  -',
    `    port: ${port}`,
    '    ip: "127.0.0.1"',
    '    module: mod_mqtt',
    '    backlog: 100',
    'modules:',
    '  mod_mqtt:',
    '    max_queue: 100000',
    '',
  ].join('\n');
}

/** PIDs of beam processes whose command line names exactly this node (our own, never others). */
function beamPids(node: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.includes('beam')) && argv.includes(node)) out.push(Number(p));
    } catch {
      // gone
    }
  }
  return out;
}

export async function startEjabberdCluster(o: { nodes?: number } = {}): Promise<EjabberdCluster> {
  const count = o.nodes ?? 2;
  const root = tempDir('gw-ejabberd-');
  const cookie = randomBytes(12).toString('hex');
  const tag = randomBytes(3).toString('hex');
  const nodes: EjabberdNode[] = [];
  for (let i = 0; i < count; i++) {
    const dir = join(root, `node${i}`);
    mkdirSync(join(dir, 'spool'), { recursive: true });
    mkdirSync(join(dir, 'logs'), { recursive: true });
    const port = await freePort();
    const name = `gwt${tag}n${i}@localhost`;
    writeFileSync(join(dir, 'ejabberd.yml'), nodeConfig(port));
    writeFileSync(join(dir, 'inetrc'), '');
    writeFileSync(
      join(dir, 'ejabberdctl.cfg'),
      [`EXEC_CMD=as_current_user`, `ERLANG_NODE=${name}`, `INET_DIST_INTERFACE=127.0.0.1`, `ERL_EPMD_ADDRESS=127.0.0.1`, `ERL_OPTIONS="-setcookie ${cookie}"`, ''].join('\n'),
    );
    const base = ['--config-dir', dir, '--config', join(dir, 'ejabberd.yml'), '--ctl-config', join(dir, 'ejabberdctl.cfg'), '--spool', join(dir, 'spool'), '--logs', join(dir, 'logs')];
    const ctl = async (...args: string[]): Promise<string> => {
      try {
        const r = await run(EJABBERDCTL, [...base, ...args], { env, cwd: dir, timeout: 60_000 });
        return r.stdout;
      } catch (e) {
        const x = e as Error & { stdout?: string; stderr?: string; code?: unknown };
        throw new Error(`ejabberdctl ${args.join(' ')} on ${name} failed (${String(x.code)}): ${x.stdout ?? ''}${x.stderr ?? ''}`);
      }
    };
    const log = (): string => {
      try {
        return readFileSync(join(dir, 'logs', 'ejabberd.log'), 'utf8');
      } catch {
        return '';
      }
    };
    nodes.push({ name, port, url: `mqtt://127.0.0.1:${port}`, dir, log, ctl });
  }

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(
      nodes.map(async (n) => {
        await n.ctl('stop').catch(() => undefined);
        const deadline = Date.now() + 10_000;
        while (beamPids(n.name).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        for (const pid of beamPids(n.name)) process.kill(pid, 'SIGKILL');
      }),
    );
    rmSync(root, { recursive: true, force: true });
  };

  try {
    for (const n of nodes) {
      await n.ctl('start');
      await n.ctl('started');
    }
    for (const n of nodes.slice(1)) {
      await n.ctl('join_cluster', nodes[0].name);
      await n.ctl('started'); // join_cluster restarts the joining node's applications
    }
    const members = async (i = 0): Promise<string[]> => (await nodes[i].ctl('list_cluster')).split('\n').map((l) => l.trim()).filter(Boolean);
    const seen = await members(count - 1);
    for (const n of nodes) if (!seen.includes(n.name)) throw new Error(`ejabberd cluster: ${n.name} is not a member (list_cluster: ${seen.join(', ')})`);
    return { nodes, members, stop };
  } catch (e) {
    const logs = nodes.map((n) => `--- ${n.name}\n${n.log().slice(-2000)}`).join('\n');
    await stop();
    throw new Error(`${(e as Error).message}\n${logs}`);
  }
}

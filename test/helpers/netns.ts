// A throwaway LAN of network namespaces for the netwatch tests (root only). Names carry a
// random run id so parallel runs never collide; destroy() deletes every namespace (which
// removes their veths and bridge) and kills every child, and is safe to call twice.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';

export function canUseNetns(): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  const probe = `gwprobe-${randomBytes(3).toString('hex')}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
    return null;
  } catch (e) {
    return `ip netns unavailable: ${(e as Error).message}`;
  }
}

export interface Lan {
  id: string;
  ns(role: string): string;
  /** `ip` in a namespace. */
  ip(role: string, ...args: string[]): string;
  /** Run a command in a namespace to completion. */
  exec(role: string, cmd: string, args: string[], timeoutMs?: number): string;
  /** Spawn a long-running child in a namespace (killed by destroy()). */
  spawn(role: string, cmd: string, args: string[]): ChildProcess;
  /** Add a host namespace with `eth0` on the bridge. */
  addHost(role: string, mac: string, cidr: string): void;
  destroy(): void;
}

/**
 * Creates namespace `gw` holding bridge `br0` (the gateway's LAN interface, `gwCidr`);
 * hosts are added with addHost(). Only these namespaces carry traffic.
 */
export function createLan(gwCidr: string, gwMac: string): Lan {
  const id = randomBytes(3).toString('hex');
  const names = new Set<string>();
  const children = new Set<ChildProcess>();
  const ns = (role: string): string => `gw-${role}-${id}`;
  const run = (args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const addNs = (role: string): void => {
    run(['netns', 'add', ns(role)]);
    names.add(ns(role));
    run(['-n', ns(role), 'link', 'set', 'lo', 'up']);
  };
  let port = 0;
  const lan: Lan = {
    id,
    ns,
    ip: (role, ...args) => run(['-n', ns(role), ...args]),
    exec: (role, cmd, args, timeoutMs = 60_000) =>
      execFileSync('ip', ['netns', 'exec', ns(role), cmd, ...args], { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] }),
    spawn: (role, cmd, args) => {
      const c = spawn('ip', ['netns', 'exec', ns(role), cmd, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.add(c);
      c.on('exit', () => children.delete(c));
      return c;
    },
    addHost: (role, mac, cidr) => {
      addNs(role);
      const p = `p${port++}`;
      run(['link', 'add', p, 'netns', ns('gw'), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(role)]);
      run(['-n', ns('gw'), 'link', 'set', p, 'master', 'br0', 'up']);
      run(['-n', ns(role), 'link', 'set', 'eth0', 'address', mac]);
      run(['-n', ns(role), 'addr', 'add', cidr, 'dev', 'eth0']);
      run(['-n', ns(role), 'link', 'set', 'eth0', 'up']);
    },
    destroy: () => {
      for (const c of children) c.kill('SIGKILL');
      for (const n of names) {
        // Grandchildren too (a daemon's tcpdump outlives a SIGKILLed daemon): every process
        // still in the namespace, or it would keep the namespace and its bridge alive.
        try {
          const pids = execFileSync('ip', ['netns', 'pids', n], { encoding: 'utf8' }).split('\n').filter((l) => /^\d+$/.test(l.trim()));
          for (const pid of pids) {
            try {
              process.kill(Number(pid), 'SIGKILL');
            } catch {
              /* gone meanwhile */
            }
          }
        } catch {
          /* namespace already gone */
        }
        try {
          run(['netns', 'del', n]);
        } catch {
          /* already gone */
        }
      }
      names.clear();
    },
  };
  try {
    addNs('gw');
    lan.ip('gw', 'link', 'add', 'br0', 'type', 'bridge');
    lan.ip('gw', 'link', 'set', 'br0', 'address', gwMac);
    lan.ip('gw', 'addr', 'add', gwCidr, 'dev', 'br0');
    lan.ip('gw', 'link', 'set', 'br0', 'up');
  } catch (e) {
    lan.destroy();
    throw e;
  }
  return lan;
}

/** JSON lines of a child's stdout, delivered to onLine. */
export function jsonLines(c: ChildProcess, onLine: (v: Record<string, unknown>) => void): void {
  createInterface({ input: c.stdout! }).on('line', (l) => {
    try {
      onLine(JSON.parse(l) as Record<string, unknown>);
    } catch {
      /* not ours */
    }
  });
}

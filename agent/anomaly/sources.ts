// Readers of the kernel sources netwatch polls. /proc/net is per network namespace (it
// is /proc/self/net), so a netwatch running inside a namespace sees that namespace only.
// Every reader tolerates a missing file (returns null) so one absent source — e.g.
// nf_conntrack without the module — degrades that detector only.
import { readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  isListener,
  parseArp,
  parseConntrack,
  parseNetDev,
  parseRoute,
  parseSnmp,
  parseSockets,
  type ConntrackEntry,
  type IfaceCounters,
  type NeighbourEntry,
  type RouteEntry,
  type SocketEntry,
} from './proc-parse.js';

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

export interface Listener extends SocketEntry {
  process: string | null;
  pid: number | null;
}

export class ProcSources {
  constructor(private readonly root: string) {}

  async neighbours(): Promise<NeighbourEntry[] | null> {
    const t = await readText(join(this.root, 'net/arp'));
    return t === null ? null : parseArp(t);
  }

  async counters(): Promise<IfaceCounters[] | null> {
    const t = await readText(join(this.root, 'net/dev'));
    return t === null ? null : parseNetDev(t);
  }

  /** IPv4 routes via a gateway (the default route's next hop among them). */
  async routes(): Promise<RouteEntry[] | null> {
    const t = await readText(join(this.root, 'net/route'));
    return t === null ? null : parseRoute(t);
  }

  async snmp(): Promise<Record<string, Record<string, number>> | null> {
    const t = await readText(join(this.root, 'net/snmp'));
    return t === null ? null : parseSnmp(t);
  }

  /** null when conntrack is not loaded in this namespace. */
  async conntrack(): Promise<ConntrackEntry[] | null> {
    const t = await readText(join(this.root, 'net/nf_conntrack'));
    return t === null ? null : parseConntrack(t);
  }

  /** Listening sockets; process names from /proc/<pid>/fd where readable (needs root or same uid). */
  async listeners(withProcess: boolean): Promise<Listener[] | null> {
    const all: SocketEntry[] = [];
    let any = false;
    for (const proto of ['tcp', 'tcp6', 'udp', 'udp6'] as const) {
      const t = await readText(join(this.root, 'net', proto));
      if (t === null) continue;
      any = true;
      all.push(...parseSockets(t, proto).filter(isListener));
    }
    if (!any) return null;
    const owners = withProcess && all.length > 0 ? await this.socketOwners(new Set(all.map((s) => s.inode))) : new Map<number, { pid: number; comm: string }>();
    return all.map((s) => ({ ...s, pid: owners.get(s.inode)?.pid ?? null, process: owners.get(s.inode)?.comm ?? null }));
  }

  /** inode → owning process, by scanning /proc/<pid>/fd links `socket:[inode]`. */
  private async socketOwners(wanted: Set<number>): Promise<Map<number, { pid: number; comm: string }>> {
    const found = new Map<number, { pid: number; comm: string }>();
    let pids: string[];
    try {
      pids = (await readdir(this.root)).filter((d) => /^\d+$/.test(d));
    } catch {
      return found;
    }
    for (const pid of pids) {
      if (found.size === wanted.size) break;
      let fds: string[];
      try {
        fds = await readdir(join(this.root, pid, 'fd'));
      } catch {
        continue; // not ours to read, or gone
      }
      for (const fd of fds) {
        const link = await readlink(join(this.root, pid, 'fd', fd)).catch(() => '');
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (!m || !wanted.has(Number(m[1])) || found.has(Number(m[1]))) continue;
        const comm = ((await readText(join(this.root, pid, 'comm'))) ?? '').trim();
        found.set(Number(m[1]), { pid: Number(pid), comm });
      }
    }
    return found;
  }
}

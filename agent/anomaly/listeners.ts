// New listening sockets on the gateway itself: a backdoor or an unexpected service is a
// classic post-intrusion step. TCP uses the LISTEN state. UDP has no listen state, so a
// bound, unconnected socket counts — except in the ephemeral port range, where client
// sockets (DNS lookups, mqtt over UDP) would otherwise be reported as listeners.
import type { Observation } from '../events/types.js';
import type { NetwatchConfig } from './config.js';
import type { Listener } from './sources.js';

export interface ListenerState {
  /** "proto addr port" → first-seen wall ms. */
  known: Record<string, number>;
}

export function emptyListenerState(): ListenerState {
  return { known: {} };
}

export function listenerKey(l: Pick<Listener, 'proto' | 'localAddr' | 'localPort'>): string {
  return `${l.proto} ${l.localAddr} ${l.localPort}`;
}

export class ListenerDetector {
  constructor(
    private readonly cfg: NetwatchConfig,
    readonly state: ListenerState,
    private readonly ephemeral: [number, number] = [32768, 60999],
  ) {}

  scan(listeners: Listener[], now: number, learning: boolean): Observation[] {
    const out: Observation[] = [];
    for (const l of listeners) {
      const udp = l.proto === 'udp' || l.proto === 'udp6';
      if (udp && l.localPort >= this.ephemeral[0] && l.localPort <= this.ephemeral[1]) continue;
      const key = listenerKey(l);
      if (key in this.state.known) continue;
      this.state.known[key] = now;
      if (learning || this.cfg.allow.listenerPorts.includes(l.localPort)) continue;
      out.push({
        type: 'network.listener.new',
        severity: 'warning',
        device: 'gateway',
        data: { proto: l.proto, address: l.localAddr, port: l.localPort, uid: l.uid, inode: l.inode, process: l.process, pid: l.pid },
      });
    }
    return out;
  }
}

// Packet-level observation for netwatch: `tcpdump -l -n -e -tt --immediate-mode -i IFACE FILTER` as a
// child, one parsed record per line (docs/netwatch.md "Packet capture"). It sees what the
// kernel tables cannot: ARP claims of the gateway's own IP (the kernel drops them as
// martians and keeps no neighbour entry for its own address), ARP between other hosts
// where the interface carries it (a bridge the gateway owns, a mirror port), SYNs to
// closed ports whose conntrack entries die with the RST, and the gateway's ICMP
// port-unreachable answers to UDP probes. Needs CAP_NET_RAW + AF_PACKET: without them
// tcpdump exits at once and the monitor reports that once (no retries).
import { RestartingChild } from '../restarting-child.js';

export type CaptureRecord =
  | { kind: 'arp'; op: 'request' | 'reply'; ethSrc: string; ethDst: string; senderIp: string; senderMac: string; targetIp: string }
  | { kind: 'syn'; ethSrc: string; src: string; sport: number; dst: string; dport: number }
  | { kind: 'unreach'; from: string; to: string; origDst: string; dport: number };

/** IPv4 only: libpcap cannot index TCP flags behind IPv6 headers. */
export const CAPTURE_FILTER = 'arp or (ip and tcp[13] & 0x17 == 0x02) or (icmp[0] == 3 and icmp[1] == 3)';

const MAC = '([0-9a-f]{2}(?::[0-9a-f]{2}){5})';
const IP4 = '(\\d{1,3}(?:\\.\\d{1,3}){3})';
const HEAD = new RegExp(`^\\d+\\.\\d+ ${MAC} > ${MAC}, (.*)$`, 'i');
const ARP_REQ = new RegExp(`Request who-has ${IP4}(?: \\(${MAC}\\))? tell ${IP4}`);
const ARP_REP = new RegExp(`Reply ${IP4} is-at ${MAC}`, 'i');
const SYN = new RegExp(`: ${IP4}\\.(\\d+) > ${IP4}\\.(\\d+): Flags \\[S\\]`);
const UNREACH = new RegExp(`: ${IP4} > ${IP4}: ICMP ${IP4} udp port (\\d+) unreachable`);

/** One line of `tcpdump -n -e -tt` (tcpdump 4.99 print-arp.c / print-tcp.c / print-icmp.c). */
export function parseCaptureLine(line: string): CaptureRecord | null {
  const h = HEAD.exec(line.trim());
  if (!h) return null;
  const ethSrc = h[1].toLowerCase();
  const ethDst = h[2].toLowerCase();
  const rest = h[3];
  if (rest.includes('ethertype ARP')) {
    const q = ARP_REQ.exec(rest);
    // A request carries the sender's MAC in the ARP body, which tcpdump prints only when it
    // differs from the frame's source; the frame source is the claimant either way.
    if (q) return { kind: 'arp', op: 'request', ethSrc, ethDst, targetIp: q[1], senderIp: q[3], senderMac: ethSrc };
    const r = ARP_REP.exec(rest);
    if (r) return { kind: 'arp', op: 'reply', ethSrc, ethDst, senderIp: r[1], senderMac: r[2].toLowerCase(), targetIp: '' };
    return null;
  }
  const s = SYN.exec(rest);
  if (s) return { kind: 'syn', ethSrc, src: s[1], sport: Number(s[2]), dst: s[3], dport: Number(s[4]) };
  const u = UNREACH.exec(rest);
  if (u) return { kind: 'unreach', from: u[1], to: u[2], origDst: u[3], dport: Number(u[4]) };
  return null;
}

export interface CaptureOptions {
  iface: string;
  command: string;
  onRecord(r: CaptureRecord, iface: string): void;
  /** A recoverable problem (the child died; it is restarted). */
  onError(err: Error): void;
  /** Capture is impossible here (no binary, no CAP_NET_RAW): stated once, never retried. */
  onUnavailable(reason: string): void;
}

export class CaptureMonitor {
  private readonly proc: RestartingChild;
  /** Why capture is off, once known. */
  unavailable: string | undefined;

  constructor(private readonly o: CaptureOptions) {
    this.proc = new RestartingChild({
      command: o.command,
      args: ['-l', '-n', '-e', '-tt', '--immediate-mode', '-i', o.iface, CAPTURE_FILTER],
      collectStderr: true,
      onLine: (line) => {
        const r = parseCaptureLine(line);
        if (r) this.o.onRecord(r, this.o.iface);
      },
      onSpawnError: (e) => this.giveUp(`${o.command} not runnable: ${e.message}`),
      onError: (e) => this.o.onError(e),
      onExit: (code, sig, stderr) => {
        const why = stderr.split('\n').filter((l) => l && !l.startsWith('listening on') && !l.includes('verbose output suppressed')).join('; ');
        if (/permission|not permitted|operation not permitted|no such device|doesn't exist/i.test(why)) {
          this.giveUp(`${o.command} -i ${o.iface}: ${why.trim()} (needs CAP_NET_RAW and AF_PACKET)`);
          return false;
        }
        this.o.onError(new Error(`${o.command} -i ${o.iface} exited (code ${code}, signal ${sig})${why ? `: ${why}` : ''}`));
        return true;
      },
    });
  }

  get running(): boolean {
    return this.proc.running && this.unavailable === undefined;
  }

  /** Lines tcpdump printed (over all runs). */
  get lines(): number {
    return this.proc.lines;
  }

  start(): void {
    if (this.unavailable) return;
    this.proc.start();
  }

  stop(): Promise<void> {
    return this.proc.stop();
  }

  private giveUp(reason: string): void {
    this.unavailable = reason;
    this.o.onUnavailable(reason);
  }
}

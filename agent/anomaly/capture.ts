// Packet-level observation for netwatch: `tcpdump -l -n -e -tt --immediate-mode -i IFACE FILTER` as a
// child, one parsed record per line (docs/netwatch.md "Packet capture"). It sees what the
// kernel tables cannot: ARP claims of the gateway's own IP (the kernel drops them as
// martians and keeps no neighbour entry for its own address), ARP between other hosts
// where the interface carries it (a bridge the gateway owns, a mirror port), SYNs to
// closed ports whose conntrack entries die with the RST, and the gateway's ICMP
// port-unreachable answers to UDP probes. Needs CAP_NET_RAW + AF_PACKET: without them
// tcpdump exits at once and the monitor reports that once (no retries).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

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
  private child: ChildProcess | undefined;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  /** Why capture is off, once known. */
  unavailable: string | undefined;
  lines = 0;

  constructor(private readonly o: CaptureOptions) {}

  get running(): boolean {
    return this.child !== undefined && this.unavailable === undefined;
  }

  start(): void {
    if (this.stopped || this.unavailable) return;
    const child = spawn(this.o.command, ['-l', '-n', '-e', '-tt', '--immediate-mode', '-i', this.o.iface, CAPTURE_FILTER], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => {
      if (stderr.length < 2000) stderr += b.toString('utf8');
    });
    child.on('error', (e) => {
      if (child.pid === undefined) {
        this.child = undefined;
        this.unavailable = `${this.o.command} not runnable: ${e.message}`;
        this.o.onUnavailable(this.unavailable);
      } else this.o.onError(e);
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.failures = 0;
      this.lines += 1;
      const r = parseCaptureLine(line);
      if (r) this.o.onRecord(r, this.o.iface);
    });
    child.on('exit', (code, sig) => {
      if (this.child === child) this.child = undefined;
      if (this.stopped || this.unavailable) return;
      const why = stderr.split('\n').filter((l) => l && !l.startsWith('listening on') && !l.includes('verbose output suppressed')).join('; ');
      if (/permission|not permitted|operation not permitted|no such device|doesn't exist/i.test(why)) {
        this.unavailable = `${this.o.command} -i ${this.o.iface}: ${why.trim()} (needs CAP_NET_RAW and AF_PACKET)`;
        this.o.onUnavailable(this.unavailable);
        return;
      }
      this.failures += 1;
      this.o.onError(new Error(`${this.o.command} -i ${this.o.iface} exited (code ${code}, signal ${sig})${why ? `: ${why}` : ''}`));
      const delay = Math.min(60_000, 500 * 2 ** Math.min(this.failures, 7));
      this.restartTimer = setTimeout(() => this.start(), delay);
      this.restartTimer.unref();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  }
}

// `gatewarden discover osdp`: which readers answer on an RS-485 bus, at which baud. For
// each common baud (one bus = one baud), osdp_ID goes to every address in turn; a valid
// osdp_PDID reply from that address marks a reader (its identity is printed). A bus whose
// readers answered at one baud is not probed at the others. Plaintext only: PDs that
// enforce Secure Channel still answer ID and CAP in the clear (libosdp does, and the
// captured vectors show it NAKing only the rest with 0x06).
import { openBytePort } from '../transport/serial.js';
import type { BytePort } from '../transport/types.js';
import { Deframer } from './phy/deframer.js';
import { encodeFrame, type DecodedFrame } from './phy/frame.js';
import { encodeCommand } from './proto/commands.js';
import { decodeReply, type PdIdentity } from './proto/replies.js';

/** Commonly configured OSDP bauds, most common first. */
export const COMMON_BAUDS = [9600, 115200, 38400, 19200, 57600] as const;

export interface FoundReader extends PdIdentity {
  address: number;
  baud: number;
}

export interface DiscoverReadersOptions {
  port: string;
  bauds?: readonly number[];
  /** Default 0–126. */
  addresses?: readonly number[];
  /** Reply window per address; default covers an ID/PDID exchange at 9600 plus turnaround. */
  timeoutMs?: number;
  onProgress?: (line: string) => void;
  /** Port factory (tests, in-process buses); default serialport / inproc. */
  open?: (path: string, baudRate: number) => BytePort;
}

async function probe(port: BytePort, deframer: Deframer, address: number, timeoutMs: number, waiters: Map<number, (f: DecodedFrame) => void>): Promise<DecodedFrame | null> {
  const { code, data } = encodeCommand({ type: 'ID', replyType: 0 });
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      waiters.delete(address);
      deframer.expire();
      resolve(null);
    }, timeoutMs);
    waiters.set(address, (f) => {
      clearTimeout(t);
      waiters.delete(address);
      resolve(f);
    });
    // SQN 0: a PD restarts its sequence on it, whatever it saw before.
    void port.write(encodeFrame({ address, reply: false, sqn: 0, useCrc: true, code, data }, { mark: true }));
  });
}

export async function scanReaders(o: DiscoverReadersOptions): Promise<FoundReader[]> {
  const bauds = o.bauds ?? COMMON_BAUDS;
  const addresses = o.addresses ?? Array.from({ length: 127 }, (_, i) => i);
  const open = o.open ?? ((path: string, baudRate: number) => openBytePort({ path, baudRate }));
  for (const baud of bauds) {
    const port = open(o.port, baud);
    await port.open();
    const waiters = new Map<number, (f: DecodedFrame) => void>();
    const deframer = new Deframer({ onFrame: (f) => (f.reply ? waiters.get(f.address)?.(f) : undefined) });
    port.onData((chunk) => void deframer.push(chunk));
    const found: FoundReader[] = [];
    try {
      for (const address of addresses) {
        o.onProgress?.(`${baud} baud: address ${address}, ${found.length} found`);
        const f = await probe(port, deframer, address, o.timeoutMs ?? 120, waiters);
        if (!f) continue;
        try {
          const r = decodeReply(f.code, f.data);
          if (r.type === 'PDID') found.push({ address, baud, vendor: r.vendor, model: r.model, version: r.version, serial: r.serial, firmware: r.firmware });
        } catch {
          // a garbled reply at this baud: not a reader we can configure
        }
      }
    } finally {
      await port.close();
    }
    if (found.length > 0) return found;
  }
  return [];
}

const hex = (n: number, w: number): string => `0x${n.toString(16).padStart(w, '0')}`;

/** Runner for agent/cli/discover.ts: lines to print and a config snippet for `drivers.osdp`. */
export async function discoverReaders(o: { port: string; onProgress?: (s: string) => void; addresses?: number[]; timeoutMs?: number }): Promise<{ lines: string[]; instance?: Record<string, unknown> }> {
  const found = await scanReaders({ port: o.port, onProgress: o.onProgress, addresses: o.addresses, timeoutMs: o.timeoutMs });
  if (found.length === 0) return { lines: [`no OSDP reader answered on ${o.port} at ${COMMON_BAUDS.join(', ')} baud (check A/B wiring, termination, power)`] };
  const fw = (r: FoundReader): string => `${r.firmware.major}.${r.firmware.minor}.${r.firmware.build}`;
  return {
    lines: found.map((r) => `address ${r.address} @ ${r.baud} baud: vendor ${hex(r.vendor, 6)} model ${r.model} serial ${hex(r.serial, 8)} firmware ${fw(r)}`),
    instance: {
      id: 'osdp-bus',
      port: o.port,
      baud: found[0].baud,
      readers: found.map((r) => ({ id: `reader-${r.address}`, address: r.address })),
    },
  };
}

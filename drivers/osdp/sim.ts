// Demo simulator for `npm start`: one OSDP reader (PD) on an in-process line
// (createInProcessPair — a real BytePort, no socat needed). Plaintext, address 0. It
// answers ID/CAP/LSTAT/ISTAT/OSTAT/POLL/LED/BUZ/OUT per OSDP v2.2, presents an H10301 card
// now and then, opens/closes its door contact after a strike pulse, and reports tamper
// rarely. Never used on a real site; tests use the fuller peer in test/peers/osdp-pd.ts.
import { Deframer } from './phy/deframer.js';
import { encodeFrame, type DecodedFrame } from './phy/frame.js';
import { NakCode } from './proto/codes.js';
import { decodeCommand, type OsdpCommand } from './proto/commands.js';
import { encodeReply, type OsdpReply } from './proto/replies.js';
import { createInProcessPair, registerInProcessEndpoint } from '../transport/serial.js';
import { encodeWiegand } from '../cards/formats.js';
import { bitsToRawBytes } from '../cards/raw-bits.js';

export interface OsdpSimOptions {
  /** In-process endpoint name; the driver's port is `inproc:<name>`. */
  name?: string;
  address?: number;
  cardEveryMs?: number;
  /** Mean time between tamper reports (on, then off 5 s later). */
  tamperEveryMs?: number;
  /** Source of randomness (tests). */
  random?: () => number;
}

export interface OsdpSim {
  port: string;
  address: number;
  /** Queue a card read now (demo, tests). */
  presentCard(fc: number, cn: number): void;
  close(): Promise<void>;
}

export async function startOsdpSim(opts: OsdpSimOptions = {}): Promise<OsdpSim> {
  const name = opts.name ?? 'osdp-sim';
  const address = opts.address ?? 0;
  const random = opts.random ?? Math.random;
  const pair = createInProcessPair(name);
  const unregister = registerInProcessEndpoint(name, pair.a);
  const pd = pair.b;
  await pd.open();
  const pending: OsdpReply[] = [];
  const inputs = [0, 0, 0, 0];
  const outputs = [0, 0];
  let tamper = 0;
  const timers: NodeJS.Timeout[] = [];
  const later = (ms: number, fn: () => void): void => {
    timers.push(setTimeout(fn, ms));
  };

  const presentCard = (fc: number, cn: number): void => {
    const { bytes, bitCount } = bitsToRawBytes(encodeWiegand('H10301', { fc, cn }));
    pending.push({ type: 'RAW', reader: 0, format: 0, bitCount, data: bytes });
  };
  const answer = (cmd: OsdpCommand): OsdpReply => {
    switch (cmd.type) {
      case 'POLL':
        return pending.shift() ?? { type: 'ACK' };
      case 'ID':
        return { type: 'PDID', vendor: 0x5a5a5a, model: 1, version: 1, serial: 0x00c0ffee, firmware: { major: 1, minor: 0, build: 0 } };
      case 'CAP':
        return { type: 'PDCAP', capabilities: [{ function: 1, compliance: 1, items: 4 }, { function: 2, compliance: 1, items: 2 }, { function: 4, compliance: 1, items: 1 }, { function: 5, compliance: 1, items: 1 }] };
      case 'LSTAT':
        return { type: 'LSTATR', tamper, power: 0 };
      case 'ISTAT':
        return { type: 'ISTATR', inputs: [...inputs] };
      case 'OSTAT':
        return { type: 'OSTATR', outputs: [...outputs] };
      case 'OUT':
        for (const r of cmd.records) {
          if (r.output >= outputs.length) continue;
          outputs[r.output] = r.control === 2 || r.control === 5 ? 1 : 0;
          // Someone walks through after a strike pulse on output 0: contact input 0 opens, then closes.
          if (r.output === 0 && r.control === 5) {
            later(1000, () => ((inputs[0] = 1), pending.push({ type: 'ISTATR', inputs: [...inputs] })));
            later(4000, () => ((inputs[0] = 0), pending.push({ type: 'ISTATR', inputs: [...inputs] })));
          }
        }
        return { type: 'ACK' };
      case 'LED':
      case 'BUZ':
        return { type: 'ACK' };
      default:
        return { type: 'NAK', error: NakCode.UNKNOWN_COMMAND, errorName: 'UNKNOWN_COMMAND', detail: Buffer.alloc(0) };
    }
  };
  const deframer = new Deframer({
    onFrame: (f: DecodedFrame) => {
      if (f.reply || f.address !== address || f.scb) return;
      let r: OsdpReply;
      try {
        r = answer(decodeCommand(f.code, f.data));
      } catch {
        r = { type: 'NAK', error: NakCode.UNKNOWN_COMMAND, errorName: 'UNKNOWN_COMMAND', detail: Buffer.alloc(0) };
      }
      const { code, data } = encodeReply(r);
      pd.write(encodeFrame({ address, reply: true, sqn: f.sqn, useCrc: f.useCrc, code, data }, { mark: true })).catch(() => undefined);
    },
  });
  pd.onData((chunk) => deframer.push(chunk));

  const cardEvery = opts.cardEveryMs ?? 20_000;
  const cardTick = setInterval(() => presentCard(Math.floor(random() * 255), Math.floor(random() * 65_535)), cardEvery);
  const tamperEvery = opts.tamperEveryMs ?? 300_000;
  const tamperTick = setInterval(() => {
    if (random() > 0.5) return;
    tamper = 1;
    pending.push({ type: 'LSTATR', tamper, power: 0 });
    later(5000, () => ((tamper = 0), pending.push({ type: 'LSTATR', tamper, power: 0 })));
  }, tamperEvery / 2);

  return {
    port: `inproc:${name}`,
    address,
    presentCard,
    close: async () => {
      clearInterval(cardTick);
      clearInterval(tamperTick);
      for (const t of timers) clearTimeout(t);
      unregister();
      pair.sever();
    },
  };
}

/** Driver config (`drivers.osdp[i]`) for a running simulator: one door reader. */
export function osdpSimConfig(sim: Pick<OsdpSim, 'port' | 'address'>, opts: { id?: string; stateDir?: string } = {}): Record<string, unknown> {
  return {
    id: opts.id ?? 'osdp-demo',
    port: sim.port,
    baud: 115200,
    pollIntervalMs: 100,
    ...(opts.stateDir ? { keyStore: `${opts.stateDir}/osdp-keys.json` } : {}),
    readers: [
      {
        id: 'reader-lobby',
        name: 'Lobby entrance reader',
        address: sim.address,
        door: { contactInput: 0, strikeOutput: 0, heldOpenSeconds: 30, grantSeconds: 10 },
      },
    ],
  };
}

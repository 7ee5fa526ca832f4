// One OSDP bus = one serial port, half duplex (OSDP v2.2 §5): the CP sends one command
// and waits for its reply (or the reply timeout) before anything else goes on the line.
// The bus owns the port and the deframer; it does not know about sequence numbers, retries
// or Secure Channel (./reader.ts does). Callers guarantee one transact() at a time.
import { FrameError } from '../errors.js';
import { Deframer } from '../phy/deframer.js';
import type { DecodedFrame } from '../phy/frame.js';
import type { BytePort } from '../../transport/types.js';

export interface BusCounters {
  txFrames: number;
  txBytes: number;
  rxBytes: number;
  /** Valid frames that answered nobody (wrong address, late reply after a timeout). */
  strayFrames: number;
  /** Our own commands seen back (RS-485 echo), ignored. */
  echoes: number;
}

/** Called for every rejected candidate frame, with the address the CP was waiting on. */
export type FrameErrorHook = (err: FrameError, waitingOn: number | undefined) => void;

export class OsdpBus {
  readonly counters: BusCounters = { txFrames: 0, txBytes: 0, rxBytes: 0, strayFrames: 0, echoes: 0 };
  readonly deframer: Deframer;
  private waiting?: { address: number; resolve: (f: DecodedFrame | null) => void };
  private errorHook?: FrameErrorHook;

  constructor(readonly port: BytePort) {
    this.deframer = new Deframer({ onError: (err) => this.errorHook?.(err, this.waiting?.address) });
    port.onData((chunk) => {
      this.counters.rxBytes += chunk.length;
      for (const f of this.deframer.push(chunk)) this.accept(f);
    });
  }

  onFrameError(hook: FrameErrorHook): void {
    this.errorHook = hook;
  }

  /**
   * Send one command frame and wait for the reply from `address` (reply flag set). Resolves
   * null on timeout (after flushing stale partial bytes with deframer.expire(), which may
   * still recover a complete reply). Rejects only if the port write fails.
   */
  async transact(bytes: Buffer, address: number, timeoutMs: number): Promise<DecodedFrame | null> {
    if (this.waiting) throw new Error('OsdpBus.transact: an exchange is already in flight (half duplex)');
    // Bytes left from a previous exchange (late, truncated) are stale once a new command goes out.
    for (const f of this.deframer.expire()) this.accept(f);
    let timer: NodeJS.Timeout | undefined;
    const reply = new Promise<DecodedFrame | null>((resolve) => {
      this.waiting = { address, resolve };
      timer = setTimeout(() => {
        for (const f of this.deframer.expire()) this.accept(f);
        this.settle(null);
      }, timeoutMs);
    });
    try {
      await this.port.write(bytes);
      this.counters.txFrames += 1;
      this.counters.txBytes += bytes.length;
    } catch (err) {
      clearTimeout(timer);
      this.waiting = undefined;
      throw err;
    }
    const f = await reply;
    clearTimeout(timer);
    return f;
  }

  private settle(f: DecodedFrame | null): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.resolve(f);
  }

  private accept(f: DecodedFrame): void {
    if (!f.reply) {
      this.counters.echoes += 1;
      return;
    }
    if (this.waiting && f.address === this.waiting.address) this.settle(f);
    else this.counters.strayFrames += 1;
  }
}

// Streaming frame reassembler for one RS-485 bus (OSDP v2.2 §5). Bytes arrive in arbitrary
// chunks; frames come out whole and verified. Contract:
// - push(chunk) returns (and hands to `onFrame`) every complete valid frame, in order.
// - Never throws for any input. Every discarded byte is counted (no silent loss, docs/contracts.md §Practices).
// - Resync rule: on a bad LEN, bad check characters or a malformed-but-checked frame, drop
//   ONE byte (the SOM) and rescan, so a valid frame that starts inside the bad bytes
//   is still found.
// - A partial frame waits for its remaining bytes. The caller owns time: when its
//   inter-character timeout expires (or a reply times out), it calls `expire()`, which
//   abandons stale partial frames but still recovers complete frames buffered behind them.
//   `reset()` drops everything (e.g. after a baud-rate change).
import { FrameError } from '../errors.js';
import { checkCharactersOk, decodeFrame, MARK, MIN_FRAME_LENGTH, SOM } from './frame.js';
import type { DecodedFrame } from './frame.js';

/**
 * Upper bound on LEN accepted before a candidate is treated as noise. Real frames are bounded
 * by the PD's receive buffer (PDCAP function 10: the captured libosdp PD reports 256; libosdp
 * versions build 256 or 512). 1440 leaves room for large multi-part fragments while
 * bounding how long a noise "SOM" can hold the buffer.
 */
export const DEFAULT_MAX_FRAME_LENGTH = 1440;

export interface DeframerCounters {
  /** Valid frames delivered. */
  frames: number;
  /** Candidates whose CRC-16 / checksum did not match. */
  crcErrors: number;
  /** Candidates whose LEN was below the minimum or above maxFrameLength. */
  lengthErrors: number;
  /** Candidates with valid check characters but a malformed body (e.g. bad SCB). */
  decodeErrors: number;
  /** Partial frames abandoned by expire() or reset(). */
  truncated: number;
  /** Bytes discarded outside valid frames (noise, skipped bad SOMs, abandoned partials). */
  garbageBytes: number;
  /** 0xFF mark bytes seen directly before a SOM. */
  markBytes: number;
}

export interface DeframerOptions {
  maxFrameLength?: number;
  /** Called for each valid frame after internal state is updated (may call push/reset). */
  onFrame?: (frame: DecodedFrame) => void;
  /** Called for each rejected candidate with the reason (for logs; counters are kept anyway). */
  onError?: (err: FrameError) => void;
}

export class Deframer {
  readonly counters: DeframerCounters = {
    frames: 0,
    crcErrors: 0,
    lengthErrors: 0,
    decodeErrors: 0,
    truncated: 0,
    garbageBytes: 0,
    markBytes: 0,
  };
  private buf: Buffer = Buffer.alloc(0);
  private readonly maxLen: number;
  private readonly onFrame?: (frame: DecodedFrame) => void;
  private readonly onError?: (err: FrameError) => void;

  constructor(opts: DeframerOptions = {}) {
    this.maxLen = opts.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH;
    this.onFrame = opts.onFrame;
    this.onError = opts.onError;
  }

  /** Bytes currently held (a partial frame, or a trailing possible mark byte). */
  get pending(): number {
    return this.buf.length;
  }

  push(chunk: Uint8Array): DecodedFrame[] {
    if (chunk.length === 0) return [];
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    return this.deliver(this.drain());
  }

  /**
   * Inter-character timeout: whatever is pending is stale. Frames that are complete inside
   * the pending bytes are still delivered; every incomplete candidate is dropped.
   */
  expire(): DecodedFrame[] {
    const frames: DecodedFrame[] = [];
    let dropped = false;
    while (this.buf.length > 0) {
      const before = this.buf.length;
      frames.push(...this.drain());
      if (this.buf.length === 0) break;
      // drain() stopped on an incomplete candidate (or a lone trailing mark): abandon its first byte.
      if (!(this.buf.length === 1 && this.buf[0] === MARK)) dropped = true;
      this.discard(1);
      if (this.buf.length >= before) break; // cannot happen; guards the loop
    }
    if (dropped) this.counters.truncated += 1;
    return this.deliver(frames);
  }

  /** Drop everything pending (counted). */
  reset(): void {
    if (this.buf.length === 0) return;
    if (!(this.buf.length === 1 && this.buf[0] === MARK)) this.counters.truncated += 1;
    this.discard(this.buf.length);
  }

  private deliver(frames: DecodedFrame[]): DecodedFrame[] {
    if (this.onFrame) for (const f of frames) this.onFrame(f);
    return frames;
  }

  private discard(n: number): void {
    this.counters.garbageBytes += n;
    this.buf = this.buf.subarray(n);
    if (this.buf.length === 0) this.buf = Buffer.alloc(0);
  }

  private reject(err: FrameError): void {
    this.onError?.(err);
    this.discard(1);
  }

  /** Extract every complete frame from the buffer; leaves a partial candidate (if any) at the head. */
  private drain(): DecodedFrame[] {
    const out: DecodedFrame[] = [];
    for (;;) {
      const buf = this.buf;
      const som = buf.indexOf(SOM);
      if (som < 0) {
        // Keep a trailing 0xFF: it may be the mark of a frame whose SOM is in the next chunk.
        const keep = buf.length > 0 && buf[buf.length - 1] === MARK ? 1 : 0;
        this.discard(buf.length - keep);
        return out;
      }
      if (som > 0) {
        const mark = buf[som - 1] === MARK ? 1 : 0;
        this.discard(som - mark);
        if (mark) {
          this.counters.markBytes += 1;
          this.buf = this.buf.subarray(1);
        }
        continue;
      }
      if (buf.length < 5) return out;
      const len = buf[2] | (buf[3] << 8);
      const min = buf[4] & 0x04 ? MIN_FRAME_LENGTH + 1 : MIN_FRAME_LENGTH;
      if (len < min || len > this.maxLen) {
        this.counters.lengthErrors += 1;
        this.reject(new FrameError('bad-length', `LEN ${len} outside ${min}..${this.maxLen}`, 2));
        continue;
      }
      if (buf.length < len) return out;
      const cand = buf.subarray(0, len);
      if (!checkCharactersOk(cand)) {
        this.counters.crcErrors += 1;
        this.reject(new FrameError(buf[4] & 0x04 ? 'bad-crc' : 'bad-checksum', 'check characters do not match', len - 1));
        continue;
      }
      let frame: DecodedFrame;
      try {
        frame = decodeFrame(cand);
      } catch (err) {
        if (!(err instanceof FrameError)) throw err;
        this.counters.decodeErrors += 1;
        this.reject(err);
        continue;
      }
      this.counters.frames += 1;
      this.buf = buf.subarray(len);
      out.push(frame);
    }
  }
}

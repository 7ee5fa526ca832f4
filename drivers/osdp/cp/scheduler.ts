// The bus scheduler: round-robin over the readers of one bus (OSDP v2.2 §5: one CP, one
// exchange on the line at a time). Each loop gives every reader that is due one turn
// (ReaderSession.service), then sleeps until the earliest reader is due again. An offline
// reader only costs its probes (with backoff), so one dead reader never starves the others.
// stop() lets the in-flight exchange finish (never abandon a half-duplex turn mid-reply).
import { FrameError } from '../errors.js';
import type { OsdpBus } from './bus.js';
import type { ReaderSession } from './reader.js';
import type { Clock } from '../../../agent/clock.js';

export interface SchedulerOptions {
  bus: OsdpBus;
  readers: ReaderSession[];
  clock: Clock;
  /** Unexpected exceptions in a turn (bugs, port write failures). The loop carries on. */
  onError: (err: Error, reader?: string) => void;
}

/** Upper bound of one idle sleep, so tick() (offline, door held) runs often enough. */
const MAX_IDLE_MS = 100;

export class BusScheduler {
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;

  constructor(private readonly o: SchedulerOptions) {
    // Rejected candidate frames count against the reader the CP was waiting on (its reply
    // window); bytes outside any window count on the bus only (deframer counters).
    o.bus.onFrameError((err: FrameError, address) => {
      const r = address === undefined ? undefined : o.readers.find((x) => x.address === address);
      if (!r) return;
      if (err.kind === 'bad-crc' || err.kind === 'bad-checksum') r.counters.crcErrors += 1;
      else if (err.kind === 'bad-length') r.counters.lengthErrors += 1;
      else r.counters.decodeErrors += 1;
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    for (const r of this.o.readers) r.flush();
  }

  /** Wake the loop early (a command was queued). */
  poke(): void {
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let served = false;
      for (const r of this.o.readers) {
        if (!this.running) break;
        r.tick();
        if (r.dueAt() > this.o.clock.mono()) continue;
        served = true;
        try {
          await r.service();
        } catch (err) {
          this.o.onError(err as Error, r.id);
          // A failing write usually means the port is gone; do not spin on it.
          await this.sleep(MAX_IDLE_MS);
        }
      }
      if (!this.running) break;
      if (!served) {
        const next = Math.min(...this.o.readers.map((r) => r.dueAt()));
        await this.sleep(Math.max(1, Math.min(MAX_IDLE_MS, next - this.o.clock.mono())));
      } else {
        // Let port events (data, close) and timers run between turns even when polling flat out.
        await new Promise((r) => setImmediate(r));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }
}

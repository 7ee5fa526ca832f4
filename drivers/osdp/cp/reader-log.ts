// One log line per reader condition, rate-limited (agent/log-throttle.ts; docs/architecture.md,
// "Logs under repetition"): Secure Channel failures (per reason), online, offline and key
// installs, each naming the bus, the reader, its address and the reason. A reader retrying
// a failing handshake every few seconds writes its first line in full, then one counted
// summary per 30 s; going online ends its failure and offline episodes (their summaries
// are written then). The signed events stay exact: the log is for people.
import type { Logger } from 'pino';
import { LogThrottle } from '../../../agent/log-throttle.js';

export interface ReaderLogView {
  readonly id: string;
  readonly address: number;
}

export class ReaderLog {
  private readonly throttle: LogThrottle;

  constructor(
    private readonly log: Logger,
    private readonly busId: string,
    throttle?: LogThrottle,
  ) {
    this.throttle = throttle ?? new LogThrottle();
  }

  private key(r: ReaderLogView, what: string): string {
    return `osdp:${this.busId}/${r.id}:${what}`;
  }

  private fields(r: ReaderLogView, extra: Record<string, unknown>): Record<string, unknown> {
    return { bus: this.busId, reader: r.id, address: r.address, ...extra };
  }

  online(r: ReaderLogView, info: Record<string, unknown>): void {
    this.throttle.resolvedPrefix(this.key(r, 'sc:'));
    this.throttle.resolved(this.key(r, 'offline'));
    this.throttle.log(this.log, 'info', this.key(r, 'online'), this.fields(r, info), `osdp reader ${r.id} online`);
  }

  offline(r: ReaderLogView, reason: string): void {
    this.throttle.resolved(this.key(r, 'online'));
    this.throttle.log(this.log, 'warn', this.key(r, 'offline'), this.fields(r, { reason }), `osdp reader ${r.id} offline: ${reason}`);
  }

  secureChannelFailed(r: ReaderLogView, reason: string, detail: string, key: string, alarm: boolean): void {
    const level = alarm ? 'error' : 'warn';
    this.throttle.log(this.log, level, this.key(r, `sc:${reason}`), this.fields(r, { reason, detail, key }), `osdp reader ${r.id} secure channel failed: ${reason}`);
  }

  keyInstalled(r: ReaderLogView, key: string): void {
    this.throttle.log(this.log, 'warn', this.key(r, 'keyset'), this.fields(r, { key }), `osdp reader ${r.id}: new secure channel key installed (osdp_KEYSET, key kept in ${key})`);
  }

  /** Write pending summaries (driver stop). */
  flush(): void {
    this.throttle.flush();
  }
}

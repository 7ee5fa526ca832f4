// Replies → observations for one reader (the "Replies → events"): card reads,
// keypad, tamper/power from LSTATR, inputs from ISTATR (door logic when mapped),
// online/offline with the PD's identity, Secure Channel failures. Emits only through the
// driver's ctx.emit; PIN digits never reach a log or an event (see ./card.ts).
import type { JsonObject, Observation, Severity } from '../../../agent/events/types.js';
import type { WiegandFormat } from '../../cards/formats.js';
import type { OsdpCommand } from '../proto/commands.js';
import type { OsdpReply, PdIdentity } from '../proto/replies.js';
import type { ReaderConfig } from '../config.js';
import { fmtCardData, keypadData, rawCardData } from './card.js';
import { DoorMonitor } from './door.js';
import { KeypadEntry } from './keypad-entry.js';
import type { Clock } from '../../../agent/clock.js';
import type { ReaderLog } from './reader-log.js';

/** What ReaderEvents needs to know of the reader (kept narrow to avoid a cycle). */
export interface ReaderView {
  readonly id: string;
  readonly address: number;
  readonly identity?: PdIdentity;
  readonly secure: boolean;
  readonly keySource: string;
  readonly counters: Record<string, number>;
  lastCardAt?: number;
}

export function identityInfo(id: PdIdentity | undefined): Record<string, string | number> {
  if (!id) return {};
  return {
    vendor: id.vendor.toString(16).padStart(6, '0'),
    model: id.model,
    version: id.version,
    serial: id.serial.toString(16).padStart(8, '0'),
    firmware: `${id.firmware.major}.${id.firmware.minor}.${id.firmware.build}`,
  };
}

export class ReaderEvents {
  readonly door?: DoorMonitor;
  /** Joins one-key-per-reply keypads into entries (keypadEntry collect; ./keypad-entry.ts). */
  private readonly keypad?: KeypadEntry;
  private keypadReader = 0;
  private tamper?: number;
  private power?: number;
  private inputs?: number[];
  private outputs?: number[];
  private readonly view: { address: number };

  constructor(
    private readonly busId: string,
    private readonly cfg: ReaderConfig,
    private readonly formats: readonly WiegandFormat[],
    private readonly emitObs: (o: Observation) => void,
    private readonly clock: Clock,
    /** The gateway's keypad PIN key; required when this reader's pinPolicy is `hash`. */
    private readonly pinKey?: Buffer,
    /** Rate-limited log lines for online/offline, handshake failures and key installs. */
    private readonly log?: ReaderLog,
  ) {
    this.view = { address: cfg.address };
    if (cfg.door) this.door = new DoorMonitor(cfg.door, (type, sev, data) => this.emit(type, sev, data));
    if (cfg.keypadEntry === 'collect') {
      this.keypad = new KeypadEntry(cfg.keypadTimeoutMs, (keys, end, replies) =>
        this.emit('access.keypad', 'info', { ...keypadData(keys, this.cfg.pinPolicy, this.pinKey), readerNumber: this.keypadReader, end, replies }),
      );
    }
  }

  private emit(type: string, severity: Severity, data: JsonObject): void {
    this.emitObs({ type, severity, device: this.cfg.id, data: { reader: this.cfg.id, address: this.view.address, ...data }, src: { bus: this.busId, address: this.view.address } });
  }

  tick(nowMono: number): void {
    this.door?.tick(nowMono);
    this.keypad?.tick(nowMono);
  }

  online(r: ReaderView): void {
    this.view.address = r.address;
    this.emit('access.reader.online', 'notice', { ...identityInfo(r.identity), secure: r.secure, key: r.keySource, name: this.cfg.name ?? null });
    this.log?.online(r, { secure: r.secure, key: r.keySource, ...identityInfo(r.identity) });
  }

  offline(r: ReaderView, reason: string): void {
    this.emit('access.reader.offline', 'warning', { reason, ...identityInfo(r.identity) });
    this.log?.offline(r, reason);
    // Statuses are re-read on the next start-up; forget them so the baseline is fresh.
    this.tamper = this.power = undefined;
    this.keypad?.discard();
  }

  /** `rekey` (factory key found): whether install mode re-keys the reader now. */
  secureChannelFailed(r: ReaderView, reason: string, detail: string, key: string, rekey?: boolean): void {
    const alarm = reason === 'reader-reset-to-scbk-d';
    const severity: Severity = alarm ? 'alarm' : 'warning';
    this.emit('access.reader.secure_channel_failed', severity, { reason, detail, key, failures: r.counters.scFailures, ...(rekey !== undefined ? { rekey } : {}) });
    this.log?.secureChannelFailed(r, reason, detail, key, alarm);
  }

  /** `key`: where the installed SCBK is kept ('store' = random key in the key store, 'config'). */
  keyInstalled(r: ReaderView, key: 'store' | 'config'): void {
    this.emit('access.reader.key_installed', 'notice', { ...identityInfo(r.identity), key });
    this.log?.keyInstalled(r, key);
  }

  /** Every decoded reply except NAK/BUSY, with the command it answered. */
  reply(r: ReaderView, reply: OsdpReply, cmd: OsdpCommand): void {
    this.view.address = r.address;
    const now = this.clock.mono();
    switch (reply.type) {
      case 'RAW':
        this.keypad?.discard();
        r.counters.cardReads += 1;
        r.lastCardAt = this.clock.now();
        this.emit('access.card.read', 'info', { ...rawCardData(reply, this.formats), readerNumber: reply.reader, secure: r.secure });
        break;
      case 'FMT':
        this.keypad?.discard();
        r.counters.cardReads += 1;
        r.lastCardAt = this.clock.now();
        this.emit('access.card.read', 'info', { ...fmtCardData(reply), readerNumber: reply.reader, secure: r.secure });
        break;
      case 'KEYPAD':
        if (this.keypad) {
          this.keypadReader = reply.reader;
          this.keypad.add(reply.keys, now);
        } else this.emit('access.keypad', 'info', { ...keypadData(reply.keys, this.cfg.pinPolicy, this.pinKey), readerNumber: reply.reader });
        break;
      case 'LSTATR':
        if (reply.tamper !== this.tamper && (this.tamper !== undefined || reply.tamper !== 0)) {
          this.emit('access.reader.tamper', reply.tamper ? 'alarm' : 'notice', { tamper: reply.tamper !== 0 });
        }
        if (reply.power !== this.power && (this.power !== undefined || reply.power !== 0)) {
          this.emit('access.reader.power', reply.power ? 'warning' : 'notice', { powerFailure: reply.power !== 0 });
        }
        this.tamper = reply.tamper;
        this.power = reply.power;
        break;
      case 'ISTATR': {
        const prev = this.inputs;
        this.inputs = reply.inputs;
        this.door?.onInputs(reply.inputs, now);
        if (prev) {
          const d = this.cfg.door;
          reply.inputs.forEach((v, i) => {
            if (v === prev[i] || i === d?.contactInput || i === d?.rexInput) return;
            this.emit('access.reader.input', 'info', { input: i, state: v });
          });
        }
        break;
      }
      case 'OSTATR':
        this.outputs = reply.outputs;
        break;
      default:
        break;
    }
    // A strike pulse that the reader acknowledged grants the door (no "forced" for that opening).
    if (reply.type === 'ACK' && cmd.type === 'OUT' && this.door) {
      for (const rec of cmd.records) {
        if (this.door.isStrike(rec.output) && (rec.control === 5 || rec.control === 2)) this.door.grant(now + rec.timer * 100);
      }
    }
  }

  status(): JsonObject {
    return { tamper: this.tamper ?? null, power: this.power ?? null, inputs: this.inputs ?? null, outputs: this.outputs ?? null, doorOpen: this.door?.isOpen ?? null };
  }
}

// Door logic over a reader's inputs (ISTATR, OSDP v2.2 §7.10) when the config maps them to
// a door: contact → access.door.opened/closed; an opening without a grant (REX press or
// strike pulse within grantSeconds) → access.door.forced; open longer than heldOpenSeconds
// → access.door.held (once per opening). Time comes from the caller (monotonic ms).
import type { JsonObject, Severity } from '../../../agent/events/types.js';
import type { DoorConfig } from '../config.js';

export type DoorEmit = (type: string, severity: Severity, data: JsonObject) => void;

export class DoorMonitor {
  private open?: boolean;
  private openedAt = 0;
  private heldReported = false;
  private grantUntil = -Infinity;
  private rex?: boolean;

  constructor(
    private readonly cfg: DoorConfig,
    private readonly emit: DoorEmit,
  ) {}

  get isOpen(): boolean | undefined {
    return this.open;
  }

  /** A strike pulse / REX: openings until `untilMono + grantSeconds` are authorised. */
  grant(untilMono: number): void {
    this.grantUntil = Math.max(this.grantUntil, untilMono + this.cfg.grantSeconds * 1000);
  }

  /** True when `output` is this door's strike relay. */
  isStrike(output: number): boolean {
    return this.cfg.strikeOutput === output;
  }

  /** Input states from ISTATR. The first report sets the baseline without events. */
  onInputs(inputs: readonly number[], now: number): void {
    const c = this.cfg;
    if (c.rexInput !== undefined && inputs.length > c.rexInput) {
      const pressed = inputs[c.rexInput] === c.rexActiveValue;
      if (pressed && this.rex === false) {
        this.grant(now);
        this.emit('access.door.rex', 'info', { input: c.rexInput });
      }
      this.rex = pressed;
    }
    if (inputs.length <= c.contactInput) return;
    const open = inputs[c.contactInput] === c.openValue;
    if (this.open === undefined) {
      this.open = open;
      if (open) this.openedAt = now;
      return;
    }
    if (open === this.open) return;
    this.open = open;
    if (open) {
      this.openedAt = now;
      this.heldReported = false;
      const granted = now <= this.grantUntil;
      this.emit('access.door.opened', 'info', { input: c.contactInput, granted });
      if (!granted) this.emit('access.door.forced', 'alarm', { input: c.contactInput });
    } else {
      this.emit('access.door.closed', 'info', { input: c.contactInput, openSeconds: Math.round((now - this.openedAt) / 100) / 10 });
    }
  }

  /** Called on every scheduler turn: raises access.door.held once per opening. */
  tick(now: number): void {
    if (!this.open || this.heldReported) return;
    if (now - this.openedAt >= this.cfg.heldOpenSeconds * 1000) {
      this.heldReported = true;
      this.emit('access.door.held', 'warning', { input: this.cfg.contactInput, heldOpenSeconds: this.cfg.heldOpenSeconds });
    }
  }
}

// Keypad entry collection, per reader (docs/access.md "PIN at the reader"). Many readers
// send one osdp_KEYPAD reply per key press; a PIN is the keys typed together. With
// `keypadEntry: collect` (default) the keys of successive replies are joined into one
// entry that ends with '#' (kept in the entry, as a reader that buffers sends it), after
// `keypadTimeoutMs` without a key, or at KEYPAD_MAX_KEYS keys; '*' clears what was typed.
// A card read or the reader going offline abandons a partial entry. Only the finished
// entry leaves (as one access.keypad, hashed by ./card.ts): the keys are secrets and are
// held here only until then. `keypadEntry: reply` turns this off (each reply is an entry).

/** Upper bound of one entry (PINs are 4–12 digits); a longer run of keys ends the entry. */
export const KEYPAD_MAX_KEYS = 16;

export type EntryEnd = '#' | 'timeout' | 'overflow';

const STAR = 0x7f;
const HASH = 0x0d;

export class KeypadEntry {
  private keys: number[] = [];
  private replies = 0;
  private lastMono = 0;

  constructor(
    private readonly timeoutMs: number,
    /** A finished entry: its keys (with the closing '#' when it had one), how it ended, how many replies it took. */
    private readonly done: (keys: Buffer, end: EntryEnd, replies: number) => void,
  ) {}

  /** Keys still waiting for their end (never their values). */
  get pending(): number {
    return this.keys.length;
  }

  /** The keys of one KEYPAD reply. */
  add(keys: Uint8Array, nowMono: number): void {
    this.lastMono = nowMono;
    let counted = false;
    for (const k of keys) {
      if (k === STAR) {
        this.discard();
        counted = false;
        continue;
      }
      if (!counted) {
        this.replies += 1;
        counted = true;
      }
      this.keys.push(k);
      if (k === HASH) {
        this.finish('#');
        counted = false;
      } else if (this.keys.length >= KEYPAD_MAX_KEYS) {
        this.finish('overflow');
        counted = false;
      }
    }
  }

  /** Scheduler tick: an entry with no key for `timeoutMs` is finished as typed. */
  tick(nowMono: number): void {
    if (this.keys.length > 0 && nowMono - this.lastMono >= this.timeoutMs) this.finish('timeout');
  }

  /** Forget a partial entry (card read, reader offline). */
  discard(): void {
    this.keys.fill(0);
    this.keys = [];
    this.replies = 0;
  }

  private finish(end: EntryEnd): void {
    const keys = Buffer.from(this.keys);
    const replies = this.replies;
    this.discard();
    this.done(keys, end, replies);
    keys.fill(0);
  }
}

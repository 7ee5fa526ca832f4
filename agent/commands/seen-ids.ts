// Command ids already received, kept until their command expires, persisted in the state
// dir so a replay is refused across restarts too (agent/state-file.ts: atomic, durable).
import { readFileSync } from 'node:fs';
import { writeJsonAtomic } from '../state-file.js';

export class SeenIdStore {
  private readonly ids = new Map<string, number>();

  constructor(
    private readonly file: string,
    private readonly now: () => number = Date.now,
  ) {
    try {
      const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
      for (const [id, exp] of Object.entries(raw)) if (typeof exp === 'number') this.ids.set(id, exp);
    } catch {
      // absent or unreadable: start empty (a corrupt file only weakens replay protection
      // for commands issued before it, which expire anyway)
    }
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Remember `id` until `expMs` (+ skew); expired ids are forgotten at the same time. */
  add(id: string, keepUntilMs: number): void {
    const now = this.now();
    for (const [k, e] of this.ids) if (e < now) this.ids.delete(k);
    this.ids.set(id, keepUntilMs);
    writeJsonAtomic(this.file, Object.fromEntries(this.ids));
  }
}

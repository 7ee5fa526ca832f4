// Refusals outlive a kill -9 (docs/architecture.md "Full disk"). While the spool cannot
// write, refused observations never get a seq, so only the in-memory tally
// (agent/admission.ts) knows of them until a signed system.spool.write_failed declares
// them. This file keeps that tally on disk: `spool.refusals` beside the spool, a fixed
// 128 KiB laid with real blocks at start, so overwriting it in place needs no new
// allocation on a full filesystem. It holds the write-failure records still owed: the
// current failure episode (no seq yet; rewritten at most once a second while writes
// fail) and records already sealed whose commit has not been seen (with epoch and seq).
// It is cleared when they have committed. At start, whatever it still holds is declared
// again (marked `recovered`), except sealed records the spool shows committed.
//
// Layout: two 64 KiB slots written alternately, each `GWREFUSALS1 <gen> <len> <sha256>\n`
// then <len> bytes of JSON, padded with spaces; the reader takes the intact slot with
// the highest generation, so a torn write (power loss mid-write) leaves the previous one.
import { closeSync, fdatasyncSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { JsonObject } from '../events/types.js';

export const LEDGER_FILE = 'spool.refusals';
const SLOT = 64 * 1024;
const MAGIC = 'GWREFUSALS1';

/** One write-failure record owed: `seq` null while it has none yet (the episode in progress). */
export interface OwedRecord {
  epoch: string | null;
  seq: number | null;
  /** `data` of the system.spool.write_failed it is (or will be) sealed with. */
  data: JsonObject;
}

export interface LedgerContent {
  pid: number;
  /** Wall ms of this save. */
  savedAt: number;
  records: OwedRecord[];
}

function slotBytes(gen: number, c: LedgerContent): Buffer {
  let json = JSON.stringify(c);
  // Never outgrow a slot: name fewer tallies (counted in `omitted`), the totals stay exact.
  for (let keep = 32; Buffer.byteLength(json) > SLOT - 200 && keep >= 0; keep = keep === 0 ? -1 : Math.floor(keep / 2)) {
    json = JSON.stringify({ ...c, records: c.records.map((r) => ({ ...r, data: fewerTallies(r.data, keep) })) });
  }
  const body = Buffer.from(json);
  const head = Buffer.from(`${MAGIC} ${gen} ${body.length} ${createHash('sha256').update(body).digest('hex')}\n`);
  const buf = Buffer.alloc(SLOT, 0x20);
  head.copy(buf, 0);
  body.copy(buf, head.length);
  return buf;
}

function fewerTallies(data: JsonObject, keep: number): JsonObject {
  const refused = data.refused as { byDriverType?: unknown[]; omitted?: number } | undefined;
  if (!refused || !Array.isArray(refused.byDriverType) || refused.byDriverType.length <= keep) return data;
  const cut = refused.byDriverType.length - keep;
  return { ...data, refused: { ...refused, byDriverType: refused.byDriverType.slice(0, keep), omitted: (refused.omitted ?? 0) + cut } } as JsonObject;
}

function parseSlot(buf: Buffer): { gen: number; content: LedgerContent } | null {
  const nl = buf.indexOf(0x0a);
  if (nl < 0) return null;
  const m = new RegExp(`^${MAGIC} (\\d+) (\\d+) ([0-9a-f]{64})$`).exec(buf.subarray(0, nl).toString('latin1'));
  if (!m) return null;
  const body = buf.subarray(nl + 1, nl + 1 + Number(m[2]));
  if (body.length !== Number(m[2]) || createHash('sha256').update(body).digest('hex') !== m[3]) return null;
  try {
    const content = JSON.parse(body.toString('utf8')) as LedgerContent;
    return Array.isArray(content.records) ? { gen: Number(m[1]), content } : null;
  } catch {
    return null;
  }
}

/** What a previous process left in the ledger (null: nothing, or no intact slot). */
export function readLedger(dir: string): LedgerContent | null {
  return readSlots(dir)?.content ?? null;
}

function readSlots(dir: string): { gen: number; content: LedgerContent } | null {
  let buf: Buffer;
  try {
    buf = readFileSync(join(dir, LEDGER_FILE));
  } catch {
    return null;
  }
  let best: { gen: number; content: LedgerContent } | null = null;
  for (let off = 0; off + SLOT <= buf.length; off += SLOT) {
    const s = parseSlot(buf.subarray(off, off + SLOT));
    if (s && (!best || s.gen > best.gen)) best = s;
  }
  return best;
}

export class RefusalLedger {
  readonly path: string;
  private fd: number | null = null;
  private gen = 0;
  private empty = true;
  /** Saves since start (tests, health). */
  saves = 0;

  private constructor(
    dir: string,
    private readonly log?: Logger,
  ) {
    this.path = join(dir, LEDGER_FILE);
  }

  /**
   * Read what a previous process left, then make sure the file is laid (both slots, real
   * blocks). Without room to lay it the ledger is off (logged) and `leftover` still returned.
   */
  static open(dir: string, log?: Logger): { ledger: RefusalLedger; leftover: LedgerContent | null } {
    const found = readSlots(dir);
    const leftover = found?.content ?? null;
    const l = new RefusalLedger(dir, log);
    l.empty = !leftover || leftover.records.length === 0;
    try {
      let size = 0;
      try {
        size = statSync(l.path).size;
      } catch {
        size = 0;
      }
      if (size !== 2 * SLOT) {
        // Lay it whole: both slots hold the leftover (or nothing), so nothing is lost meanwhile.
        const fd = openSync(l.path, 'w', 0o600);
        try {
          const first = leftover ?? { pid: process.pid, savedAt: Date.now(), records: [] };
          // Slot = generation % 2, so each save overwrites the older slot.
          writeSync(fd, slotBytes(0, first), 0, SLOT, 0);
          writeSync(fd, slotBytes(1, first), 0, SLOT, SLOT);
          fdatasyncSync(fd);
        } finally {
          closeSync(fd);
        }
        l.gen = 1;
      } else {
        l.gen = found?.gen ?? 1;
      }
      l.fd = openSync(l.path, 'r+');
    } catch (err) {
      log?.warn({ err, path: l.path }, 'refusal ledger could not be laid: refusals counted while the spool cannot write would not survive a crash');
      if (l.fd === null && leftover === null) rmSync(l.path, { force: true });
    }
    return { ledger: l, leftover };
  }

  get enabled(): boolean {
    return this.fd !== null;
  }

  /** Overwrite the older slot with `records` (fdatasync). Returns false when it could not. */
  save(records: OwedRecord[], now = Date.now()): boolean {
    if (this.fd === null) return false;
    if (records.length === 0 && this.empty) return true;
    const gen = ++this.gen;
    try {
      writeSync(this.fd, slotBytes(gen, { pid: process.pid, savedAt: now, records }), 0, SLOT, (gen % 2) * SLOT);
      fdatasyncSync(this.fd);
      this.empty = records.length === 0;
      this.saves += 1;
      return true;
    } catch (err) {
      this.log?.error({ err, path: this.path }, 'refusal ledger write failed');
      return false;
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

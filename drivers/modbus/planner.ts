// Read planning (pure): merge the points of one unit into as few read requests as the
// protocol allows. Limits: 2000 bits for FC1/FC2, 125 registers for FC3/FC4 (Modbus
// application protocol §6.1–6.4); a device may accept less (configurable). Points are
// merged across a gap of unused addresses only up to maxGap, because reading addresses a
// device does not implement answers exception 2 for the whole request — and when that
// happens anyway, splitRequest() isolates the point that caused it.
import type { Table } from './config.js';

export const FUNCTION_CODE: Record<Table, 1 | 2 | 3 | 4> = { coil: 1, discrete: 2, holding: 3, input: 4 };

export interface PlanPoint {
  /** Index of the point in the unit's config. */
  index: number;
  table: Table;
  address: number;
  /** Registers (holding/input) or bits (coil/discrete) the point spans. */
  width: number;
}

export interface ReadRequest {
  table: Table;
  fc: 1 | 2 | 3 | 4;
  address: number;
  count: number;
  /** Points served by this request, with their offset from `address`. */
  points: Array<{ index: number; offset: number }>;
}

export interface PlanLimits {
  maxRegisters: number;
  maxBits: number;
  maxGapRegisters: number;
  maxGapBits: number;
}

export const PROTOCOL_LIMITS: PlanLimits = { maxRegisters: 125, maxBits: 2000, maxGapRegisters: 10, maxGapBits: 64 };

const isBits = (t: Table): boolean => t === 'coil' || t === 'discrete';

/** Greedy merge per table in address order; overlapping points share a request. */
export function planReads(points: readonly PlanPoint[], limits: PlanLimits = PROTOCOL_LIMITS): ReadRequest[] {
  const out: ReadRequest[] = [];
  for (const table of ['coil', 'discrete', 'holding', 'input'] as const) {
    const max = isBits(table) ? limits.maxBits : limits.maxRegisters;
    const gap = isBits(table) ? limits.maxGapBits : limits.maxGapRegisters;
    const ps = points.filter((p) => p.table === table).sort((a, b) => a.address - b.address || b.width - a.width);
    let cur: ReadRequest | null = null;
    for (const p of ps) {
      if (p.width > max) throw new Error(`point ${p.index} spans ${p.width} ${isBits(table) ? 'bits' : 'registers'}, more than one read allows (${max})`);
      if (p.address + p.width > 65536) throw new Error(`point ${p.index} runs past address 65535`);
      if (cur) {
        const end = cur.address + cur.count;
        const newEnd = Math.max(end, p.address + p.width);
        if (p.address - end <= gap && newEnd - cur.address <= max) {
          cur.count = newEnd - cur.address;
          cur.points.push({ index: p.index, offset: p.address - cur.address });
          continue;
        }
      }
      cur = { table, fc: FUNCTION_CODE[table], address: p.address, count: p.width, points: [{ index: p.index, offset: 0 }] };
      out.push(cur);
    }
  }
  return out;
}

/**
 * One request per point of `req` (points at the same address and width stay together):
 * used after exception 2/3 on a merged read, so one unimplemented address no longer hides
 * the unit's other points.
 */
export function splitRequest(req: ReadRequest, widthOf: (index: number) => number): ReadRequest[] {
  const byRange = new Map<string, ReadRequest>();
  for (const p of req.points) {
    const address = req.address + p.offset;
    const count = widthOf(p.index);
    const key = `${address}:${count}`;
    const r = byRange.get(key);
    if (r) r.points.push({ index: p.index, offset: 0 });
    else byRange.set(key, { table: req.table, fc: req.fc, address, count, points: [{ index: p.index, offset: 0 }] });
  }
  return [...byRange.values()];
}

export function describeRequest(r: ReadRequest): string {
  return `FC${r.fc} ${r.table} ${r.address}+${r.count}`;
}

// Config of one Modbus bus instance (`drivers.modbus[i]`). Defaults live here and nowhere
// else (docs/contracts.md §Practices). One instance = one bus: an RTU line (one serial port, many
// units sharing it) or one TCP endpoint (a device or a gateway with units behind it).
import { z } from 'zod';
import { backoffSchema, idString } from '../../config/schema.js';
import { linkPolicySchema } from '../transport/lifecycle.js';

export const DATA_TYPES = ['bool', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'int64', 'uint64', 'float64', 'string'] as const;
export type DataType = (typeof DATA_TYPES)[number];
export const WORD_ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;
export type WordOrder = (typeof WORD_ORDERS)[number];
/** Modbus data model tables (spec §4.3) — the function used to read them follows. */
export const TABLES = ['coil', 'discrete', 'holding', 'input'] as const;
export type Table = (typeof TABLES)[number];

const severity = z.enum(['debug', 'info', 'notice', 'warning', 'alarm', 'critical']);
const pointName = z.string().regex(/^[a-z][a-z0-9_]{0,47}$/, 'expected a lowercase name: a–z 0–9 _ (starts with a letter)');

/** High/low limits for numeric points → `sensor.threshold.alarm` / `.clear`. */
export const thresholdAlarmSchema = z
  .strictObject({
    /** Alarm when value > high; clear when value <= high - hysteresis. */
    high: z.number().optional(),
    /** Alarm when value < low; clear when value >= low + hysteresis. */
    low: z.number().optional(),
    hysteresis: z.number().min(0).default(0),
    /** The condition must hold this long (across polls) before the alarm is raised. */
    delayMs: z.number().int().min(0).default(0),
    severity: severity.default('alarm'),
  })
  .refine((a) => a.high !== undefined || a.low !== undefined, 'a threshold alarm needs high, low or both')
  .refine((a) => a.high === undefined || a.low === undefined || a.low + a.hysteresis < a.high - a.hysteresis, {
    message: 'low + hysteresis must be below high - hysteresis',
  });

/** Boolean points with an alarm state (door open, leak) → `sensor.<kind>.alarm` / `.clear`. */
export const stateAlarmSchema = z.strictObject({
  /** The value that means "alarm" (e.g. true = contact open). */
  when: z.boolean(),
  /** Second segment of the event type: contact → sensor.contact.alarm. */
  kind: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'expected a lowercase word such as contact, leak, power').default('state'),
  delayMs: z.number().int().min(0).default(0),
  severity: severity.default('alarm'),
});

export const pointSchema = z
  .strictObject({
    name: pointName,
    table: z.enum(TABLES),
    /** Protocol (PDU) address, 0-based: register 40001 in "Modicon" notation is holding 0. */
    address: z.number().int().min(0).max(65535),
    type: z.enum(DATA_TYPES).default('uint16'),
    /** Registers for `string`; ignored otherwise (the type fixes the width). */
    count: z.number().int().min(1).max(125).optional(),
    /** Bit of a register for `bool` read from holding/input tables (0 = LSB). */
    bit: z.number().int().min(0).max(15).optional(),
    /** Byte/word order, A = most significant byte of the value. ABCD = big-endian (spec §4.2). */
    order: z.enum(WORD_ORDERS).default('ABCD'),
    /** value = raw * scale + offset. */
    scale: z.number().refine((x) => x !== 0, 'scale must not be 0').default(1),
    offset: z.number().default(0),
    /** Round the scaled value to this many decimals (default: shortest exact form). */
    decimals: z.number().int().min(0).max(12).optional(),
    /** Unit of measure reported with the value, e.g. degC, %RH, V. */
    unit: z.string().max(16).optional(),
    /** Report a reading when the value moved more than this since the last report. */
    deadband: z.number().min(0).default(0),
    /** Report at least this often even when unchanged (0 = only on change). */
    reportIntervalMs: z.number().int().min(0).default(300_000),
    /** Overrides the unit's poll interval. */
    pollIntervalMs: z.number().int().min(10).max(86_400_000).optional(),
    /** Allows `command('write', {point, value})` (coils and holding registers only). */
    writable: z.boolean().default(false),
    alarm: z.union([stateAlarmSchema, thresholdAlarmSchema]).optional(),
  })
  .superRefine((p, ctx) => {
    const bitTable = p.table === 'coil' || p.table === 'discrete';
    if (bitTable && p.type !== 'bool') ctx.addIssue({ code: 'custom', path: ['type'], message: `${p.table} points are bool (got ${p.type})` });
    if (p.bit !== undefined && (bitTable || p.type !== 'bool')) {
      ctx.addIssue({ code: 'custom', path: ['bit'], message: 'bit applies only to bool points of holding/input registers' });
    }
    if (p.type === 'string' && p.count === undefined) ctx.addIssue({ code: 'custom', path: ['count'], message: 'string points need count (registers)' });
    if (p.writable && (p.table === 'discrete' || p.table === 'input')) {
      ctx.addIssue({ code: 'custom', path: ['writable'], message: `${p.table} tables are read-only in Modbus` });
    }
    if (p.alarm) {
      const isState = 'when' in p.alarm;
      if (p.type === 'bool' && !isState) ctx.addIssue({ code: 'custom', path: ['alarm'], message: 'bool points take {when, kind} alarms' });
      if (p.type === 'string') ctx.addIssue({ code: 'custom', path: ['alarm'], message: 'string points cannot have alarms' });
      if (p.type !== 'bool' && isState) ctx.addIssue({ code: 'custom', path: ['alarm'], message: 'numeric points take {high, low, hysteresis} alarms' });
    }
  });

export const unitSchema = z
  .strictObject({
    /** Device id (`src.device` of every event of this unit). */
    id: idString,
    /** Modbus slave/unit id: 1–247 on a serial line (spec §2.2), 0–255 on TCP. */
    unitId: z.number().int().min(0).max(255),
    pollIntervalMs: z.number().int().min(10).max(86_400_000).default(1000),
    /** Protocol limits are 125 registers / 2000 bits per read (spec §6.1–6.4); some devices take less. */
    maxRegistersPerRead: z.number().int().min(1).max(125).default(125),
    maxBitsPerRead: z.number().int().min(1).max(2000).default(2000),
    /** Merge two points into one read when at most this many unused registers/bits lie between them. */
    maxGapRegisters: z.number().int().min(0).max(124).default(10),
    maxGapBits: z.number().int().min(0).max(1999).default(64),
    /** Time this unit may hold the line per poll cycle before its remaining reads wait for the next one. */
    cycleBudgetMs: z.number().int().min(1).optional(),
    points: z.array(pointSchema).min(1),
  })
  .superRefine((u, ctx) => {
    const seen = new Set<string>();
    u.points.forEach((p, i) => {
      if (seen.has(p.name)) ctx.addIssue({ code: 'custom', path: ['points', i, 'name'], message: `duplicate point name "${p.name}"` });
      seen.add(p.name);
    });
  });

const rtuSchema = z.strictObject({
  type: z.literal('rtu'),
  path: z.string().min(1),
  baudRate: z.number().int().min(300).max(4_000_000).default(9600),
  parity: z.enum(['none', 'even', 'odd']).default('even'),
  dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
  stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
  /** Silence between frames; default 3.5 character times, 1.75 ms above 19200 baud (spec serial §2.5.1.1). */
  interFrameDelayMs: z.number().min(0).max(1000).optional(),
});

const tcpSchema = z.strictObject({
  type: z.literal('tcp'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(502),
  connectTimeoutMs: z.number().int().min(100).max(60_000).default(5000),
});

export const modbusConfigSchema = z
  .strictObject({
    /** Bus id (the driver instance). */
    id: idString,
    transport: z.discriminatedUnion('type', [rtuSchema, tcpSchema]),
    /** Per-request response timeout; modbus-serial has none by default and would wait forever. */
    timeoutMs: z.number().int().min(10).max(60_000).default(1000),
    /** Extra attempts for a unit that is online; offline units are probed once, without retries. */
    retries: z.number().int().min(0).max(10).default(1),
    /** Probe interval of an offline unit doubles from min to max. */
    offlineBackoff: backoffSchema(1000, 60_000),
    /** Re-open the port / reconnect after loss: the reconnecting link's policy (drivers/transport/lifecycle.ts). */
    reconnect: linkPolicySchema(250, 10_000),
    units: z.array(unitSchema).min(1),
  })
  .superRefine((c, ctx) => {
    const ids = new Set<string>();
    const unitIds = new Set<number>();
    c.units.forEach((u, i) => {
      if (ids.has(u.id)) ctx.addIssue({ code: 'custom', path: ['units', i, 'id'], message: `duplicate device id "${u.id}"` });
      if (unitIds.has(u.unitId)) ctx.addIssue({ code: 'custom', path: ['units', i, 'unitId'], message: `duplicate unit id ${u.unitId} on this bus` });
      if (c.transport.type === 'rtu' && (u.unitId < 1 || u.unitId > 247)) {
        ctx.addIssue({ code: 'custom', path: ['units', i, 'unitId'], message: `serial unit ids are 1–247 (got ${u.unitId})` });
      }
      ids.add(u.id);
      unitIds.add(u.unitId);
    });
  });

export type ModbusConfig = z.output<typeof modbusConfigSchema>;
export type ModbusUnitConfig = z.output<typeof unitSchema>;
export type ModbusPointConfig = z.output<typeof pointSchema>;
export type ThresholdAlarmConfig = z.output<typeof thresholdAlarmSchema>;
export type StateAlarmConfig = z.output<typeof stateAlarmSchema>;
export type RtuTransportConfig = z.output<typeof rtuSchema>;
export type TcpTransportConfig = z.output<typeof tcpSchema>;

/** T3.5 in ms: 3.5 characters of 11 bits below 19200 baud, fixed 1.75 ms above (Modbus serial line spec §2.5.1.1). */
export function interFrameDelayMs(t: RtuTransportConfig): number {
  if (t.interFrameDelayMs !== undefined) return t.interFrameDelayMs;
  return t.baudRate > 19200 ? 1.75 : (3.5 * 11 * 1000) / t.baudRate;
}

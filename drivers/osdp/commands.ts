// Downlink commands of the OSDP driver (docs/contracts.md §Commands): name + JSON args → an OSDP command
// (v2.2 §6.10 OUT, §6.11 LED, §6.12 BUZ, §6.13 TEXT, §6.14 COMSET). Args are validated
// here so a platform command with a bad argument fails with a message naming the field
// (CommandArgsError: refused as `bad-args`, nothing reaches a reader).
import { z, ZodError } from 'zod';
import type { JsonObject } from '../../agent/events/types.js';
import { CommandArgsError } from '../types.js';
import type { OsdpCommand } from './proto/commands.js';

export const COMMAND_NAMES = ['led', 'buzzer', 'output', 'text', 'comset'] as const;
export type OsdpCommandName = (typeof COMMAND_NAMES)[number];

const COLORS = { black: 0, off: 0, red: 1, green: 2, amber: 3, blue: 4, magenta: 5, cyan: 6, white: 7 } as const;
const color = z.union([z.enum(Object.keys(COLORS) as [keyof typeof COLORS, ...Array<keyof typeof COLORS>]), z.number().int().min(0).max(255)]);
const tenths = (ms: number): number => Math.min(255, Math.max(1, Math.round(ms / 100)));

const ledArgs = z.strictObject({
  led: z.number().int().min(0).max(255).default(0),
  color,
  /** Temporary (with durationMs) or permanent state. */
  durationMs: z.number().int().min(100).max(6_553_500).optional(),
  onMs: z.number().int().min(100).max(25_500).default(500),
  offMs: z.number().int().min(0).max(25_500).default(0),
});
const buzzerArgs = z.strictObject({
  tone: z.number().int().min(0).max(2).default(2),
  onMs: z.number().int().min(100).max(25_500).default(300),
  offMs: z.number().int().min(0).max(25_500).default(200),
  count: z.number().int().min(0).max(255).default(1),
});
const outputArgs = z.strictObject({
  output: z.number().int().min(0).max(255).optional(),
  action: z.enum(['pulse', 'latch', 'unlatch']).default('pulse'),
  durationMs: z.number().int().min(100).max(6_553_500).default(5000),
});
const textArgs = z.strictObject({
  text: z.string().regex(/^[\x20-\x7e]{0,64}$/, 'printable ASCII, at most 64 characters'),
  row: z.number().int().min(1).max(255).default(1),
  column: z.number().int().min(1).max(255).default(1),
  /** 0 = permanent. */
  durationS: z.number().int().min(0).max(255).default(0),
  /** Wrap at the end of the row (the display's own line length). */
  wrap: z.boolean().default(false),
});
export const comsetArgs = z.strictObject({
  address: z.number().int().min(0).max(126),
  baud: z.union([z.literal(9600), z.literal(19200), z.literal(38400), z.literal(57600), z.literal(115200), z.literal(230400)]),
});

function colorCode(c: z.infer<typeof color>): number {
  return typeof c === 'number' ? c : COLORS[c];
}

/** Build the OSDP command for a downlink. `strikeOutput` is the default for `output`. Bad args throw CommandArgsError naming the field. */
export function buildCommand(name: OsdpCommandName, args: JsonObject, strikeOutput?: number): OsdpCommand {
  try {
    return build(name, args, strikeOutput);
  } catch (err) {
    if (err instanceof ZodError) throw new CommandArgsError(err.issues.map((i) => `${i.path.join('.') || 'args'}: ${i.message}`).join('; '));
    throw err;
  }
}

function build(name: OsdpCommandName, args: JsonObject, strikeOutput?: number): OsdpCommand {
  switch (name) {
    case 'led': {
      const a = ledArgs.parse(args);
      const on = colorCode(a.color);
      const nop = { control: 0, onTime: 0, offTime: 0, onColor: 0, offColor: 0 };
      const state = { onTime: tenths(a.onMs), offTime: a.offMs ? tenths(a.offMs) : 0, onColor: on, offColor: a.offMs ? 0 : on };
      return {
        type: 'LED',
        records: [
          a.durationMs !== undefined
            ? { reader: 0, led: a.led, temporary: { control: 2, ...state, timer: Math.round(a.durationMs / 100) }, permanent: nop }
            : { reader: 0, led: a.led, temporary: { ...nop, timer: 0 }, permanent: { control: 1, ...state } },
        ],
      };
    }
    case 'buzzer': {
      const a = buzzerArgs.parse(args);
      return { type: 'BUZ', reader: 0, tone: a.tone, onTime: tenths(a.onMs), offTime: a.offMs ? tenths(a.offMs) : 0, count: a.count };
    }
    case 'output': {
      const a = outputArgs.parse(args);
      const output = a.output ?? strikeOutput;
      if (output === undefined) throw new CommandArgsError('output: no output given and the reader has no door strike configured');
      // §6.10 control codes: 5 = temporary on (pulse, timer in 100 ms), 2 = permanent on, 1 = permanent off.
      const control = a.action === 'pulse' ? 5 : a.action === 'latch' ? 2 : 1;
      return { type: 'OUT', records: [{ output, control, timer: a.action === 'pulse' ? Math.round(a.durationMs / 100) : 0 }] };
    }
    case 'text': {
      const a = textArgs.parse(args);
      // §6.13 text command: 1 permanent no wrap, 2 permanent with wrap, 3 temporary no wrap,
      // 4 temporary with wrap (temporary = for tempTime seconds, then the permanent text returns).
      const command = a.durationS ? (a.wrap ? 4 : 3) : a.wrap ? 2 : 1;
      return { type: 'TEXT', reader: 0, command, tempTime: a.durationS, row: a.row, column: a.column, text: a.text };
    }
    case 'comset': {
      const a = comsetArgs.parse(args);
      return { type: 'COMSET', address: a.address, baud: a.baud };
    }
  }
}

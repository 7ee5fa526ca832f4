// Config of one Wiegand-to-serial converter (`drivers.wiegand[i]`): one serial port, one
// reader behind it. Defaults live here and nowhere else (docs/contracts.md §Practices).
import { z } from 'zod';
import { idString } from '../../config/schema.js';
import { linkPolicySchema } from '../transport/lifecycle.js';
import { customFormatSchema } from '../cards/config.js';
import { compilePattern } from './lines.js';

export const wiegandConfigSchema = z
  .strictObject({
    id: idString,
    name: z.string().max(128).optional(),
    /** Serial device of the converter, or `inproc:<name>`. */
    port: z.string().min(1),
    baud: z.number().int().positive().default(9600),
    lineFormat: z.enum(['auto', 'bits', 'hex', 'decimal', 'regex']).default('auto'),
    /** For lineFormat regex: named groups bits | count+hex | fc+cn. */
    pattern: z.string().optional(),
    /** Site Wiegand formats, tried before the built-ins. */
    formats: z.array(customFormatSchema).default([]),
    /** Longest accepted line; longer input is discarded as noise (counted). */
    maxLineLength: z.number().int().min(16).max(4096).default(512),
    /** Reopening the converter's port after it was lost (full-jitter backoff). */
    reconnect: linkPolicySchema(1000, 30_000),
  })
  .superRefine((c, ctx) => {
    if (c.lineFormat !== 'regex') return;
    if (!c.pattern) {
      ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'lineFormat regex needs a pattern' });
      return;
    }
    try {
      compilePattern(c.pattern);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['pattern'], message: (err as Error).message });
    }
  });

export type WiegandConfig = z.infer<typeof wiegandConfigSchema>;

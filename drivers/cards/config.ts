// Config schema of a site-specific Wiegand card format (docs/configuration.md): shared by
// the OSDP driver (RAW card data) and the Wiegand converter driver.
import { z } from 'zod';

const wiegandFieldSchema = z.strictObject({ start: z.number().int().min(1), length: z.number().int().min(1).max(53) });
const parityRange = z.union([z.number().int().min(1), z.tuple([z.number().int().min(1), z.number().int().min(1)])]);
export const customFormatSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/),
  bitCount: z.number().int().min(1).max(1024),
  fields: z.record(z.string(), wiegandFieldSchema),
  parity: z.array(z.strictObject({ bit: z.number().int().min(1), type: z.enum(['even', 'odd']), over: z.array(parityRange) })).default([]),
});

// Config of one OSDP bus instance (`drivers.osdp[i]`): one serial port (RS-485, half
// duplex), many readers. Defaults live here and nowhere else (docs/contracts.md §Practices).
// Timing defaults follow OSDP v2.2: reply timeout 200 ms (§5.7), reader offline after 8 s
// without a valid reply (§5.7 / Annex A "offline" guidance as libosdp applies it).
import { z } from 'zod';
import { idString } from '../../config/schema.js';
import { customFormatSchema } from '../cards/config.js';
import { linkPolicySchema } from '../transport/lifecycle.js';
import { secret } from '../../config/secrets.js';

const hexKey = z
  .string()
  .regex(/^[0-9a-fA-F]{32}$/, 'expected 32 hex characters (a 16-byte AES-128 key)');

export const doorSchema = z.strictObject({
  /** Door contact input number (ISTATR index). */
  contactInput: z.number().int().min(0).max(255),
  /** Input value that means "door open" (1 = active). */
  openValue: z.number().int().min(0).max(1).default(1),
  /** Request-to-exit input: a press grants the door for `grantSeconds`. */
  rexInput: z.number().int().min(0).max(255).optional(),
  rexActiveValue: z.number().int().min(0).max(1).default(1),
  /** Strike relay output (osdp_OUT number). Pulsing it (command `output`) grants the door. */
  strikeOutput: z.number().int().min(0).max(255).optional(),
  /** How long after a grant (strike pulse end / REX) an opening is not "forced". */
  grantSeconds: z.number().min(0).max(600).default(10),
  /** Open longer than this → access.door.held. */
  heldOpenSeconds: z.number().min(1).max(86_400).default(30),
});

export const readerSchema = z
  .strictObject({
    id: idString,
    name: z.string().max(128).optional(),
    address: z.number().int().min(0).max(126),
    /** Secure Channel Base Key (secret). A key found in the key store takes precedence. */
    scbk: secret(hexKey).optional(),
    /** Install mode: handshake with SCBK-D, KEYSET a new random SCBK, store it (0600). */
    install: z.boolean().default(false),
    /** Never accept plaintext from this reader. Default: true when a key or install mode is set. */
    secureRequired: z.boolean().optional(),
    door: doorSchema.optional(),
    /** KEYPAD digits are secrets: send an HMAC keyed by the gateway's PIN key, only the length, or nothing. */
    pinPolicy: z.enum(['hash', 'length', 'none']).default('length'),
    /**
     * How KEYPAD replies become access.keypad entries: `collect` joins the keys of successive
     * replies until '#', `keypadTimeoutMs` without a key, or 16 keys ('*' clears); `reply`
     * makes each reply an entry (a reader that buffers the whole entry and sends no '#').
     */
    keypadEntry: z.enum(['collect', 'reply']).default('collect'),
    /** Pause after the last key that ends a collected entry. */
    keypadTimeoutMs: z.number().int().min(500).max(30_000).default(4000),
  })
  .refine((r) => !(r.secureRequired === true && !r.scbk && !r.install), {
    message: 'secureRequired needs an scbk or install: true',
    path: ['secureRequired'],
  });

export const osdpConfigSchema = z
  .strictObject({
    id: idString,
    /** Serial device (e.g. /dev/ttyUSB0) or `inproc:<name>` for the demo simulator. */
    port: z.string().min(1),
    baud: z.union([z.literal(9600), z.literal(19200), z.literal(38400), z.literal(57600), z.literal(115200), z.literal(230400)]).default(9600),
    /** CRC-16 (recommended) or the 8-bit checksum. */
    useCrc: z.boolean().default(true),
    /** OSDP v2.2 §5.7: 200 ms reply timeout. */
    replyTimeoutMs: z.number().int().min(20).max(5000).default(200),
    /** Re-sends of one command (same SQN) after a timeout before it is abandoned. */
    retries: z.number().int().min(0).max(10).default(3),
    /** Offline after this long without a valid reply (8 s per the issue / libosdp). */
    offlineAfterMs: z.number().int().min(200).max(120_000).default(8000),
    /** Minimum gap between two polls of the same reader; 0 = as fast as the line allows. */
    pollIntervalMs: z.number().int().min(0).max(10_000).default(50),
    /** Re-probe backoff of an offline reader (doubles up to the max). */
    probeBackoffMs: z.number().int().min(50).max(60_000).default(1000),
    probeBackoffMaxMs: z.number().int().min(50).max(600_000).default(8000),
    /** Secure Channel re-handshake backoff after a failure (doubles up to the max). */
    scBackoffMs: z.number().int().min(50).max(60_000).default(1000),
    scBackoffMaxMs: z.number().int().min(50).max(600_000).default(30_000),
    /** Installed SCBKs (JSON, 0600) set by install mode. Default: <stateDir>/osdp-keys.json. */
    keyStore: secret(z.string(), 'file').optional(),
    /** Extra Wiegand formats for RAW card data (tried before the built-ins). */
    formats: z.array(customFormatSchema).default([]),
    /** Reopen a lost line: the reconnecting link's policy (drivers/transport/lifecycle.ts). */
    reconnect: linkPolicySchema(1000, 30_000),
    readers: z.array(readerSchema).min(1),
  })
  .superRefine((c, ctx) => {
    const addrs = new Set<number>();
    const ids = new Set<string>();
    c.readers.forEach((r, i) => {
      if (addrs.has(r.address)) ctx.addIssue({ code: 'custom', path: ['readers', i, 'address'], message: `address ${r.address} is used twice on this bus` });
      if (ids.has(r.id)) ctx.addIssue({ code: 'custom', path: ['readers', i, 'id'], message: `reader id "${r.id}" is used twice` });
      addrs.add(r.address);
      ids.add(r.id);
    });
  });

export type OsdpConfig = z.infer<typeof osdpConfigSchema>;
export type ReaderConfig = z.infer<typeof readerSchema>;
export type DoorConfig = z.infer<typeof doorSchema>;

// Typed builders and parsers for PD→CP replies (OSDP v2.2 §7). decodeReply() is what the
// CP runs on every reply; it validates lengths strictly and reports the data offset of
// the first inconsistency (OsdpParseError). encodeReply() serves the test peer/simulator.
import { OsdpParseError } from '../errors.js';
import { nakName, Reply } from './codes.js';
import type { NakName } from './codes.js';
import { Cursor, Writer } from './cursor.js';

/** One PDCAP record: function code, compliance level, number of items. */
export interface Capability {
  function: number;
  compliance: number;
  items: number;
}

export interface PdIdentity {
  /** IEEE OUI, 24 bits (sent LSB first). */
  vendor: number;
  model: number;
  version: number;
  /** 32-bit serial number (sent LSB first). */
  serial: number;
  firmware: { major: number; minor: number; build: number };
}

export type OsdpReply =
  | { type: 'ACK' }
  | { type: 'BUSY' }
  | { type: 'NAK'; error: number; errorName: NakName; detail: Buffer }
  | ({ type: 'PDID' } & PdIdentity)
  | { type: 'PDCAP'; capabilities: Capability[] }
  | { type: 'LSTATR'; tamper: number; power: number }
  | { type: 'ISTATR'; inputs: number[] }
  | { type: 'OSTATR'; outputs: number[] }
  | { type: 'RSTATR'; readers: number[] }
  /** Card data. `format` 0 = raw bits, 1 = Wiegand P/data/P; data MSB-first, left-justified. */
  | { type: 'RAW'; reader: number; format: number; bitCount: number; data: Buffer }
  /** Formatted card data, ASCII characters. */
  | { type: 'FMT'; reader: number; direction: number; text: string }
  /** Keypad digits as sent: ASCII, '*' = 0x7F, '#' = 0x0D. Secret: never log. */
  | { type: 'KEYPAD'; reader: number; keys: Buffer }
  | { type: 'COM'; address: number; baud: number }
  | { type: 'CCRYPT'; cuid: Buffer; rndB: Buffer; clientCryptogram: Buffer }
  | { type: 'RMAC_I'; rmacI: Buffer }
  | { type: 'MFGREP'; vendor: number; data: Buffer };

export type ReplyType = OsdpReply['type'];

/** Bytes needed to hold `bitCount` bits, as RAW carries them. */
export function rawByteLength(bitCount: number): number {
  return Math.ceil(bitCount / 8);
}

/** KEYPAD bytes → display string ('*' for 0x7F, '#' for 0x0D). Callers must treat it as a secret. */
export function keypadText(keys: Uint8Array): string {
  let s = '';
  for (const k of keys) s += k === 0x7f ? '*' : k === 0x0d ? '#' : String.fromCharCode(k);
  return s;
}

/** Build a reply's code and data bytes. Throws RangeError for out-of-range fields. */
export function encodeReply(r: OsdpReply): { code: number; data: Buffer } {
  const w = new Writer();
  switch (r.type) {
    case 'ACK':
    case 'BUSY':
      break;
    case 'NAK':
      w.u8(r.error, 'error').bytes(r.detail, 'detail');
      break;
    case 'PDID':
      w.u24(r.vendor, 'vendor').u8(r.model, 'model').u8(r.version, 'version').u32(r.serial, 'serial');
      w.u8(r.firmware.major, 'firmware.major').u8(r.firmware.minor, 'firmware.minor').u8(r.firmware.build, 'firmware.build');
      break;
    case 'PDCAP':
      r.capabilities.forEach((cap, i) => w.u8(cap.function, `capabilities[${i}].function`).u8(cap.compliance, `capabilities[${i}].compliance`).u8(cap.items, `capabilities[${i}].items`));
      break;
    case 'LSTATR':
      w.u8(r.tamper, 'tamper').u8(r.power, 'power');
      break;
    case 'ISTATR':
      r.inputs.forEach((v, i) => w.u8(v, `inputs[${i}]`));
      break;
    case 'OSTATR':
      r.outputs.forEach((v, i) => w.u8(v, `outputs[${i}]`));
      break;
    case 'RSTATR':
      r.readers.forEach((v, i) => w.u8(v, `readers[${i}]`));
      break;
    case 'RAW':
      w.u8(r.reader, 'reader').u8(r.format, 'format').u16(r.bitCount, 'bitCount').bytes(r.data, 'data', rawByteLength(r.bitCount));
      break;
    case 'FMT': {
      const text = Buffer.from(r.text, 'latin1');
      w.u8(r.reader, 'reader').u8(r.direction, 'direction').u8(text.length, 'text.length').bytes(text, 'text');
      break;
    }
    case 'KEYPAD':
      w.u8(r.reader, 'reader').u8(r.keys.length, 'keys.length').bytes(r.keys, 'keys');
      break;
    case 'COM':
      w.u8(r.address, 'address').u32(r.baud, 'baud');
      break;
    case 'CCRYPT':
      w.bytes(r.cuid, 'cuid', 8).bytes(r.rndB, 'rndB', 8).bytes(r.clientCryptogram, 'clientCryptogram', 16);
      break;
    case 'RMAC_I':
      w.bytes(r.rmacI, 'rmacI', 16);
      break;
    case 'MFGREP':
      w.u24(r.vendor, 'vendor').bytes(r.data, 'data');
      break;
  }
  return { code: Reply[r.type], data: w.build() };
}

/** Parse a reply's data bytes. Throws OsdpParseError for unknown codes and bad layouts. */
export function decodeReply(code: number, data: Buffer): OsdpReply {
  const c = new Cursor(data, code);
  let r: OsdpReply;
  switch (code) {
    case Reply.ACK:
      r = { type: 'ACK' };
      break;
    case Reply.BUSY:
      r = { type: 'BUSY' };
      break;
    case Reply.NAK: {
      const error = c.u8('error');
      r = { type: 'NAK', error, errorName: nakName(error), detail: c.rest() };
      break;
    }
    case Reply.PDID:
      r = {
        type: 'PDID',
        vendor: c.u24('vendor'),
        model: c.u8('model'),
        version: c.u8('version'),
        serial: c.u32('serial'),
        firmware: { major: c.u8('firmware.major'), minor: c.u8('firmware.minor'), build: c.u8('firmware.build') },
      };
      break;
    case Reply.PDCAP: {
      const n = c.records(3, 'capabilities');
      const capabilities: Capability[] = [];
      for (let i = 0; i < n; i++) {
        capabilities.push({ function: c.u8(`capabilities[${i}].function`), compliance: c.u8(`capabilities[${i}].compliance`), items: c.u8(`capabilities[${i}].items`) });
      }
      r = { type: 'PDCAP', capabilities };
      break;
    }
    case Reply.LSTATR:
      r = { type: 'LSTATR', tamper: c.u8('tamper'), power: c.u8('power') };
      break;
    case Reply.ISTATR:
      r = { type: 'ISTATR', inputs: [...c.rest()] };
      break;
    case Reply.OSTATR:
      r = { type: 'OSTATR', outputs: [...c.rest()] };
      break;
    case Reply.RSTATR:
      r = { type: 'RSTATR', readers: [...c.rest()] };
      break;
    case Reply.RAW: {
      const reader = c.u8('reader');
      const format = c.u8('format');
      const bitCount = c.u16('bitCount');
      if (bitCount === 0) c.fail('bitCount', 'a card read has at least one bit', 2);
      const want = rawByteLength(bitCount);
      if (c.remaining !== want) c.fail('data', `bit count ${bitCount} needs ${want} data byte(s), got ${c.remaining}`);
      r = { type: 'RAW', reader, format, bitCount, data: c.bytes(want, 'data') };
      break;
    }
    case Reply.FMT: {
      const reader = c.u8('reader');
      const direction = c.u8('direction');
      const len = c.u8('length');
      r = { type: 'FMT', reader, direction, text: c.bytes(len, 'text').toString('latin1') };
      break;
    }
    case Reply.KEYPAD: {
      const reader = c.u8('reader');
      const count = c.u8('count');
      r = { type: 'KEYPAD', reader, keys: c.bytes(count, 'keys') };
      break;
    }
    case Reply.COM:
      r = { type: 'COM', address: c.u8('address'), baud: c.u32('baud') };
      break;
    case Reply.CCRYPT:
      r = { type: 'CCRYPT', cuid: c.bytes(8, 'cuid'), rndB: c.bytes(8, 'rndB'), clientCryptogram: c.bytes(16, 'clientCryptogram') };
      break;
    case Reply.RMAC_I:
      r = { type: 'RMAC_I', rmacI: c.bytes(16, 'rmacI') };
      break;
    case Reply.MFGREP:
      r = { type: 'MFGREP', vendor: c.u24('vendor'), data: c.rest() };
      break;
    default:
      throw new OsdpParseError(code, 'code', 0, 'unknown or unsupported reply code');
  }
  c.end();
  return r;
}

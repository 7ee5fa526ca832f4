// Typed builders and parsers for the CP→PD commands gatewarden uses (OSDP v2.2 §6).
// encodeCommand() is what the CP sends; decodeCommand() is used by the test peer and by
// diagnostics, and validates lengths strictly (OsdpParseError with the data offset).
import { OsdpParseError } from '../errors.js';
import { Cmd } from './codes.js';
import { Cursor, Writer } from './cursor.js';

/** Temporary or permanent half of an LED record. Times in 100 ms units. */
export interface LedState {
  /** Control code: temporary 0 NOP, 1 cancel, 2 set; permanent 0 NOP, 1 set. */
  control: number;
  onTime: number;
  offTime: number;
  /** Colors: 0 black, 1 red, 2 green, 3 amber, 4 blue, 5 magenta, 6 cyan, 7 white. */
  onColor: number;
  offColor: number;
}
export interface LedRecord {
  reader: number;
  led: number;
  /** `timer` is the temporary state's duration, 100 ms units (LSB first on the wire). */
  temporary: LedState & { timer: number };
  permanent: LedState;
}
/** One osdp_OUT record. Control: 0 NOP, 1 perm off, 2 perm on, 3 temp-cancel, 4 temp off, 5 temp on. */
export interface OutputRecord {
  output: number;
  control: number;
  /** 100 ms units, for the temporary codes. */
  timer: number;
}

export type OsdpCommand =
  | { type: 'POLL' }
  | { type: 'ID'; replyType: number }
  | { type: 'CAP'; replyType: number }
  | { type: 'LSTAT' }
  | { type: 'ISTAT' }
  | { type: 'OSTAT' }
  | { type: 'RSTAT' }
  | { type: 'OUT'; records: OutputRecord[] }
  | { type: 'LED'; records: LedRecord[] }
  | { type: 'BUZ'; reader: number; tone: number; onTime: number; offTime: number; count: number }
  | { type: 'TEXT'; reader: number; command: number; tempTime: number; row: number; column: number; text: string }
  | { type: 'COMSET'; address: number; baud: number }
  | { type: 'KEYSET'; keyType: number; key: Buffer }
  | { type: 'CHLNG'; rndA: Buffer }
  | { type: 'SCRYPT'; serverCryptogram: Buffer }
  | { type: 'MFG'; vendor: number; data: Buffer };

export type CommandType = OsdpCommand['type'];

export interface EncodedPayload {
  code: number;
  data: Buffer;
}

const LED_RECORD = 14;
const OUT_RECORD = 4;

/** Build the code and data bytes of a command. Throws RangeError for out-of-range fields. */
export function encodeCommand(cmd: OsdpCommand): EncodedPayload {
  const w = new Writer();
  switch (cmd.type) {
    case 'POLL':
    case 'LSTAT':
    case 'ISTAT':
    case 'OSTAT':
    case 'RSTAT':
      break;
    case 'ID':
    case 'CAP':
      w.u8(cmd.replyType, 'replyType');
      break;
    case 'OUT':
      cmd.records.forEach((r, i) => w.u8(r.output, `records[${i}].output`).u8(r.control, `records[${i}].control`).u16(r.timer, `records[${i}].timer`));
      break;
    case 'LED':
      cmd.records.forEach((r, i) => {
        const p = `records[${i}]`;
        const t = r.temporary;
        const q = r.permanent;
        w.u8(r.reader, `${p}.reader`).u8(r.led, `${p}.led`);
        w.u8(t.control, `${p}.temporary.control`).u8(t.onTime, `${p}.temporary.onTime`).u8(t.offTime, `${p}.temporary.offTime`);
        w.u8(t.onColor, `${p}.temporary.onColor`).u8(t.offColor, `${p}.temporary.offColor`).u16(t.timer, `${p}.temporary.timer`);
        w.u8(q.control, `${p}.permanent.control`).u8(q.onTime, `${p}.permanent.onTime`).u8(q.offTime, `${p}.permanent.offTime`);
        w.u8(q.onColor, `${p}.permanent.onColor`).u8(q.offColor, `${p}.permanent.offColor`);
      });
      break;
    case 'BUZ':
      w.u8(cmd.reader, 'reader').u8(cmd.tone, 'tone').u8(cmd.onTime, 'onTime').u8(cmd.offTime, 'offTime').u8(cmd.count, 'count');
      break;
    case 'TEXT': {
      const text = Buffer.from(cmd.text, 'latin1');
      if (!/^[\x20-\x7e]*$/.test(cmd.text)) throw new RangeError('text must be printable ASCII');
      w.u8(cmd.reader, 'reader').u8(cmd.command, 'command').u8(cmd.tempTime, 'tempTime').u8(cmd.row, 'row').u8(cmd.column, 'column');
      w.u8(text.length, 'text.length').bytes(text, 'text');
      break;
    }
    case 'COMSET':
      if (cmd.address > 0x7e) throw new RangeError(`address must be 0..126 (got ${cmd.address})`);
      w.u8(cmd.address, 'address').u32(cmd.baud, 'baud');
      break;
    case 'KEYSET':
      w.u8(cmd.keyType, 'keyType').u8(cmd.key.length, 'key.length').bytes(cmd.key, 'key');
      break;
    case 'CHLNG':
      w.bytes(cmd.rndA, 'rndA', 8);
      break;
    case 'SCRYPT':
      w.bytes(cmd.serverCryptogram, 'serverCryptogram', 16);
      break;
    case 'MFG':
      w.u24(cmd.vendor, 'vendor').bytes(cmd.data, 'data');
      break;
  }
  return { code: Cmd[cmd.type], data: w.build() };
}

/** Parse a command's data bytes. Throws OsdpParseError for unknown codes and bad layouts. */
export function decodeCommand(code: number, data: Buffer): OsdpCommand {
  const c = new Cursor(data, code);
  let cmd: OsdpCommand;
  switch (code) {
    case Cmd.POLL:
      cmd = { type: 'POLL' };
      break;
    case Cmd.LSTAT:
      cmd = { type: 'LSTAT' };
      break;
    case Cmd.ISTAT:
      cmd = { type: 'ISTAT' };
      break;
    case Cmd.OSTAT:
      cmd = { type: 'OSTAT' };
      break;
    case Cmd.RSTAT:
      cmd = { type: 'RSTAT' };
      break;
    case Cmd.ID:
      cmd = { type: 'ID', replyType: c.u8('replyType') };
      break;
    case Cmd.CAP:
      cmd = { type: 'CAP', replyType: c.u8('replyType') };
      break;
    case Cmd.OUT: {
      const n = c.records(OUT_RECORD, 'records');
      if (n === 0) c.fail('records', 'at least one 4-byte output record is required');
      const records: OutputRecord[] = [];
      for (let i = 0; i < n; i++) records.push({ output: c.u8(`records[${i}].output`), control: c.u8(`records[${i}].control`), timer: c.u16(`records[${i}].timer`) });
      cmd = { type: 'OUT', records };
      break;
    }
    case Cmd.LED: {
      const n = c.records(LED_RECORD, 'records');
      if (n === 0) c.fail('records', 'at least one 14-byte LED record is required');
      const records: LedRecord[] = [];
      for (let i = 0; i < n; i++) records.push(readLed(c, `records[${i}]`));
      cmd = { type: 'LED', records };
      break;
    }
    case Cmd.BUZ:
      cmd = { type: 'BUZ', reader: c.u8('reader'), tone: c.u8('tone'), onTime: c.u8('onTime'), offTime: c.u8('offTime'), count: c.u8('count') };
      break;
    case Cmd.TEXT: {
      const head = { reader: c.u8('reader'), command: c.u8('command'), tempTime: c.u8('tempTime'), row: c.u8('row'), column: c.u8('column') };
      const len = c.u8('length');
      cmd = { type: 'TEXT', ...head, text: c.bytes(len, 'text').toString('latin1') };
      break;
    }
    case Cmd.COMSET:
      cmd = { type: 'COMSET', address: c.u8('address'), baud: c.u32('baud') };
      break;
    case Cmd.KEYSET: {
      const keyType = c.u8('keyType');
      const len = c.u8('keyLength');
      cmd = { type: 'KEYSET', keyType, key: c.bytes(len, 'key') };
      break;
    }
    case Cmd.CHLNG:
      cmd = { type: 'CHLNG', rndA: c.bytes(8, 'rndA') };
      break;
    case Cmd.SCRYPT:
      cmd = { type: 'SCRYPT', serverCryptogram: c.bytes(16, 'serverCryptogram') };
      break;
    case Cmd.MFG:
      cmd = { type: 'MFG', vendor: c.u24('vendor'), data: c.rest() };
      break;
    default:
      throw new OsdpParseError(code, 'code', 0, 'unknown or unsupported command code');
  }
  c.end();
  return cmd;
}

function readLed(c: Cursor, p: string): LedRecord {
  const reader = c.u8(`${p}.reader`);
  const led = c.u8(`${p}.led`);
  const temporary = {
    control: c.u8(`${p}.temporary.control`),
    onTime: c.u8(`${p}.temporary.onTime`),
    offTime: c.u8(`${p}.temporary.offTime`),
    onColor: c.u8(`${p}.temporary.onColor`),
    offColor: c.u8(`${p}.temporary.offColor`),
    timer: c.u16(`${p}.temporary.timer`),
  };
  const permanent = {
    control: c.u8(`${p}.permanent.control`),
    onTime: c.u8(`${p}.permanent.onTime`),
    offTime: c.u8(`${p}.permanent.offTime`),
    onColor: c.u8(`${p}.permanent.onColor`),
    offColor: c.u8(`${p}.permanent.offColor`),
  };
  return { reader, led, temporary, permanent };
}

// OSDP v2.2 §5 packet format — the pure frame codec. One frame on the wire:
//
//   [0xFF mark] SOM 0x53 | ADDR | LEN_LSB LEN_MSB | CTRL | [SCB len,type,data] | CODE | DATA |
//   [MAC 4 bytes when SCB type is SCS_15..SCS_18] | CRC-16 LSB first, or 8-bit checksum
//
// LEN counts every byte from SOM through the check characters (not the mark byte).
// CTRL: bits 0-1 SQN, bit 2 set = CRC-16 else checksum, bit 3 = SCB present; bits 4-7 are
// reserved — preserved as read so that decode → encode is byte-exact, never interpreted.
import { FrameError } from '../errors.js';
import { checksum8, crc16 } from './crc.js';

export const SOM = 0x53;
/** Optional mark byte a sender may put before SOM (libosdp does; v2.2 §5). */
export const MARK = 0xff;
export const BROADCAST_ADDRESS = 0x7f;
export const REPLY_FLAG = 0x80;

const CTRL_SQN = 0x03;
const CTRL_CRC = 0x04;
const CTRL_SCB = 0x08;
const CTRL_RESERVED = 0xf0;

/** Security Control Block types (Annex D). */
export const Scs = {
  SCS_11: 0x11, // CHLNG
  SCS_12: 0x12, // CCRYPT
  SCS_13: 0x13, // SCRYPT
  SCS_14: 0x14, // RMAC_I
  SCS_15: 0x15, // CP→PD, MAC, data in clear
  SCS_16: 0x16, // PD→CP, MAC, data in clear
  SCS_17: 0x17, // CP→PD, MAC, data encrypted
  SCS_18: 0x18, // PD→CP, MAC, data encrypted
} as const;

export const MAC_LENGTH = 4;
/** SOM ADDR LEN LEN CTRL CODE + 1 checksum byte. */
export const MIN_FRAME_LENGTH = 7;

/** True for SCB types that carry a 4-byte MAC before the check characters. */
export function scbHasMac(type: number): boolean {
  return type >= Scs.SCS_15 && type <= Scs.SCS_18;
}

export interface SecurityBlock {
  type: number;
  /** SCB data bytes (SCB length − 2); e.g. the key selector of SCS_11..SCS_14. */
  data: Buffer;
}

export interface Frame {
  /** 0..0x7F (0x7F = broadcast); the reply flag is separate. */
  address: number;
  /** Bit 7 of ADDR: set by a PD in replies. */
  reply: boolean;
  /** Sequence number 0..3. */
  sqn: number;
  /** CTRL bit 2: CRC-16 (true) or 8-bit checksum. */
  useCrc: boolean;
  scb?: SecurityBlock;
  code: number;
  data: Buffer;
  /** 4 MAC bytes; required exactly when scb.type is SCS_15..18. */
  mac?: Buffer;
  /** CTRL bits 4-7 as read (reserved, normally 0). */
  reservedCtrl?: number;
}

export interface DecodedFrame extends Frame {
  /** The frame's bytes, SOM through check characters. */
  raw: Buffer;
}

/** Length of the check characters for a CTRL byte. */
function checkLength(ctrl: number): number {
  return ctrl & CTRL_CRC ? 2 : 1;
}

/**
 * Decode exactly one frame (SOM at offset 0, no mark byte, nothing after the check
 * characters). Verifies LEN and the check characters. Throws FrameError only.
 */
export function decodeFrame(buf: Uint8Array): DecodedFrame {
  if (buf.length < MIN_FRAME_LENGTH) {
    throw new FrameError('too-short', `${buf.length} bytes, a frame has at least ${MIN_FRAME_LENGTH}`, buf.length);
  }
  if (buf[0] !== SOM) throw new FrameError('bad-som', `expected 0x53, got 0x${hex(buf[0])}`, 0);
  const len = buf[2] | (buf[3] << 8);
  const ctrl = buf[4];
  const ck = checkLength(ctrl);
  if (len < MIN_FRAME_LENGTH - 1 + ck) throw new FrameError('bad-length', `LEN ${len} is below the minimum`, 2);
  if (len !== buf.length) throw new FrameError('length-mismatch', `LEN ${len} but ${buf.length} bytes given`, 2);
  const body = len - ck;
  if (ctrl & CTRL_CRC) {
    const want = crc16(buf, 0, body);
    const got = buf[body] | (buf[body + 1] << 8);
    if (want !== got) throw new FrameError('bad-crc', `CRC 0x${got.toString(16)} != computed 0x${want.toString(16)}`, body);
  } else {
    const want = checksum8(buf, 0, body);
    if (want !== buf[body]) throw new FrameError('bad-checksum', `checksum 0x${hex(buf[body])} != computed 0x${hex(want)}`, body);
  }
  let pos = 5;
  let scb: SecurityBlock | undefined;
  if (ctrl & CTRL_SCB) {
    const scbLen = buf[pos];
    if (scbLen < 2) throw new FrameError('bad-scb', `SCB length ${scbLen} < 2`, pos);
    if (pos + scbLen >= body) throw new FrameError('bad-scb', `SCB length ${scbLen} leaves no room for the code`, pos);
    scb = { type: buf[pos + 1], data: Buffer.from(buf.subarray(pos + 2, pos + scbLen)) };
    pos += scbLen;
  }
  const code = buf[pos];
  pos += 1;
  let dataEnd = body;
  let mac: Buffer | undefined;
  if (scb && scbHasMac(scb.type)) {
    if (dataEnd - MAC_LENGTH < pos) throw new FrameError('missing-mac', `SCB type 0x${hex(scb.type)} needs a 4-byte MAC`, pos);
    dataEnd -= MAC_LENGTH;
    mac = Buffer.from(buf.subarray(dataEnd, body));
  }
  const frame: DecodedFrame = {
    address: buf[1] & 0x7f,
    reply: (buf[1] & REPLY_FLAG) !== 0,
    sqn: ctrl & CTRL_SQN,
    useCrc: (ctrl & CTRL_CRC) !== 0,
    code,
    data: Buffer.from(buf.subarray(pos, dataEnd)),
    raw: Buffer.from(buf),
  };
  if (scb) frame.scb = scb;
  if (mac) frame.mac = mac;
  if (ctrl & CTRL_RESERVED) frame.reservedCtrl = ctrl & CTRL_RESERVED;
  return frame;
}

function validate(frame: Frame): void {
  const bad = (field: string, msg: string): never => {
    throw new FrameError('bad-field', `${field}: ${msg}`, 0);
  };
  if (!Number.isInteger(frame.address) || frame.address < 0 || frame.address > 0x7f) bad('address', `must be 0..127 (got ${frame.address})`);
  if (!Number.isInteger(frame.sqn) || frame.sqn < 0 || frame.sqn > 3) bad('sqn', `must be 0..3 (got ${frame.sqn})`);
  if (!Number.isInteger(frame.code) || frame.code < 0 || frame.code > 0xff) bad('code', `must be a byte (got ${frame.code})`);
  if (frame.scb) {
    if (frame.scb.data.length > 253) bad('scb.data', 'longer than 253 bytes');
    const needsMac = scbHasMac(frame.scb.type);
    if (needsMac && frame.mac?.length !== MAC_LENGTH) bad('mac', `SCB type 0x${hex(frame.scb.type)} needs a 4-byte MAC`);
    if (!needsMac && frame.mac) bad('mac', 'a MAC is only sent with SCS_15..SCS_18');
  } else if (frame.mac) {
    bad('mac', 'a MAC needs a security block');
  }
}

function ctrlByte(frame: Frame): number {
  return (frame.sqn & CTRL_SQN) | (frame.useCrc ? CTRL_CRC : 0) | (frame.scb ? CTRL_SCB : 0) | ((frame.reservedCtrl ?? 0) & CTRL_RESERVED);
}

/** Total LEN of a frame once encoded. */
export function frameLength(frame: Frame): number {
  const scbLen = frame.scb ? 2 + frame.scb.data.length : 0;
  const macLen = frame.scb && scbHasMac(frame.scb.type) ? MAC_LENGTH : 0;
  return 5 + scbLen + 1 + frame.data.length + macLen + (frame.useCrc ? 2 : 1);
}

/**
 * The bytes a Secure Channel MAC covers (Annex D): SOM through the last data byte, with
 * LEN already counting the MAC and check characters. `frame.mac` is ignored.
 */
export function macInput(frame: Frame): Buffer {
  return encodeHead(frame, frameLength(frame));
}

function encodeHead(frame: Frame, len: number): Buffer {
  if (len > 0xffff) throw new FrameError('bad-field', `frame of ${len} bytes exceeds the 16-bit LEN`, 2);
  const scbLen = frame.scb ? 2 + frame.scb.data.length : 0;
  const head = Buffer.alloc(5 + scbLen + 1 + frame.data.length);
  head[0] = SOM;
  head[1] = (frame.address & 0x7f) | (frame.reply ? REPLY_FLAG : 0);
  head.writeUInt16LE(len, 2);
  head[4] = ctrlByte(frame);
  let pos = 5;
  if (frame.scb) {
    head[pos] = scbLen;
    head[pos + 1] = frame.scb.type;
    frame.scb.data.copy(head, pos + 2);
    pos += scbLen;
  }
  head[pos] = frame.code;
  frame.data.copy(head, pos + 1);
  return head;
}

/** Encode a frame, SOM through check characters. `mark: true` prepends the 0xFF mark byte. */
export function encodeFrame(frame: Frame, opts: { mark?: boolean } = {}): Buffer {
  validate(frame);
  const len = frameLength(frame);
  const head = encodeHead(frame, len);
  const mac = frame.scb && scbHasMac(frame.scb.type) ? (frame.mac as Buffer) : Buffer.alloc(0);
  const out = Buffer.alloc((opts.mark ? 1 : 0) + len);
  let pos = 0;
  if (opts.mark) out[pos++] = MARK;
  const start = pos;
  head.copy(out, pos);
  pos += head.length;
  mac.copy(out, pos);
  pos += mac.length;
  if (frame.useCrc) out.writeUInt16LE(crc16(out, start, pos), pos);
  else out[pos] = checksum8(out, start, pos);
  return out;
}

/** Verify only LEN and the check characters of a candidate frame (used by the deframer). */
export function checkCharactersOk(buf: Uint8Array): boolean {
  const ck = checkLength(buf[4]);
  const body = buf.length - ck;
  if (ck === 2) return crc16(buf, 0, body) === (buf[body] | (buf[body + 1] << 8));
  return checksum8(buf, 0, body) === buf[body];
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}

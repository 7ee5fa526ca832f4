import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksum8, crc16 } from '../../drivers/osdp/phy/crc.js';
import { decodeFrame, encodeFrame, macInput, Scs } from '../../drivers/osdp/phy/frame.js';
import { FrameError } from '../../drivers/osdp/errors.js';
import { hex, osdpVectors } from '../helpers/osdp-vectors.js';

const V = osdpVectors();

test('Annex E: CRC-16/AUG-CCITT and 8-bit checksum', () => {
  for (const c of V.annex_e.crc) {
    const v = crc16(hex(c.msg));
    assert.equal(Buffer.from([v & 0xff, v >> 8]).toString('hex'), c.crc_bytes_lsb_first, c.msg);
  }
  for (const c of V.annex_e.checksum) assert.equal(checksum8(hex(c.msg)).toString(16).padStart(2, '0'), c.checksum, c.msg);
  // A whole frame's bytes (incl. checksum) sum to 0 mod 256.
  assert.equal(checksum8(hex('5300080000610044')), 0);
});

test('every captured frame: check characters, header fields, byte-exact re-encode', () => {
  assert.ok(V.vectors.length >= 50);
  for (const v of V.vectors) {
    const raw = hex(v.hex);
    const body = raw.length - 2;
    assert.equal(crc16(raw, 0, body), raw.readUInt16LE(body), `${v.id} CRC`);
    const f = decodeFrame(raw);
    assert.equal(f.address, 0x65, v.id);
    assert.equal(f.reply, v.direction === 'PD->CP', v.id);
    assert.equal(f.useCrc, true, v.id);
    assert.equal(f.sqn, raw[4] & 3, v.id);
    assert.equal(f.data.toString('hex'), v.data_hex, `${v.id} data`);
    assert.equal(f.code, Number.parseInt(/CODE=0x([0-9a-f]{2})/.exec(v.header)![1], 16), v.id);
    if (v.mac_iv) {
      assert.ok(f.scb && f.scb.type >= Scs.SCS_15 && f.scb.type <= Scs.SCS_18, v.id);
      assert.equal(f.mac?.toString('hex'), v.mac_full!.slice(0, 8), `${v.id} MAC bytes`);
      assert.deepEqual(macInput(f), raw.subarray(0, raw.length - 6), `${v.id} MAC input`);
    }
    assert.deepEqual(encodeFrame(f), raw, `${v.id} re-encode`);
    assert.deepEqual(encodeFrame(f, { mark: true }), Buffer.concat([Buffer.from([0xff]), raw]), `${v.id} with mark`);
    assert.deepEqual(f.raw, raw);
  }
});

test('checksum-mode frames decode and encode (Annex E checksum messages)', () => {
  for (const c of V.annex_e.checksum) {
    const raw = Buffer.concat([hex(c.msg), hex(c.checksum)]);
    const f = decodeFrame(raw);
    assert.equal(f.useCrc, false);
    assert.deepEqual(encodeFrame(f), raw);
  }
  const bcast = decodeFrame(Buffer.concat([hex(V.annex_e.checksum[0].msg), hex(V.annex_e.checksum[0].checksum)]));
  assert.equal(bcast.address, 0x7f);
  assert.equal(bcast.code, 0x6e);
});

function frameError(fn: () => unknown, kind: string, offset?: number): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FrameError, String(e));
    assert.equal(e.kind, kind, e.message);
    if (offset !== undefined) assert.equal(e.offset, offset, e.message);
    return true;
  });
}

test('decode errors are typed and carry offsets', () => {
  const ack = hex('53e508000640b0f0');
  frameError(() => decodeFrame(ack.subarray(0, 5)), 'too-short');
  frameError(() => decodeFrame(Buffer.concat([Buffer.from([0x54]), ack.subarray(1)])), 'bad-som', 0);
  frameError(() => decodeFrame(Buffer.concat([ack, Buffer.from([0])])), 'length-mismatch', 2);
  const badCrc = Buffer.from(ack);
  badCrc[7] ^= 1;
  frameError(() => decodeFrame(badCrc), 'bad-crc', 6);
  const badCk = hex('5300080000610045');
  frameError(() => decodeFrame(badCk), 'bad-checksum', 7);
  const shortLen = encodeRawWithCrc([0x53, 0x65, 0x06, 0x00, 0x04]);
  frameError(() => decodeFrame(shortLen), 'bad-length', 2);
  // SCB claims 9 bytes in a frame that has no room for it.
  frameError(() => decodeFrame(encodeRawWithCrc([0x53, 0x65, 0x0a, 0x00, 0x0c, 0x09, 0x15, 0x60])), 'bad-scb', 5);
  frameError(() => decodeFrame(encodeRawWithCrc([0x53, 0x65, 0x0a, 0x00, 0x0c, 0x01, 0x15, 0x60])), 'bad-scb', 5);
  // SCS_15 needs a MAC: SCB [2, 0x15], code, then only 1 byte before CRC.
  frameError(() => decodeFrame(encodeRawWithCrc([0x53, 0x65, 0x0b, 0x00, 0x0c, 0x02, 0x15, 0x60, 0x00])), 'missing-mac');
});

/** Build bytes with a correct LEN-independent CRC appended (LEN byte given by the caller). */
function encodeRawWithCrc(bytes: number[]): Buffer {
  const b = Buffer.from([...bytes, 0, 0]);
  b.writeUInt16LE(crc16(b, 0, b.length - 2), b.length - 2);
  return b;
}

test('encode validates fields', () => {
  const base = { address: 1, reply: false, sqn: 0, useCrc: true, code: 0x60, data: Buffer.alloc(0) };
  frameError(() => encodeFrame({ ...base, address: 200 }), 'bad-field');
  frameError(() => encodeFrame({ ...base, sqn: 4 }), 'bad-field');
  frameError(() => encodeFrame({ ...base, scb: { type: Scs.SCS_15, data: Buffer.alloc(0) } }), 'bad-field');
  frameError(() => encodeFrame({ ...base, mac: Buffer.alloc(4) }), 'bad-field');
  const f = encodeFrame({ ...base, reservedCtrl: 0x80 });
  assert.equal(f[4], 0x84);
  assert.equal(decodeFrame(f).reservedCtrl, 0x80);
});

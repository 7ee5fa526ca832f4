import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame } from '../../drivers/osdp/phy/frame.js';
import { decodeCommand, encodeCommand } from '../../drivers/osdp/proto/commands.js';
import type { OsdpCommand } from '../../drivers/osdp/proto/commands.js';
import { decodeReply, encodeReply, keypadText } from '../../drivers/osdp/proto/replies.js';
import type { OsdpReply } from '../../drivers/osdp/proto/replies.js';
import { Cmd, commandName, nakName, Reply, replyName } from '../../drivers/osdp/proto/codes.js';
import { OsdpParseError } from '../../drivers/osdp/errors.js';
import { decodeWiegand } from '../../drivers/cards/formats.js';
import { hex, osdpVectors } from '../helpers/osdp-vectors.js';

const V = osdpVectors();
const byId = new Map(V.vectors.map((v) => [v.id, v]));

/** Plain payload of a vector: its decrypted data when encrypted, else the wire data. */
function payload(id: string): { code: number; data: Buffer; dir: string } {
  const v = byId.get(id)!;
  const f = decodeFrame(hex(v.hex));
  return { code: f.code, data: v.decrypted_data_hex !== undefined ? hex(v.decrypted_data_hex) : f.data, dir: v.direction };
}

test('every captured payload parses and re-encodes byte-exact', () => {
  for (const v of V.vectors) {
    const { code, data, dir } = payload(v.id);
    if (dir === 'CP->PD') {
      const cmd = decodeCommand(code, data);
      assert.equal(`osdp_${cmd.type}`, v.name, v.id);
      assert.equal(commandName(code), cmd.type);
      const back = encodeCommand(cmd);
      assert.equal(back.code, code, v.id);
      assert.deepEqual(back.data, data, v.id);
    } else {
      const r = decodeReply(code, data);
      assert.equal(`osdp_${r.type}`, v.name, v.id);
      assert.equal(replyName(code), r.type);
      const back = encodeReply(r);
      assert.equal(back.code, code, v.id);
      assert.deepEqual(back.data, data, v.id);
    }
  }
});

const reply = (id: string): OsdpReply => {
  const p = payload(id);
  return decodeReply(p.code, p.data);
};
const command = (id: string): OsdpCommand => {
  const p = payload(id);
  return decodeCommand(p.code, p.data);
};

test('PDID carries the PD identity of the capture', () => {
  const r = reply('plain.id.reply');
  assert.equal(r.type, 'PDID');
  if (r.type !== 'PDID') return;
  const id = V.pd_identity;
  assert.equal(r.vendor, Number(id.vendor_oui));
  assert.equal(r.model, id.model);
  assert.equal(r.version, id.version);
  assert.equal(r.serial, Number(id.serial));
  assert.equal(`${r.firmware.major}.${r.firmware.minor}.${r.firmware.build}`, id.firmware);
});

test('PDCAP, status replies, NAK codes, COM', () => {
  const cap = reply('plain.cap.reply');
  assert.ok(cap.type === 'PDCAP');
  if (cap.type === 'PDCAP') {
    assert.equal(cap.capabilities.length, 11);
    assert.deepEqual(cap.capabilities[0], { function: 1, compliance: 1, items: 4 });
    assert.deepEqual(cap.capabilities.at(-1), { function: 16, compliance: 2, items: 0 });
  }
  assert.deepEqual(reply('plain.lstat.reply'), { type: 'LSTATR', tamper: 0, power: 0 });
  assert.deepEqual(reply('plain.lstatr_event.reply'), { type: 'LSTATR', tamper: 1, power: 0 });
  assert.deepEqual(reply('sc.sec.lstatr_scs18'), { type: 'LSTATR', tamper: 1, power: 0 });
  assert.deepEqual(reply('plain.istat.reply'), { type: 'ISTATR', inputs: [0, 0, 0, 0] });
  assert.deepEqual(reply('plain.ostat.reply'), { type: 'OSTATR', outputs: [1, 0] });
  const nak = reply('plain.nak.reply');
  assert.ok(nak.type === 'NAK' && nak.error === 3 && nak.errorName === 'UNKNOWN_COMMAND');
  const nakSc = reply('plain.nak_sc.reply');
  assert.ok(nakSc.type === 'NAK' && nakSc.errorName === 'SC_CONDITIONS');
  assert.equal(nakName(0x42), 'UNKNOWN');
  assert.deepEqual(reply('plain.comset.reply'), { type: 'COM', address: 102, baud: 19200 });
  assert.deepEqual(command('plain.comset.cmd'), { type: 'COMSET', address: 102, baud: 19200 });
});

test('RAW card data (plain and decrypted SCS_18) decodes to H10301 FC 123 CN 4567', () => {
  for (const id of ['plain.raw.reply', 'sc.sec.raw_scs18']) {
    const r = reply(id);
    assert.ok(r.type === 'RAW', id);
    if (r.type !== 'RAW') continue;
    assert.equal(r.reader, 0);
    assert.equal(r.format, 1);
    assert.equal(r.bitCount, 26);
    const d = decodeWiegand({ bytes: r.data, bitCount: r.bitCount });
    assert.equal(d.bits, '10111101100010001110101110');
    assert.equal(d.candidates[0].format, 'H10301');
    assert.equal(d.candidates[0].fc, 123);
    assert.equal(d.candidates[0].cn, 4567);
    assert.equal(d.candidates[0].parityOk, true);
  }
});

test('KEYPAD digits (plain and SCS_18) are "12#"', () => {
  for (const id of ['plain.keypad.reply', 'sc.sec.keypad_scs18']) {
    const r = reply(id);
    assert.ok(r.type === 'KEYPAD' && keypadText(r.keys) === '12#', id);
  }
});

test('commands: LED, BUZ, OUT, TEXT, MFG, KEYSET, CHLNG fields', () => {
  const led = command('plain.led.cmd');
  assert.ok(led.type === 'LED');
  if (led.type === 'LED') {
    assert.deepEqual(led.records[0], {
      reader: 0,
      led: 0,
      temporary: { control: 2, onTime: 5, offTime: 5, onColor: 2, offColor: 0, timer: 20 },
      permanent: { control: 1, onTime: 1, offTime: 0, onColor: 1, offColor: 0 },
    });
  }
  assert.deepEqual(command('sc.sec.led_scs17'), led);
  assert.deepEqual(command('plain.buz.cmd'), { type: 'BUZ', reader: 0, tone: 2, onTime: 2, offTime: 1, count: 3 });
  assert.deepEqual(command('plain.out.cmd'), { type: 'OUT', records: [{ output: 0, control: 5, timer: 30 }] });
  assert.deepEqual(command('plain.text.cmd'), { type: 'TEXT', reader: 0, command: 1, tempTime: 0, row: 1, column: 1, text: 'Hello OSDP!' });
  assert.deepEqual(command('plain.mfg.cmd'), { type: 'MFG', vendor: 0x007a69, data: hex('010203') });
  assert.deepEqual(command('scbkd.sec.keyset_scs17'), { type: 'KEYSET', keyType: 1, key: hex(V.keys.scbk_set_by_keyset_in_scbkd_capture) });
  assert.deepEqual(command('sc.chlng'), { type: 'CHLNG', rndA: hex('6fbbec79c55527a9') });
  assert.deepEqual(command('plain.id.cmd'), { type: 'ID', replyType: 0 });
  assert.deepEqual(command('plain.poll_ack.cmd'), { type: 'POLL' });
});

function parseError(fn: () => unknown, field: string, offset: number): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof OsdpParseError, String(e));
    assert.equal(e.field, field, e.message);
    assert.equal(e.offset, offset, e.message);
    return true;
  });
}

test('parsers report what is wrong with byte offsets', () => {
  parseError(() => decodeReply(Reply.RAW, hex('00011a00bd88eb')), 'data', 4);
  parseError(() => decodeReply(Reply.RAW, hex('00011a00bd88eb8000')), 'data', 4);
  parseError(() => decodeReply(Reply.RAW, hex('000100')), 'bitCount', 2);
  parseError(() => decodeReply(Reply.PDID, hex('697a0099010403')), 'serial', 5);
  parseError(() => decodeReply(Reply.LSTATR, hex('000000')), 'end', 2);
  parseError(() => decodeReply(Reply.PDCAP, hex('01010402')), 'capabilities', 3);
  parseError(() => decodeReply(Reply.KEYPAD, hex('000531')), 'keys', 2);
  parseError(() => decodeReply(Reply.CCRYPT, Buffer.alloc(31)), 'clientCryptogram', 16);
  parseError(() => decodeReply(0x99, Buffer.alloc(0)), 'code', 0);
  parseError(() => decodeCommand(Cmd.LED, Buffer.alloc(13)), 'records', 0);
  parseError(() => decodeCommand(Cmd.LED, Buffer.alloc(0)), 'records', 0);
  parseError(() => decodeCommand(Cmd.OUT, Buffer.alloc(6)), 'records', 4);
  parseError(() => decodeCommand(Cmd.TEXT, hex('000100010105414243')), 'text', 6);
  parseError(() => decodeCommand(Cmd.POLL, hex('00')), 'end', 0);
  parseError(() => decodeCommand(Cmd.BUZ, hex('00020201')), 'count', 4);
  parseError(() => decodeCommand(0x01, Buffer.alloc(0)), 'code', 0);
});

test('builders reject out-of-range fields with RangeError naming the field', () => {
  assert.throws(() => encodeCommand({ type: 'OUT', records: [{ output: 0, control: 5, timer: 70000 }] }), /records\[0\]\.timer/);
  assert.throws(() => encodeCommand({ type: 'COMSET', address: 127, baud: 9600 }), /address/);
  assert.throws(() => encodeCommand({ type: 'CHLNG', rndA: Buffer.alloc(7) }), /rndA/);
  assert.throws(() => encodeCommand({ type: 'TEXT', reader: 0, command: 1, tempTime: 0, row: 1, column: 1, text: 'é' }), /ASCII/);
  assert.throws(() => encodeReply({ type: 'RAW', reader: 0, format: 1, bitCount: 26, data: Buffer.alloc(3) }), /data/);
  assert.deepEqual(encodeCommand({ type: 'BUZ', reader: 0, tone: 2, onTime: 2, offTime: 1, count: 3 }), { code: 0x6a, data: hex('0002020103') });
});

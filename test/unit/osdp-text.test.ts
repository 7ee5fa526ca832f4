// osdp_TEXT bytes (OSDP v2.2 §6.13): reader, text command, temp time, row, column, length,
// text. Text command 1 = permanent no wrap, 2 = permanent with wrap, 3 = temporary no wrap,
// 4 = temporary with wrap. The permanent frame is checked against the libosdp capture in
// test/vectors/osdp.json; the others against bytes written out from the spec here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCommand } from '../../drivers/osdp/commands.js';
import { encodeFrame } from '../../drivers/osdp/phy/frame.js';
import { encodeCommand } from '../../drivers/osdp/proto/commands.js';
import { hex, osdpVectors } from '../helpers/osdp-vectors.js';

const frameOf = (args: Record<string, unknown>): Buffer => {
  const { code, data } = encodeCommand(buildCommand('text', args as never));
  return encodeFrame({ address: 0x65, reply: false, sqn: 1, useCrc: true, code, data });
};

test('text: permanent text is the captured libosdp frame (command 1)', () => {
  const v = osdpVectors().vectors.find((x) => x.id === 'plain.text.cmd');
  assert.ok(v);
  assert.equal(frameOf({ text: 'Hello OSDP!' }).toString('hex'), v.hex);
});

test('text: data bytes per command code', () => {
  const data = (args: Record<string, unknown>): string => encodeCommand(buildCommand('text', args as never)).data.toString('hex');
  const hello = Buffer.from('Hello OSDP!', 'latin1').toString('hex');
  //            reader cmd  time row col len
  assert.equal(data({ text: 'Hello OSDP!' }), `00 01 00 01 01 0b`.replace(/ /g, '') + hello);
  assert.equal(data({ text: 'Hello OSDP!', wrap: true }), `00 02 00 01 01 0b`.replace(/ /g, '') + hello);
  assert.equal(data({ text: 'Hello OSDP!', durationS: 5 }), `00 03 05 01 01 0b`.replace(/ /g, '') + hello);
  assert.equal(data({ text: 'Hello OSDP!', durationS: 5, wrap: true }), `00 04 05 01 01 0b`.replace(/ /g, '') + hello);
  assert.equal(data({ text: 'Hi', durationS: 30, row: 2, column: 4 }), '00031e020402' + hex('4869').toString('hex'));
});

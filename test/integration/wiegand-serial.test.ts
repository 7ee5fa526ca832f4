// Wiegand-to-serial converter driver over a real socat pty pair: each built-in line
// format and a configured regex become access.card.read; noise lines are counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { SerialBytePort } from '../../drivers/transport/serial.js';
import { wiegandConfigSchema } from '../../drivers/wiegand/config.js';
import { WiegandDriver } from '../../drivers/wiegand/driver.js';
import { encodeWiegand } from '../../drivers/cards/formats.js';
import { parseLine } from '../../drivers/wiegand/lines.js';
import { collectingContext, waitUntil } from '../helpers/driver-context.js';
import { openPtyPair } from '../helpers/pty.js';

async function rig(t: import('node:test').TestContext, extra: Record<string, unknown>) {
  const pty = await openPtyPair();
  const board = new SerialBytePort({ path: pty.b, baudRate: 9600 });
  const c = collectingContext();
  const driver = new WiegandDriver(wiegandConfigSchema.parse({ id: 'gate-w', port: pty.a, ...extra }), c.ctx);
  t.after(async () => {
    await driver.stop();
    await board.close();
    await pty.close();
  });
  await board.open();
  await driver.start();
  return { c, driver, send: (s: string) => board.write(Buffer.from(s, 'latin1')) };
}

test('auto line format: bits, hex with count, decimal; garbage counted; unknown length raw', async (t) => {
  const { c, driver, send } = await rig(t, {});
  const bits26 = encodeWiegand('H10301', { fc: 12, cn: 3456 });
  const bits37 = encodeWiegand('H10304', { fc: 1000, cn: 500_000 });
  await send(`${bits26}\r\n`);
  await send(`37:${BigInt('0b' + bits37).toString(16)}\n`);
  await send('noise ~~~\n77,1234\n');
  await send('10101\n');
  const reads = await waitUntil(() => (c.of('access.card.read').length >= 4 ? c.of('access.card.read') : null), 'four reads');
  assert.deepEqual([reads[0].data.format, reads[0].data.facility, reads[0].data.cardNumber, reads[0].data.parityOk], ['H10301', 12, 3456, true]);
  assert.equal(reads[1].data.bitCount, 37);
  assert.equal(reads[1].data.bits, bits37);
  assert.ok(['H10304', 'H10302'].includes(String(reads[1].data.format)));
  assert.deepEqual([reads[2].data.facility, reads[2].data.cardNumber, reads[2].data.bits], [77, 1234, null]);
  assert.equal(reads[3].data.format, 'unknown');
  assert.equal(reads[3].data.bits, '10101');
  const h = driver.health()[0];
  assert.equal(h.counters.unparsed, 1);
  assert.equal(h.counters.unknownLength, 1);
  assert.equal((await driver.diagnose()).find((d) => d.check === 'last card read')?.verdict, 'pass');
});

test('regex line format with named groups', async (t) => {
  const { c, send } = await rig(t, { lineFormat: 'regex', pattern: '^CARD (?<count>\\d+) (?<hex>[0-9A-F]+)$' });
  const bits = encodeWiegand('H10301', { fc: 1, cn: 2 });
  await send(`CARD 26 ${BigInt('0b' + bits).toString(16).toUpperCase()}\n`);
  const r = await waitUntil(() => c.of('access.card.read')[0], 'regex read');
  assert.equal(r.data.cardNumber, 2);
  assert.throws(() => wiegandConfigSchema.parse({ id: 'x', port: '/dev/null', lineFormat: 'regex', pattern: '^(?<foo>.*)$' }), /named groups/);
});

test('parseLine: built-in formats', () => {
  assert.deepEqual(parseLine('26 0x1', 'hex'), { kind: 'bits', bits: '0'.repeat(25) + '1' });
  assert.equal(parseLine('4 0xff', 'hex'), undefined, 'value wider than the bit count');
  assert.deepEqual(parseLine(' 5/6 ', 'decimal'), { kind: 'decoded', fc: 5, cn: 6 });
  assert.equal(parseLine('0101', 'decimal'), undefined);
});

test('converter unplugged and back: offline, reopened with backoff, online, reads again', async (t) => {
  const pty = await openPtyPair();
  let board = new SerialBytePort({ path: pty.b, baudRate: 9600 });
  const c = collectingContext();
  const driver = new WiegandDriver(wiegandConfigSchema.parse({ id: 'gate-u', port: pty.a, reconnect: { minMs: 50, maxMs: 400 } }), c.ctx);
  let again: Awaited<ReturnType<typeof openPtyPair>> | undefined;
  t.after(async () => {
    await driver.stop();
    await board.close().catch(() => undefined);
    await again?.close();
    await pty.close();
    rmSync(pty.dir, { recursive: true, force: true });
  });
  await board.open();
  await driver.start();
  await waitUntil(() => c.of('access.reader.online').length === 1 || null, 'online at start');
  const bits = encodeWiegand('H10301', { fc: 1, cn: 42 });
  await board.write(Buffer.from(`${bits}\n`, 'latin1'));
  await waitUntil(() => c.of('access.card.read').length === 1 || null, 'first read');

  await board.close();
  await pty.close(); // the converter's USB link vanishes
  const off = await waitUntil(() => c.of('access.reader.offline')[0], 'offline after unplug');
  assert.equal(off.severity, 'warning');
  assert.match(String(off.data.reason), /^serial port lost/);
  assert.equal(off.data.via, 'wiegand-serial');
  assert.equal(driver.health()[0].state, 'offline');

  again = await openPtyPair({ dir: pty.dir });
  board = new SerialBytePort({ path: again.b, baudRate: 9600 });
  await board.open();
  await waitUntil(() => c.of('access.reader.online').length === 2 || null, 'online after re-plug', 20_000);
  await board.write(Buffer.from(`${encodeWiegand('H10301', { fc: 1, cn: 43 })}\n`, 'latin1'));
  const second = await waitUntil(() => c.of('access.card.read')[1], 'a read after re-plug');
  assert.equal(second.data.cardNumber, 43);
  assert.deepEqual(
    c.events.filter((o) => o.type.startsWith('access.reader.')).map((o) => o.type),
    ['access.reader.online', 'access.reader.offline', 'access.reader.online'],
  );
  assert.equal(driver.health()[0].state, 'online');
  assert.equal(c.errors.length, 1, 'the loss reported once through ctx.reportError');
  assert.deepEqual(c.schemaErrors, []);
});

// The reconnecting link over a real pty (socat): a converter that keeps dropping off the
// bus is announced online/offline three times, then once as flapping, then held down in
// silence; a session that proves itself (a line arrives) is announced online once.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { SerialBytePort } from '../../drivers/transport/serial.js';
import { wiegandConfigSchema } from '../../drivers/wiegand/config.js';
import { WiegandDriver } from '../../drivers/wiegand/driver.js';
import { encodeWiegand } from '../../drivers/cards/formats.js';
import { collectingContext, waitUntil } from '../helpers/driver-context.js';
import { openPtyPair, type PtyPair } from '../helpers/pty.js';

test('converter unplugged and re-plugged five times: 3 online + 3 offline (the last flapping), silence, then one online when a card is read', { timeout: 60_000 }, async (t) => {
  let pty: PtyPair = await openPtyPair();
  const dir = pty.dir;
  const c = collectingContext();
  const driver = new WiegandDriver(
    wiegandConfigSchema.parse({ id: 'gate-f', port: pty.a, reconnect: { minMs: 30, maxMs: 200, minStableMs: 60_000, flapCount: 3, holdMs: 300 } }),
    c.ctx,
  );
  t.after(async () => {
    await driver.stop();
    await pty.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await driver.start();
  const reader = (): string[] => c.events.filter((o) => o.type.startsWith('access.reader.')).map((o) => `${o.type.split('.').pop()}${o.data.flapping ? '(flapping)' : ''}`);
  let opens = 1;
  for (let i = 0; i < 5; i++) {
    await pty.close(); // unplug
    await waitUntil(() => driver.health()[0].counters.linkLosses === i + 1 || null, `port lost #${i + 1}`);
    pty = await openPtyPair({ dir }); // re-plug at the same path
    await waitUntil(() => driver.health()[0].counters.linkSessions === i + 2 || null, `port reopened #${i + 1}`, 20_000);
    opens += 1;
  }
  assert.equal(opens, 6);
  assert.deepEqual(reader(), ['online', 'offline', 'online', 'offline', 'online', 'offline(flapping)']);
  const notice = c.of('access.reader.offline')[2];
  assert.equal(notice.data.holdMs, 300);
  assert.equal(notice.data.losses, 3);

  // The line proves itself: a card read arrives over the reopened port → one online with downMs.
  const board = new SerialBytePort({ path: pty.b, baudRate: 9600 });
  await board.open();
  await board.write(Buffer.from(`${encodeWiegand('H10301', { fc: 1, cn: 7 })}\n`, 'latin1'));
  await waitUntil(() => c.of('access.card.read').length === 1 || null, 'card read');
  await waitUntil(() => reader().length === 7 || null, 'online after the proven session');
  await board.close();
  assert.equal(reader()[6], 'online');
  assert.equal(typeof c.of('access.reader.online')[3].data.downMs, 'number');
  assert.deepEqual(c.schemaErrors, []);
});

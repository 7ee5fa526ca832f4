// osdp_TEXT (OSDP v2.2 §6.13) against the test PD over a socat pty pair: the text command
// codes on the wire (1 permanent, 2 permanent with wrap, 3 temporary, 4 temporary with
// wrap) and the PDCAP gate (function 6, reader text output; 8 is check character support):
// a reader without a display is refused before the wire, as a signed command rejection
// (system.command.rejected, reason "unsupported") through the real command handler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { pino } from 'pino';
import type { JsonObject } from '../../agent/events/types.js';
import { createCommandHandler } from '../../agent/commands/handler.js';
import { jcs } from '../../agent/chain/jcs.js';
import { startRig } from '../helpers/osdp-harness.js';
import { waitUntil } from '../helpers/driver-context.js';

test('text: temporary text is command 3 (4 with wrap), permanent 1 (2 with wrap), in clear and in the secure channel', async (t) => {
  for (const secure of [false, true]) {
    const K = Buffer.alloc(16, 0x42);
    const rig = await startRig(
      { readers: [{ id: 'lcd-1', address: 12, ...(secure ? { scbk: K.toString('hex') } : {}) }] },
      [{ address: 12, text: true, ...(secure ? { scbk: K, enforceSecure: true } : {}) }],
    );
    t.after(() => rig.close());
    await waitUntil(() => rig.c.of('access.reader.online')[0], 'online');
    const cases: Array<[JsonObject, number, number]> = [
      [{ text: 'Welcome' }, 1, 0],
      [{ text: 'Welcome', wrap: true }, 2, 0],
      [{ text: 'Access granted', durationS: 5 }, 3, 5],
      [{ text: 'Access granted', durationS: 5, wrap: true }, 4, 5],
    ];
    for (const [args, command, tempTime] of cases) {
      const r = await rig.driver.command('text', args);
      assert.equal(r.ok, true, `${JSON.stringify(args)}: ${r.detail}`);
      const got = rig.peer.pd.commandsOf('TEXT').at(-1);
      assert.equal(got?.command, command, `${JSON.stringify(args)} → text command ${command}`);
      assert.equal(got?.tempTime, tempTime);
      assert.equal(got?.text, args.text);
    }
    assert.ok(rig.peer.pd.received.filter((x) => x.cmd.type === 'TEXT').every((x) => x.secure === secure));
    await rig.close();
  }
});

test('text: a reader without a display (no PDCAP function 6) is refused before the wire with a signed rejection', async (t) => {
  const rig = await startRig({ readers: [{ id: 'plain-1', address: 13 }] }, [{ address: 13 }]);
  t.after(() => rig.close());
  await waitUntil(() => rig.c.of('access.reader.online')[0], 'online');
  // The PD's PDCAP carries function 8 (check character support, 1 = CRC) but not 6.

  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const system: Array<{ type: string; data: JsonObject }> = [];
  const results: string[] = [];
  const handler = createCommandHandler({
    publicKey,
    maxSkewMs: 60_000,
    seen: { has: () => false, add: () => undefined } as never,
    pipeline: { system: (type: string, _sev: string, data: JsonObject) => void system.push({ type, data }) } as never,
    deviceCommand: (name, args, target) => rig.driver.command(name, args, target),
    builtins: {},
    publishResult: (payload) => void results.push(payload),
    log: pino({ level: 'silent' }),
  });
  const now = Date.now();
  const body = { cmd: 'text', id: 'c0ffee00-0000-4000-8000-000000000001', iat: new Date(now).toISOString(), exp: new Date(now + 60_000).toISOString(), target: 'plain-1', args: { text: 'hi', durationS: 3 } };
  const sig = sign(null, Buffer.from(jcs(body)), privateKey).toString('base64url');
  handler({ name: 'text', payload: Buffer.from(JSON.stringify({ body, sig })) } as never);
  const rejected = await waitUntil(() => system.find((e) => e.type === 'system.command.rejected'), 'rejection');
  assert.equal(rejected.data.reason, 'unsupported');
  assert.match(String(rejected.data.detail), /plain-1.*no text display.*function 6/);
  assert.equal(rig.peer.pd.commandsOf('TEXT').length, 0, 'nothing went on the wire');
  assert.ok(results.some((r) => (JSON.parse(r) as { ok: boolean; error?: string }).error === 'unsupported'));
});

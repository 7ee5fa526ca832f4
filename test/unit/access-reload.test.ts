// A reloaded `access:` config (agent/access/config.ts reloadAccess, AccessEngine.reconfigure):
// what applies at once (doors, rules, time zone, incident settings), what waits for a
// restart (enabled, database, cardKey), and what a reload keeps (credential list,
// lockdown, open incidents, tamper times, a card waiting for its PIN).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { accessConfigSchema, reloadAccess } from '../../agent/access/config.js';
import { startAccess } from '../../agent/access/index.js';
import type { JsonObject } from '../../agent/events/types.js';
import { correlatingPipeline } from '../helpers/correlating-pipeline.js';
import { tempDir } from '../helpers/chain.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const T0 = Date.parse('2030-01-02T09:00:00Z');

const BASE = {
  enabled: true,
  rules: { nonSecureRead: 'alarm', tamperRecent: 'alarm', networkIncident: 'alarm' },
  doors: [{ id: 'front', readers: ['rdr-1'], strike: { osdpReader: 'rdr-1' } }],
};

test('reloadAccess: doors and rules apply now; enabled, database and cardKey wait for a restart', () => {
  const cur = accessConfigSchema.parse(BASE);
  const same = reloadAccess(cur, accessConfigSchema.parse(BASE));
  assert.deepEqual([same.changed, same.needRestart], [[], false]);
  const next = accessConfigSchema.parse({ ...BASE, enabled: false, database: '/elsewhere.db', timezone: 'Europe/Berlin', doors: [{ ...BASE.doors[0], rules: { nonSecureRead: 'deny' } }] });
  const r = reloadAccess(cur, next);
  assert.deepEqual(r.changed.sort(), ['doors', 'timezone']);
  assert.equal(r.needRestart, true);
  assert.deepEqual([r.apply.enabled, r.apply.database, r.apply.timezone, r.apply.doors[0].rules.nonSecureRead], [true, undefined, 'Europe/Berlin', 'deny'], 'the running restart-only values, the new rest');
});

test('reconfigure: the next read uses the new doors and rules; list, lockdown, incidents, tamper and a pending PIN are kept', async () => {
  const dir = tempDir('gw-access-reload-');
  dirs.push(dir);
  const { pipe, sunk } = correlatingPipeline();
  const now = T0;
  const rt = startAccess({
    config: accessConfigSchema.parse(BASE),
    stateDir: dir,
    pipeline: pipe,
    route: async () => ({ ok: true }),
    clock: { now: () => now, mono: () => now - T0 },
    log: pino({ level: 'silent' }),
  });
  const put = await rt.builtins['access.credentials.put']({
    version: 3,
    groups: { staff: { doors: ['front', 'back'] } },
    credentials: [
      { id: 'alice', card: { format: 'H10301', facility: 1, number: 1 }, groups: ['staff'] },
      { id: 'dave', card: { format: 'H10301', facility: 1, number: 2 }, groups: ['staff'], pin: '4711' },
    ],
  });
  assert.equal(put.ok, true, put.detail);
  const read = (reader: string, cn: number, secure: boolean): void =>
    void pipe.ingest('osdp', { type: 'access.card.read', severity: 'info', device: reader, data: { reader, format: 'H10301', facility: 1, cardNumber: cn, bitCount: 26, parityOk: true, secure } });
  const decision = (): JsonObject & { type: string } => {
    const e = sunk.filter((x) => x.body.type === 'access.card.granted' || x.body.type === 'access.card.denied').at(-1)!;
    return { type: e.body.type, ...e.body.data };
  };

  pipe.ingest('osdp', { type: 'access.reader.tamper', severity: 'alarm', device: 'rdr-1', data: { reader: 'rdr-1', tamper: true } });
  pipe.ingest('netwatch', { type: 'network.gateway.claimed', severity: 'alarm', device: 'lan', data: {} });
  read('rdr-1', 2, true); // dave: waits for his PIN across the reload
  assert.equal(await rt.builtins['access.lockdown']({ reason: 'drill' }).then((r) => r.ok), true);
  const health = rt.engine.health();

  rt.engine.reconfigure(
    accessConfigSchema.parse({
      ...BASE,
      rules: { nonSecureRead: 'deny', tamperRecent: 'alarm', networkIncident: 'alarm' },
      doors: [...BASE.doors, { id: 'back', readers: ['rdr-2'], strike: { osdpReader: 'rdr-2' }, rules: { nonSecureRead: 'allow' } }],
    }),
  );
  const kept = rt.engine.health();
  assert.deepEqual([kept.listVersion, kept.credentials, kept.lockdown, kept.incidents], [health.listVersion, health.credentials, health.lockdown, health.incidents]);
  assert.equal(kept.doors, 2);
  assert.deepEqual(kept.incidents, ['network.gateway.claimed@lan']);

  // The pending PIN completes as it would have: granted with the alarms of its read.
  pipe.ingest('osdp', { type: 'access.keypad', severity: 'info', device: 'rdr-1', data: { reader: 'rdr-1', policy: 'hash', length: 4, hmac: pinHmac(dir, '4711#') } });
  assert.deepEqual([decision().type, decision().credential, decision().pin], ['access.card.granted', 'dave', true]);

  // Lockdown survived the reload.
  read('rdr-2', 1, false);
  assert.deepEqual([decision().type, decision().reason, decision().door], ['access.card.denied', 'lockdown', 'back']);
  await rt.builtins['access.release']({});
  // The new gateway-wide default denies a plain read at front; the new door's own rule allows it (tamper/incident alarms kept).
  read('rdr-1', 1, false);
  assert.deepEqual([decision().type, decision().reason], ['access.card.denied', 'reader-not-secure']);
  read('rdr-2', 1, false);
  assert.deepEqual([decision().type, decision().door, decision().alarms], ['access.card.granted', 'back', ['network-incident']]);
  read('rdr-1', 1, true);
  assert.deepEqual([decision().type, decision().alarms], ['access.card.granted', ['tamper-recent', 'network-incident']], 'tamper time kept');
  rt.stop();
});

/** What a reader on pinPolicy hash reports for `typed` (drivers/osdp/cp/card.ts). */
function pinHmac(dir: string, typed: string): string {
  const key = Buffer.from(readFileSync(join(dir, 'osdp-pin.key'), 'utf8').trim(), 'base64');
  return createHmac('sha256', key).update(typed).digest('base64url');
}

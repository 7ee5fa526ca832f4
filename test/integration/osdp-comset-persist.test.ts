// A reader moved by osdp_COMSET (OSDP v2.2 §6.14) survives a daemon restart: the driver
// records the verified move in <stateDir>/osdp-comset.json and, while the config still names
// the old address/baud, a new driver instance polls the reader where it now answers (with a
// warning and a diag warn telling the installer to update the config). A config that names
// the new settings, or anything else, wins and the record is dropped.
// Real driver, real test PD on a socat pty pair; the PD stays up across driver restarts,
// as a reader on an RS-485 line does while the gateway restarts. Every wait polls for a
// condition; no timing assertions.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { osdpConfigSchema } from '../../drivers/osdp/config.js';
import { OsdpDriver } from '../../drivers/osdp/driver.js';
import { systemClock } from '../../agent/clock.js';
import { encodeWiegand } from '../../drivers/cards/formats.js';
import { collectingContext, waitUntil, type CollectingContext } from '../helpers/driver-context.js';
import { captureLog, type CapturedLog } from '../helpers/mqtt-probe.js';
import { openPtyPair } from '../helpers/pty.js';
import { startPdBus, type OsdpPd, type PdBus, type PdOptions } from '../peers/osdp-pd.js';

const TIMEOUT = 120_000;

interface Line {
  stateDir: string;
  file: string;
  peer: PdBus & { pd: OsdpPd };
  /** Start a driver instance on the line (the "daemon"); stopped by the next stop() or at teardown. */
  start(readers: Array<Record<string, unknown>>, baud?: number): Promise<Instance>;
}

interface Instance {
  driver: OsdpDriver;
  c: CollectingContext;
  logs: CapturedLog;
  stop(): Promise<void>;
}

/** One pty line with the PD peer on it and a state dir that outlives driver instances. */
async function line(t: TestContext, pds: PdOptions[]): Promise<Line> {
  const stateDir = mkdtempSync(join(tmpdir(), 'gw-osdp-comset-'));
  const pty = await openPtyPair();
  const running = new Set<Instance>();
  let peer: (PdBus & { pd: OsdpPd }) | undefined;
  t.after(async () => {
    for (const i of running) await i.stop();
    await peer?.close().catch(() => undefined);
    await pty.close();
    rmSync(stateDir, { recursive: true, force: true });
  });
  peer = await startPdBus(pty.b, pds);
  return {
    stateDir,
    file: join(stateDir, 'osdp-comset.json'),
    peer,
    async start(readers, baud = 115200) {
      const c = collectingContext(systemClock, stateDir);
      const logs = captureLog('info');
      c.ctx.log = logs.log;
      const config = osdpConfigSchema.parse({ id: 'bus1', port: pty.a, baud, offlineAfterMs: 2000, keyStore: join(stateDir, 'osdp-keys.json'), readers });
      const driver = new OsdpDriver(config, c.ctx);
      const inst: Instance = {
        driver,
        c,
        logs,
        stop: async () => {
          if (!running.delete(inst)) return;
          c.abort.abort();
          await driver.stop();
          assert.deepEqual(c.schemaErrors, [], 'observations match docs/events.schema.json');
        },
      };
      running.add(inst);
      await driver.start();
      return inst;
    },
  };
}

function health(i: Instance, device: string): Record<string, string | number> & { state: string } {
  const h = i.driver.health().find((x) => x.device === device);
  assert.ok(h, `health of ${device}`);
  return { ...(h.info ?? {}), state: h.state };
}

async function overrideDiag(i: Instance): Promise<Array<{ verdict: string; detail: string; hint?: string }>> {
  return (await i.driver.diagnose()).filter((d) => d.check === 'config matches reader');
}

function stored(file: string): Record<string, Record<string, unknown>> {
  return (JSON.parse(readFileSync(file, 'utf8')) as { readers: Record<string, Record<string, unknown>> }).readers;
}

async function onlineAt(i: Instance, id: string, address: number): Promise<void> {
  const ev = await waitUntil(() => i.c.of('access.reader.online', id)[0], `${id} online`);
  assert.equal(ev.data.address, address, `${id} came online at address ${address}`);
}

async function cardAt(l: Line, i: Instance, id: string, address: number, cn: number): Promise<void> {
  const before = i.c.of('access.card.read', id).length;
  const pd = l.peer.find(address);
  assert.ok(pd, `a PD answers at ${address}`);
  pd.presentCard(encodeWiegand('H10301', { fc: 42, cn }));
  const card = await waitUntil(() => i.c.of('access.card.read', id)[before], `card ${cn} on ${id}`);
  assert.equal(card.data.cardNumber, cn);
  assert.equal(card.data.address, address);
}

function logged(i: Instance, level: 'warn' | 'info', re: RegExp): boolean {
  const n = level === 'warn' ? 40 : 30;
  return i.logs.records.some((r) => r.level === n && re.test(String(r.msg)));
}

test('COMSET 5→9 survives a restart with the old config; a config naming 9 drops the override', { timeout: TIMEOUT }, async (t) => {
  const l = await line(t, [{ address: 5 }]);
  const old = [{ id: 'door-1', address: 5 }];

  // First daemon run: move the reader.
  const a = await l.start(old);
  await onlineAt(a, 'door-1', 5);
  const res = await a.driver.command('comset', { address: 9, baud: 19200 });
  assert.equal(res.ok, true, res.detail);
  assert.match(res.detail ?? '', /kept across restarts/);
  assert.match(res.detail ?? '', /update the config .*readers\[0\]\.address: 9, baud: 19200/);
  assert.equal(l.peer.pd.address, 9);
  assert.equal(statSync(l.file).mode & 0o777, 0o600);
  const rec = stored(l.file)['bus1/door-1'];
  assert.deepEqual({ ...rec, at: typeof rec.at }, { address: 9, baud: 19200, configAddress: 5, configBaud: 115200, at: 'string' });
  assert.ok(!Number.isNaN(Date.parse(String(rec.at))), 'at is a timestamp');
  assert.equal((await overrideDiag(a))[0]?.verdict, 'warn', 'the running instance already warns');
  assert.deepEqual(a.c.errors, []);
  await a.stop();

  // Restart with the unchanged (old) config: the reader is found at 9 without any command.
  const b = await l.start(old);
  await onlineAt(b, 'door-1', 9);
  assert.equal(l.peer.pd.commandsOf('COMSET').length, 1, 'no COMSET was needed to find it');
  assert.equal(health(b, 'door-1').address, 9);
  assert.equal(health(b, 'door-1').configAddress, 5);
  assert.match(String(health(b, 'door-1').comsetOverride), /address 9, 19200 baud/);
  assert.equal(health(b, 'bus1').baud, 19200, 'the bus speed follows (one reader on the bus)');
  assert.equal(health(b, 'bus1').configBaud, 115200);
  await cardAt(l, b, 'door-1', 9, 5001);
  const warn = await overrideDiag(b);
  assert.equal(warn.length, 1);
  assert.equal(warn[0].verdict, 'warn');
  assert.match(warn[0].detail, /address 9, 19200 baud.*config still says address 5, 115200 baud/);
  assert.match(warn[0].hint ?? '', /drivers\.osdp entry with id "bus1".*readers\[0\]\.address: 9, baud: 19200/);
  assert.ok(logged(b, 'warn', /using address 9, 19200 baud instead of the configured address 5, 115200 baud; update the config/), b.logs.text());
  assert.ok(existsSync(l.file) && stored(l.file)['bus1/door-1'], 'the override stays while the config is old');
  assert.deepEqual(b.c.errors, []);
  await b.stop();

  // The installer updated the config: the config wins, the override goes, no warning.
  const c = await l.start([{ id: 'door-1', address: 9 }], 19200);
  await onlineAt(c, 'door-1', 9);
  assert.equal(health(c, 'bus1').baud, 19200);
  assert.equal(health(c, 'bus1').configBaud, undefined);
  assert.equal(health(c, 'door-1').comsetOverride, undefined);
  assert.deepEqual(await overrideDiag(c), []);
  assert.ok(!(await c.driver.diagnose()).some((d) => d.verdict === 'warn' && d.check !== 'last card read'), 'no warn but the card one');
  assert.ok(logged(c, 'info', /COMSET override .* dropped: the config now says address 9, 19200 baud/), c.logs.text());
  assert.equal(c.logs.records.filter((r) => r.level >= 40).length, 0, 'nothing logged at warn');
  assert.equal(stored(l.file)['bus1/door-1'], undefined);
  await cardAt(l, c, 'door-1', 9, 5002);
  assert.deepEqual(c.c.errors, []);
});

test('a config changed to a third setting wins over the override', { timeout: TIMEOUT }, async (t) => {
  const l = await line(t, [{ address: 5 }]);
  const a = await l.start([{ id: 'door-1', address: 5 }]);
  await onlineAt(a, 'door-1', 5);
  const res = await a.driver.command('comset', { address: 9, baud: 115200 });
  assert.equal(res.ok, true, res.detail);
  assert.doesNotMatch(res.detail ?? '', /baud: /, 'the hint names only what differs from the config');
  assert.ok(stored(l.file)['bus1/door-1']);
  await a.stop();

  // On site, the installer re-addressed the reader to 12 and wrote 12 into the config.
  l.peer.pd.address = 12;
  const b = await l.start([{ id: 'door-1', address: 12 }]);
  await onlineAt(b, 'door-1', 12);
  assert.ok(logged(b, 'info', /dropped: the config changed to address 12, 115200 baud since it was made \(it was address 5, 115200 baud\); the config wins/), b.logs.text());
  assert.equal(stored(l.file)['bus1/door-1'], undefined);
  assert.deepEqual(await overrideDiag(b), []);
  assert.equal(health(b, 'door-1').comsetOverride, undefined);
  await cardAt(l, b, 'door-1', 12, 6001);
  assert.deepEqual(b.c.errors, []);
});

test('an unreadable override file is moved aside and reported; the config is used', { timeout: TIMEOUT }, async (t) => {
  const l = await line(t, [{ address: 5 }]);
  writeFileSync(l.file, '{"v": 1, "readers": {"bus1/door-1": {"address": 900}}}\n');
  const a = await l.start([{ id: 'door-1', address: 5 }]);
  await onlineAt(a, 'door-1', 5);
  assert.equal(a.c.errors.length, 1);
  assert.match(a.c.errors[0].err.message, /not an OSDP comset store.*moved to .*osdp-comset\.json\.corrupt-\d+/);
  assert.equal(existsSync(l.file), false);
  assert.equal(readdirSync(l.stateDir).filter((f) => f.startsWith('osdp-comset.json.corrupt-')).length, 1, 'kept, not deleted');
  assert.deepEqual(await overrideDiag(a), []);
  // The store works again after the move.
  const res = await a.driver.command('comset', { address: 9, baud: 115200 });
  assert.equal(res.ok, true, res.detail);
  assert.equal(stored(l.file)['bus1/door-1']?.address, 9);
});

// Access decision benchmark (not a test). Figures:
//   1. lookup + decision cost per read vs credential list size (1k / 10k / 50k) — the
//      store is keyed by card hash, so the curve should be flat;
//   2. card read on the wire → osdp_OUT on the wire, with a 50,000-card list, the real
//      OSDP driver (CP) over a socat pty at 115200 baud against the project's PD peer in a
//      child process (both clocks on the PD side of the line); a pty has no baud timing, so
//      the wire time of a real line is computed and added, as in scripts/bench/osdp.ts;
//   3. decision → its signed event committed in the spool (chain, Ed25519 worker, group
//      commit, synchronous=FULL), reported separately.
// Run: node --import tsx scripts/bench/access.ts [reads, default 200]
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { accessConfigSchema } from '../../agent/access/config.js';
import { startAccess } from '../../agent/access/index.js';
import { CredentialStore } from '../../agent/access/store.js';
import { toRows } from '../../agent/access/credentials.js';
import { systemClock } from '../../agent/clock.js';
import { createEventPath } from '../../agent/event-path.js';
import { openSqliteSpool } from '../../agent/spool/sqlite-spool.js';
import { encodeWiegand } from '../../drivers/cards/formats.js';
import { osdpConfigSchema } from '../../drivers/osdp/config.js';
import { OsdpDriver } from '../../drivers/osdp/driver.js';
import { cardHash, loadOrCreateCardKey } from '../../agent/access/card-key.js';
import { readIdentities } from '../../agent/access/identity.js';
import type { SealedEvent } from '../../agent/chain/chain.js';
import { tempDir, testKeys } from '../../test/helpers/chain.js';
import { openPtyPair } from '../../test/helpers/pty.js';

const READS = Number(process.argv[2] ?? 200);
const silent = pino({ level: 'silent' });
const PD = fileURLToPath(new URL('./access-pd.ts', import.meta.url));
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const CONFIG = { enabled: true, doors: [{ id: 'front', readers: ['r1'], strike: { osdpReader: 'r1', output: 0 }, pulseMs: 1000 }] };
const POLICY = { schedules: {}, groups: { staff: { doors: ['front'] } } };

function fill(dir: string, n: number): void {
  const key = loadOrCreateCardKey(join(dir, 'access-card.key'));
  const store = new CredentialStore(join(dir, 'access.db'));
  const creds = Array.from({ length: n }, (_, i) => ({ id: `c${i}`, card: { format: 'H10301', facility: 1 + (i >> 16), number: i & 0xffff }, groups: ['staff'] }));
  store.put(1, 1, 1, POLICY, toRows(creds, key, null, 'credentials'));
  store.close();
}

async function eventPath(dir: string) {
  const { spool } = openSqliteSpool({ path: join(dir, 'spool.db'), quotaBytes: 256 * 1024 * 1024, retentionHours: 1, log: silent });
  const path = createEventPath({ site: 'b', gw: 'b', keys: testKeys(dir), head: null, clock: systemClock, spool, batch: { maxEvents: 500, maxDelayMs: 5 }, checkpoint: { everyEvents: 1000, everySeconds: 300 }, signingWorker: true, log: silent });
  path.pipeline.sinkSealed(path.chain.newEpoch('fresh', null));
  return { spool, path };
}

console.log('Access decision benchmark');
console.log('1. lookup + decision per read (in process, sealed events to the spool):');
for (const n of [1000, 10_000, 50_000]) {
  const dir = tempDir('gw-bench-access-');
  fill(dir, n);
  const { spool, path } = await eventPath(dir);
  const rt = startAccess({ config: accessConfigSchema.parse(CONFIG), stateDir: dir, pipeline: path.pipeline, route: async () => ({ ok: true }), clock: systemClock, log: silent });
  const lookupUs: number[] = [];
  const us: number[] = [];
  const key = loadOrCreateCardKey(join(dir, 'access-card.key'));
  for (let i = 0; i < 3000; i++) {
    const cn = (i * 7919) % n;
    const data = { reader: 'r1', format: 'H10301', facility: 1 + (cn >> 16), cardNumber: cn & 0xffff, bitCount: 26, parityOk: true, secure: true };
    let t0 = performance.now();
    const hit = rt.store.lookup(readIdentities(data).map((id) => cardHash(key, id)));
    lookupUs.push((performance.now() - t0) * 1000);
    if (!hit) throw new Error(`card ${cn} not found`);
    t0 = performance.now();
    path.pipeline.ingest('osdp', { type: 'access.card.read', severity: 'info', device: 'r1', data });
    us.push((performance.now() - t0) * 1000);
  }
  console.log(`   ${String(n).padStart(6)} cards: lookup (HMACs + indexed SELECT) p50 ${pct(lookupUs, 50).toFixed(1)} µs, p99 ${pct(lookupUs, 99).toFixed(1)} µs; read sealed + decided + decision sealed p50 ${pct(us, 50).toFixed(0)} µs, p99 ${pct(us, 99).toFixed(0)} µs`);
  await path.close();
  rt.stop();
  spool.close();
  rmSync(dir, { recursive: true, force: true });
}

console.log(`2./3. card read on the wire → osdp_OUT on the wire; decision → committed (50,000 cards, ${READS} reads, 115200 baud pty):`);
const dir = tempDir('gw-bench-access-');
fill(dir, 50_000);
const pty = await openPtyPair();
const pd = spawn(process.execPath, ['--import', 'tsx', PD, pty.b], { stdio: ['pipe', 'pipe', 'inherit'] });
let pdOut = '';
pd.stdout.on('data', (d: Buffer) => (pdOut += d.toString()));
while (!pdOut.includes('READY')) await new Promise((r) => setTimeout(r, 20));
const { spool, path } = await eventPath(dir);
const driverRef: { d?: OsdpDriver } = {};
const committedMs: number[] = [];
const rt = startAccess({
  config: accessConfigSchema.parse(CONFIG),
  stateDir: dir,
  pipeline: {
    addListener: (l) => path.pipeline.addListener(l as (e: SealedEvent) => void),
    ingest: (driver, obs) => {
      const e = path.pipeline.ingest(driver, obs);
      if (obs.type === 'access.card.granted') {
        const t0 = performance.now();
        const seq = e.body.seq;
        const poll = (): void => {
          if ((spool.head()?.seq ?? 0) >= seq) committedMs.push(performance.now() - t0);
          else setImmediate(poll);
        };
        poll();
      }
      return e;
    },
  },
  route: (name, args, target) => driverRef.d!.command(name, args, target),
  clock: systemClock,
  log: silent,
});
const cfg = osdpConfigSchema.parse({ id: 'bus', port: pty.a, baud: 115200, pollIntervalMs: 0, keyStore: join(dir, 'k.json'), readers: [{ id: 'r1', address: 1 }] });
const driver = new OsdpDriver(cfg, { emit: (o) => void path.pipeline.ingest('osdp', o), reportError: () => undefined, log: silent, clock: systemClock, signal: new AbortController().signal, stateDir: dir });
driverRef.d = driver;
await driver.start();
while (!driver.health().some((h) => h.device === 'r1' && h.state === 'online')) await new Promise((r) => setTimeout(r, 20));
for (let i = 0; i < READS; i++) {
  const cn = (i * 7919) % 50_000;
  pd.stdin.write(`card ${encodeWiegand('H10301', { fc: 1 + (cn >> 16), cn: cn & 0xffff })}\n`);
  await new Promise((r) => setTimeout(r, 60));
}
pd.stdin.write('report\n');
while (!pdOut.includes('REPORT')) await new Promise((r) => setTimeout(r, 20));
const lat = JSON.parse(pdOut.slice(pdOut.indexOf('REPORT') + 7).split('\n')[0]) as number[];
// Wire time a real 115200 8N1 line adds: the RAW reply (~20 bytes), the CP's next POLL+ACK
// turn at most (8 + 9 bytes) before the OUT, and the OUT frame itself (~13 bytes), 10 bits a byte.
const wireMs = ((20 + 17 + 13) * 10 * 1000) / 115200;
console.log(`   read→OUT on the pty: n=${lat.length}/${READS}, p50 ${pct(lat, 50).toFixed(2)} ms, p99 ${pct(lat, 99).toFixed(2)} ms, max ${Math.max(...lat).toFixed(2)} ms; + wire time at 115200 ≈ ${wireMs.toFixed(2)} ms (budget: p99 ≤ 100 ms + wire)`);
console.log(`   decision → signed event committed: n=${committedMs.length}, p50 ${pct(committedMs, 50).toFixed(2)} ms, p99 ${pct(committedMs, 99).toFixed(2)} ms`);
await driver.stop();
pd.stdin.end();
pd.kill('SIGKILL');
await pty.close();
await path.close();
rt.stop();
spool.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);

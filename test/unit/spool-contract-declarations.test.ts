// The quota's declarations (docs/contracts.md §Spool "Nothing is dropped silently",
// docs/architecture.md "Evidence classes and the quota", agent/spool/evict.ts) as part of the
// spool contract, run against every implementation (test/helpers/spool-impls.ts) through the
// interface only: epoch announcements and write-failure records are never evicted unsent;
// checkpoints and overflow records leave only after everything else, or past their share,
// and come back as drops to re-declare; every drop stays owed until an overflow record
// declares it; a batch of declarations alone uses the headroom instead of dropping more.
// SQLite-only details (rows in the file, owed drops replayed at open after a kill) are in
// test/unit/spool-declarations.test.ts.
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { Chain, SealedEvent } from '../../agent/chain/chain.js';
import type { Severity } from '../../agent/events/types.js';
import { dropRanges } from '../../agent/spool/evict.js';
import { rowBytes } from '../../agent/spool/schema.js';
import type { DroppedRange } from '../../agent/spool/types.js';
import { tempDir, testChain, testKeys } from '../helpers/chain.js';
import { SPOOL_IMPLEMENTATIONS, type ContractSpool, type OpenOptions, type OpenSpool } from '../helpers/spool-impls.js';

const KEYS_DIR = tempDir('gw-decl-keys-');
const KEYS = testKeys(KEYS_DIR);
after(() => rmSync(KEYS_DIR, { recursive: true, force: true }));

function ev(chain: Chain, type: string, severity: Severity, data: Record<string, unknown> = {}): SealedEvent {
  return chain.seal({ driver: 'test', device: 'dev-1', type, severity, data: data as never });
}
const door = (chain: Chain, i: number): SealedEvent => ev(chain, 'access.door.forced', 'alarm', { i, pad: 'x'.repeat(300) });
const overflow = (chain: Chain, dropped: DroppedRange[]): SealedEvent =>
  ev(chain, 'system.spool.overflow', 'alarm', { reason: 'quota', count: dropped.reduce((k, r) => k + r.to - r.from + 1, 0), part: 1, parts: 1, dropped: dropped.map((r) => ({ ...r })) });
const bytesOf = (evs: readonly SealedEvent[]): number => evs.reduce((k, e) => k + rowBytes(e.payload), 0);
const seqsOf = (rs: readonly DroppedRange[]): number[] => rs.flatMap((r) => Array.from({ length: r.to - r.from + 1 }, (_, i) => r.from + i));
const stored = (s: ContractSpool, epoch: string): number[] => s.readRange(epoch, 1, 10_000).map((r) => r.seq);
const owed = (s: ContractSpool): DroppedRange[] => dropRanges([], s.pendingDrops().flatMap((p) => p.ranges));

function declarationContract(name: string, openSpool: OpenSpool): void {
  describe(`spool contract, declarations: ${name}`, () => {
    /** A spool in a scratch dir; reopen() continues what it committed (the dir's file or store). */
    const open = (t: TestContext, o: OpenOptions): ContractSpool & { reopen(o2: OpenOptions): ContractSpool } => {
      const dir = tempDir('gw-decl-');
      const opened: ContractSpool[] = [];
      t.after(() => {
        for (const s of opened) s.close();
        rmSync(dir, { recursive: true, force: true });
      });
      const reopen = (o2: OpenOptions): ContractSpool => {
        const s = openSpool(dir, o2);
        opened.push(s);
        return s;
      };
      return Object.assign(reopen(o), { reopen });
    };
    const newEpoch = (): { chain: Chain; epoch: SealedEvent; e: string } => {
      const chain = testChain({ keys: KEYS });
      const epoch = chain.newEpoch('fresh', null);
      return { chain, epoch, e: epoch.body.epoch };
    };

    test('unsent declarations and chain events outlive every other event, even alarms', (t) => {
      const { chain, epoch, e } = newEpoch();
      const first = [epoch, ...Array.from({ length: 9 }, (_, i) => door(chain, i))];
      const cp = chain.checkpoint('count');
      const wf = ev(chain, 'system.spool.write_failed', 'alarm', { attempts: 3 });
      const decl = overflow(chain, [{ epoch: e, from: 2, to: 3 }]);
      const quota = bytesOf([epoch, cp, wf, decl]) + 4 * rowBytes(first[1].payload) + 50;
      const spool = open(t, { quotaBytes: quota });
      const dropped: DroppedRange[] = [...spool.append([...first, cp, wf, decl]).dropped];
      for (let b = 0; b < 5; b++) dropped.push(...spool.append(Array.from({ length: 3 }, (_, i) => door(chain, 100 + b * 3 + i))).dropped);
      const kept = stored(spool, e);
      for (const s of [epoch, cp, wf, decl]) assert.ok(kept.includes(s.body.seq), `${s.body.type} (seq ${s.body.seq}) was evicted`);
      const droppedSeqs = seqsOf(dropped);
      assert.equal(droppedSeqs.length, 20, 'every door but the last four went (24 − 4), each reported once');
      assert.deepEqual(kept.filter((s) => droppedSeqs.includes(s)), [], 'nothing reported dropped is still stored');
      assert.equal(kept.length, 8, 'four declarations, four doors');
      assert.deepEqual(owed(spool), dropRanges([], dropped), 'every drop is owed a declaration');
      assert.ok(spool.stats().bytes <= quota);
      assert.equal(spool.stats().droppedEvents, 20);
    });

    test('nothing but declarations left: the overflow records leave, their seqs and ranges re-declared merged; seq 1 never', (t) => {
      const { chain, epoch, e } = newEpoch();
      const doors = Array.from({ length: 6 }, (_, i) => door(chain, i)); // 2..7
      const o1 = overflow(chain, [{ epoch: e, from: 2, to: 4 }]); // 8
      const o2 = overflow(chain, [{ epoch: e, from: 5, to: 7 }]); // 9
      const spool = open(t, { quotaBytes: bytesOf([epoch, o1, o2]) + 5 });
      assert.deepEqual(spool.append([epoch, ...doors, o1, o2]).dropped, [{ epoch: e, from: 2, to: 7 }]);
      assert.deepEqual(stored(spool, e), [1, 8, 9]);
      assert.deepEqual(spool.append([door(chain, 99)]).dropped, [{ epoch: e, from: 2, to: 9 }]);
      assert.deepEqual(stored(spool, e), [1, 10]);
      assert.deepEqual(owed(spool), [{ epoch: e, from: 2, to: 9 }]);
    });

    test('owed drops are cleared by the commit of the overflow record declaring them, part by part', (t) => {
      const { chain, epoch, e } = newEpoch();
      const readings = Array.from({ length: 10 }, (_, i) => ev(chain, 'sensor.value.reading', 'info', { i, pad: 'z'.repeat(200) }));
      const quota = bytesOf([epoch, ...readings.slice(0, 4)]) + 10;
      const spool = open(t, { quotaBytes: quota * 4 });
      spool.append([epoch]);
      spool.close();
      // Reopen with the small quota: the batch of ten keeps four.
      const tight = spool.reopen({ quotaBytes: quota });
      assert.deepEqual(tight.append(readings).dropped, [{ epoch: e, from: 2, to: 7 }]);
      assert.deepEqual(owed(tight), [{ epoch: e, from: 2, to: 7 }]);
      tight.close();
      const roomy = spool.reopen({ quotaBytes: quota * 4 });
      assert.deepEqual(owed(roomy), [{ epoch: e, from: 2, to: 7 }], 'still owed after reopen');
      roomy.append([overflow(chain, [{ epoch: e, from: 2, to: 4 }])]);
      assert.deepEqual(owed(roomy), [{ epoch: e, from: 5, to: 7 }]);
      roomy.append([overflow(chain, [{ epoch: e, from: 5, to: 7 }])]);
      assert.deepEqual(owed(roomy), []);
    });

    test('a failed append leaves nothing owed and nothing evicted', (t) => {
      const { chain, epoch, e } = newEpoch();
      const evs = [epoch, ...Array.from({ length: 6 }, (_, i) => ev(chain, 'sensor.value.reading', 'info', { i, pad: 'z'.repeat(200) }))];
      const spool = open(t, { quotaBytes: bytesOf(evs.slice(0, 3)) + 10 });
      spool.append(evs.slice(0, 3));
      assert.throws(() => spool.append([evs[3], evs[3]]));
      assert.deepEqual(owed(spool), []);
      assert.deepEqual(stored(spool, e), [1, 2, 3]);
      assert.equal(spool.stats().droppedEvents, 0);
    });

    test('declarations past a quarter of the quota are consolidated and owed again', (t) => {
      const { chain, epoch, e } = newEpoch();
      const sample = door(chain, 0);
      const quota = 24 * rowBytes(sample.payload);
      const spool = open(t, { quotaBytes: quota });
      spool.append([epoch, sample]);
      const decls: SealedEvent[] = [];
      for (let i = 0; i < 60; i++) {
        const o = overflow(chain, [{ epoch: e, from: 100_000 + i, to: 100_000 + i }]);
        decls.push(o);
        spool.append([door(chain, i + 1), o]);
        assert.ok(spool.stats().bytes <= quota, `append ${i}: ${spool.stats().bytes} > ${quota}`);
      }
      const kept = stored(spool, e);
      const keptDecl = decls.filter((o) => kept.includes(o.body.seq));
      assert.ok(bytesOf(keptDecl) <= quota / 4 + rowBytes(decls[0].payload), `declarations hold ${bytesOf(keptDecl)} of ${quota}`);
      assert.equal(kept[0], 1);
      const gone = decls.filter((o) => !kept.includes(o.body.seq));
      assert.ok(gone.length > 20, `${gone.length} records compacted`);
      const owedSeqs = new Set(seqsOf(owed(spool)));
      for (const o of gone) {
        assert.ok(owedSeqs.has(o.body.seq), `compacted record seq ${o.body.seq} not owed`);
        assert.ok(owedSeqs.has((o.body.data.dropped as unknown as DroppedRange[])[0].from), `range of seq ${o.body.seq} not owed`);
      }
    });

    test('a batch of declarations alone uses the headroom instead of dropping; the next event evicts back under the quota', (t) => {
      const { chain, epoch, e } = newEpoch();
      const doors = Array.from({ length: 40 }, (_, i) => door(chain, i));
      const quota = bytesOf([epoch, ...doors]);
      const spool = open(t, { quotaBytes: quota });
      assert.deepEqual(spool.append([epoch, ...doors]).dropped, []);
      assert.deepEqual(spool.append([overflow(chain, [{ epoch: e, from: 100, to: 100 }])]).dropped, [], 'declaring must not drop another event');
      assert.ok(spool.stats().bytes > quota && spool.stats().bytes <= quota * (1 + 1 / 16));
      assert.deepEqual(spool.append([door(chain, 99)]).dropped, [{ epoch: e, from: 2, to: 3 }]);
      assert.ok(spool.stats().bytes <= quota, 'an ordinary append takes the spool back under its quota');
    });
  });
}

for (const [name, open] of SPOOL_IMPLEMENTATIONS) declarationContract(name, open);

// `verify --from-start` (VerifyOptions.fromStart): for a complete input — a spool export
// that never delivered or pruned anything, or a subscriber present from the start — what
// a late joiner may miss is a defect: every epoch begins with its system.chain.epoch at
// seq 1, a previous epoch named by an announcement must be in the input, and every seq
// neither received nor declared dropped is reported. Without the flag the same inputs
// stay a normal late join, so each case below is checked both ways.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SealedEvent } from '../../agent/chain/chain.js';
import { verifyEvents } from '../../agent/verify/verify.js';
import type { Finding, VerifyReport } from '../../agent/verify/types.js';
import { sealMany, tempDir, testChain, testKeys } from '../helpers/chain.js';

const root = tempDir('gw-verify-fs-');
after(() => rmSync(root, { recursive: true, force: true }));
const newKeys = () => testKeys(mkdtempSync(join(root, 'k-')));
const lines = (evs: SealedEvent[]): string[] => evs.map((e) => e.payload);
const defects = (r: VerifyReport): Finding[] => [...r.findings, ...r.chains.flatMap((c) => c.findings)].filter((f) => f.level === 'defect');
const kinds = (fs: Finding[]): string[] => fs.map((f) => `${f.kind}@${f.seq}${f.to !== undefined && f.to !== f.seq ? '-' + f.to : ''}`);

function makeChain(n: number) {
  const keys = newKeys();
  const chain = testChain({ keys });
  const evs: SealedEvent[] = sealMany(chain, 1);
  while (evs.length < n) evs.push(chain.seal({ driver: 'test', device: 'dev-1', type: 'access.door.forced', severity: 'alarm', data: { i: evs.length } }));
  return { keys, chain, evs };
}

const overflow = (chain: ReturnType<typeof testChain>, epoch: string, ranges: Array<[number, number]>): SealedEvent =>
  chain.seal({ driver: 'agent', device: 'gw-t', type: 'system.spool.overflow', severity: 'alarm', data: { reason: 'quota', count: ranges.reduce((k, [a, b]) => k + b - a + 1, 0), part: 1, parts: 1, dropped: ranges.map(([from, to]) => ({ epoch, from, to })) } });

test('a complete chain passes from the start', () => {
  const { keys, evs } = makeChain(30);
  const r = verifyEvents(lines(evs), { pubkeys: [keys.pubkey], fromStart: true });
  assert.deepEqual(defects(r), []);
  assert.equal(r.ok, true);
  assert.equal(r.fromStart, true);
});

test('a cut prefix is a late join normally, and missing seqs from the start', () => {
  const { keys, evs } = makeChain(40);
  const input = lines(evs.slice(17));
  assert.equal(verifyEvents(input, { pubkeys: [keys.pubkey] }).ok, true, 'without the flag: joined late');
  const r = verifyEvents(input, { pubkeys: [keys.pubkey], fromStart: true });
  assert.equal(r.ok, false);
  assert.deepEqual(kinds(defects(r)), ['missing@1', 'missing@2-17']);
  assert.equal(r.chains[0].findings.some((f) => f.kind === 'joined-late'), false);
});

test('declared drops account for gaps from seq 2; seq 1 must be there even when declared', () => {
  const { keys, chain, evs } = makeChain(12);
  const epoch = evs[0].body.epoch;
  evs.push(overflow(chain, epoch, [[2, 5], [9, 9]]));
  const kept = evs.filter((e) => ![2, 3, 4, 5, 9].includes(e.body.seq));
  const ok = verifyEvents(lines(kept), { pubkeys: [keys.pubkey], fromStart: true });
  assert.deepEqual(defects(ok), []);
  assert.equal(ok.chains[0].declaredDropped, 5);

  // An undeclared gap beside the declared ones fails.
  const gap = verifyEvents(lines(kept.filter((e) => e.body.seq !== 7)), { pubkeys: [keys.pubkey], fromStart: true });
  assert.deepEqual(kinds(defects(gap)), ['missing@7']);

  // Seq 1 gone with the rest declared: a late joiner would accept it, from the start it fails.
  const all = [...evs, overflow(chain, epoch, [[1, 1]])];
  const noStart = all.filter((e) => ![1, 2, 3, 4, 5, 9].includes(e.body.seq));
  assert.equal(verifyEvents(lines(noStart), { pubkeys: [keys.pubkey] }).ok, true);
  const r = verifyEvents(lines(noStart), { pubkeys: [keys.pubkey], fromStart: true });
  assert.deepEqual(kinds(defects(r)), ['missing@1']);
  assert.match(defects(r)[0].detail, /declared dropped: it must never leave the spool/);
});

test('seq 1 that is not the epoch announcement fails from the start', () => {
  const keys = newKeys();
  // A chain resumed at an empty head seals seq 1 as an ordinary event.
  const chain = testChain({ keys, head: { epoch: 'EpochWithoutStart', seq: 0, hash: '' } });
  const evs = Array.from({ length: 5 }, (_, i) => chain.seal({ driver: 'test', device: 'dev-1', type: 'sensor.value.reading', severity: 'info', data: { i } }));
  assert.equal(evs[0].body.seq, 1);
  assert.equal(verifyEvents(lines(evs), { pubkeys: [keys.pubkey] }).ok, true);
  const r = verifyEvents(lines(evs), { pubkeys: [keys.pubkey], fromStart: true });
  assert.deepEqual(kinds(defects(r)), ['bad-envelope@1']);
});

test('across epochs: the previous epoch an announcement names must be in the input (or declared)', () => {
  const a = makeChain(20);
  const k2 = newKeys();
  const c2 = testChain({ keys: k2 });
  const b = [c2.newEpoch('key-rotation', a.chain.head)];
  for (let i = 0; i < 9; i++) b.push(c2.seal({ driver: 'test', device: 'dev-1', type: 'sensor.value.reading', severity: 'info', data: { i } }));
  const pubkeys = [a.keys.pubkey, k2.pubkey];
  const both = verifyEvents([...lines(a.evs), ...lines(b)], { pubkeys, fromStart: true });
  assert.deepEqual(defects(both), []);

  const onlyNew = verifyEvents(lines(b), { pubkeys, fromStart: true });
  assert.equal(onlyNew.ok, false);
  assert.deepEqual(kinds(defects(onlyNew)), ['missing@1-20']);
  assert.equal(defects(onlyNew)[0].epoch, a.evs[0].body.epoch);

  // The old epoch's tail cut below the head the announcement names: truncated, as without the flag.
  const cut = verifyEvents([...lines(a.evs.slice(0, 15)), ...lines(b)], { pubkeys, fromStart: true });
  assert.deepEqual(kinds(defects(cut)), ['truncated@16-20']);

  // Every seq of the absent previous epoch declared dropped by the new one: accounted.
  const decl = [...b, overflow(c2, a.evs[0].body.epoch, [[1, 20]])];
  assert.deepEqual(defects(verifyEvents(lines(decl), { pubkeys, fromStart: true })), []);
});

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', 'test/helpers/verify-main.ts', 'verify', ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if (err && code === -1) reject(err);
      else resolve({ code, stdout, stderr });
    });
  });
}

test('CLI --from-start: exit 0 on a complete file, 1 on a late-join file that passes without it', async () => {
  const { keys, evs } = makeChain(30);
  const dir = mkdtempSync(join(root, 'cli-'));
  const full = join(dir, 'full.jsonl');
  const late = join(dir, 'late.jsonl');
  writeFileSync(full, lines(evs).join('\n') + '\n');
  writeFileSync(late, lines(evs.slice(5)).join('\n') + '\n');
  const ok = await run(['--from-start', '--pubkey', keys.pubkey, full]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /\(from start\)/);
  assert.equal((await run(['--pubkey', keys.pubkey, late])).code, 0);
  const bad = await run(['--from-start', '--pubkey', keys.pubkey, late]);
  assert.equal(bad.code, 1, bad.stdout + bad.stderr);
  assert.match(bad.stdout, /DEFECT missing seq 1:/);
  assert.match(bad.stdout, /DEFECT missing seq 2–5:/);
});

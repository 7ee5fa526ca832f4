// The verifier against real chains (test/helpers/chain.ts): every chain defect
// the verifier must report, detected at the right seq, and the QoS 1 normalities
// (re-delivery, reordering, late join, declared drops, several epochs) accepted.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sign } from 'node:crypto';
import { jcs } from '../../agent/chain/jcs.js';
import type { SealedEvent } from '../../agent/chain/chain.js';
import type { EventBody } from '../../agent/events/types.js';
import { createVerifier, verifyEvents } from '../../agent/verify/verify.js';
import type { ChainReport, Finding, VerifyReport } from '../../agent/verify/types.js';
import { tempDir, testChain, testKeys, sealMany } from '../helpers/chain.js';

// Every throwaway key lives under one root, removed when the file's tests end (pass or fail).
const root = tempDir('gw-verify-');
after(() => rmSync(root, { recursive: true, force: true }));
const newKeys = () => testKeys(mkdtempSync(join(root, 'k-')));

const lines = (evs: SealedEvent[]): string[] => evs.map((e) => e.payload);
const defects = (r: VerifyReport): Finding[] => [...r.findings, ...r.chains.flatMap((c) => c.findings)].filter((f) => f.level === 'defect');
const kinds = (fs: Finding[]): string[] => fs.map((f) => `${f.kind}@${f.seq}${f.to !== undefined && f.to !== f.seq ? '-' + f.to : ''}`);
const only = (r: VerifyReport): ChainReport => {
  assert.equal(r.chains.length, 1, JSON.stringify(r.chains.map((c) => c.epoch)));
  return r.chains[0];
};

/** A chain of n events (epoch at seq 1) with a count checkpoint every `every` events. */
function makeChain(n: number, every = 0) {
  const keys = newKeys();
  const chain = testChain({ keys });
  const evs: SealedEvent[] = sealMany(chain, 1);
  while (evs.length < n) {
    if (every > 0 && evs.length % every === every - 1) evs.push(chain.checkpoint('count'));
    else evs.push(chain.seal({ driver: 'test', device: 'dev-1', type: 'access.card.read', severity: 'info', data: { i: evs.length } }));
  }
  return { keys, chain, evs };
}

function shuffle<T>(a: T[], seed = 7): T[] {
  const out = [...a];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

test('clean chain with checkpoints: ok, counted per (site, gw, epoch)', () => {
  const { keys, evs } = makeChain(50, 10);
  const r = verifyEvents(lines(evs), { pubkeys: [keys.pubkey] });
  assert.deepEqual(defects(r), []);
  assert.equal(r.ok, true);
  const c = only(r);
  assert.deepEqual([c.site, c.gw, c.epoch, c.count, c.firstSeq, c.lastSeq], ['site-t', 'gw-t', evs[0].body.epoch, 50, 1, 50]);
  assert.deepEqual(c.kids, [keys.kid]);
  assert.deepEqual(c.findings, []);
  assert.equal(verifyEvents(lines(evs), { pubkeys: [keys.pubkey], strict: true }).ok, true);
});

test('one byte changed in a body: bad-signature at that seq, not blamed on its successor', () => {
  const { keys, evs } = makeChain(20);
  const ls = lines(evs);
  assert.match(ls[9], /"i":9/);
  ls[9] = ls[9].replace('"i":9', '"i":8');
  const r = verifyEvents(ls, { pubkeys: [keys.pubkey] });
  assert.equal(r.ok, false);
  assert.deepEqual(kinds(defects(r)), ['bad-signature@10']);
  assert.equal(defects(r)[0].reason, 'bad-sig');
  assert.equal(defects(r)[0].line, 10);
});

test('one event deleted: missing at that seq', () => {
  const { keys, evs } = makeChain(20);
  const r = verifyEvents(lines(evs.filter((e) => e.body.seq !== 7)), { pubkeys: [keys.pubkey] });
  assert.equal(r.ok, false);
  assert.deepEqual(kinds(defects(r)), ['missing@7']);
});

test('one event forged with another key: unknown kid; re-signed with another key under the same kid: bad sig', () => {
  const { keys, evs } = makeChain(20);
  // A fork built by an attacker holding another key, continuing from the real head at seq 11.
  const other = newKeys();
  const forger = testChain({ keys: other, head: { epoch: evs[0].body.epoch, seq: 11, hash: evs[10].hash } });
  const forged = forger.seal({ driver: 'test', device: 'dev-1', type: 'access.card.read', severity: 'info', data: { i: 666 } });
  assert.equal(forged.body.seq, 12);
  const a = lines(evs);
  a[11] = forged.payload;
  const ra = verifyEvents(a, { pubkeys: [keys.pubkey] });
  assert.deepEqual(kinds(defects(ra)), ['bad-signature@12']);
  assert.equal(defects(ra)[0].reason, 'unknown-kid');

  const body: EventBody = { ...evs[11].body, data: { i: 666 } };
  const sig = sign(null, Buffer.from(jcs(body)), other.privateKey).toString('base64url');
  const b = lines(evs);
  b[11] = JSON.stringify({ body, sig });
  const rb = verifyEvents(b, { pubkeys: [keys.pubkey] });
  assert.deepEqual(kinds(defects(rb)), ['bad-signature@12']);
  assert.equal(defects(rb)[0].reason, 'bad-sig');
  // With both keys given, the lie about the kid is named as such.
  const rc = verifyEvents(b, { pubkeys: [keys.pubkey, other.pubkey] });
  assert.equal(defects(rc)[0].reason, 'bad-sig');
  const mislabeled = { ...body, kid: 'AAAAAAAAAAAAAAAA' };
  const c = lines(evs);
  c[11] = JSON.stringify({ body: mislabeled, sig: sign(null, Buffer.from(jcs(mislabeled)), other.privateKey).toString('base64url') });
  assert.equal(defects(verifyEvents(c, { pubkeys: [keys.pubkey, other.pubkey] }))[0].reason, 'kid-mismatch');
});

test('a forged copy beside the genuine event is a bad signature, not a conflict', () => {
  const { keys, evs } = makeChain(10);
  const other = newKeys();
  const body: EventBody = { ...evs[4].body, data: { i: 1 } };
  const extra = JSON.stringify({ body, sig: sign(null, Buffer.from(jcs(body)), other.privateKey).toString('base64url') });
  const r = verifyEvents([...lines(evs), extra], { pubkeys: [keys.pubkey] });
  assert.deepEqual(kinds(defects(r)), ['bad-signature@5']);
});

test('tail cut before the final checkpoint: truncated below the head it attests', () => {
  const { keys, chain, evs } = makeChain(20);
  evs.push(chain.checkpoint('shutdown')); // seq 21, head 20
  const r = verifyEvents(lines(evs.filter((e) => e.body.seq <= 15 || e.body.seq === 21)), { pubkeys: [keys.pubkey] });
  assert.deepEqual(kinds(defects(r)), ['truncated@16-20']);
});

test('tail truncated after a checkpoint, revealed by --head (as the health topic reports it)', () => {
  const { keys, evs } = makeChain(30, 11); // checkpoint at seq 11
  assert.equal(evs[10].body.type, 'system.chain.checkpoint');
  const epoch = evs[0].body.epoch;
  const kept = lines(evs.slice(0, 11));
  const clean = verifyEvents(kept, { pubkeys: [keys.pubkey] });
  assert.equal(clean.ok, true, 'without an attestation a cut tail is indistinguishable from a live stream');
  const r = verifyEvents(kept, { pubkeys: [keys.pubkey], expectHead: { epoch, seq: 30 } });
  assert.deepEqual(kinds(defects(r)), ['truncated@12-30']);
  // A head below what was received is fine (the health report is older); a wrong hash is not.
  assert.equal(verifyEvents(lines(evs), { pubkeys: [keys.pubkey], expectHead: { epoch, seq: 25, hash: evs[24].hash } }).ok, true);
  const bad = verifyEvents(lines(evs), { pubkeys: [keys.pubkey], expectHead: { epoch, seq: 25, hash: evs[23].hash } });
  assert.deepEqual(kinds(defects(bad)), ['head-mismatch@25']);
  // An expected head for an epoch of which nothing arrived.
  const none = verifyEvents(kept, { pubkeys: [keys.pubkey], expectHead: { epoch: 'nope', seq: 4 } });
  assert.deepEqual(kinds(defects(none)), ['truncated@1-4']);
});

test('several epochs in one file (key rotation, announcement names the previous head): ok; truncation before it detected', () => {
  const a = makeChain(20, 10);
  const k2 = newKeys();
  const c2 = testChain({ keys: k2 });
  const b = [c2.newEpoch('key-rotation', a.chain.head)];
  for (let i = 0; i < 9; i++) b.push(c2.seal({ driver: 'test', device: 'dev-1', type: 'sensor.value.reading', severity: 'info', data: { i } }));
  const pubkeys = [a.keys.pubkey, k2.pubkey];
  const all = [...lines(a.evs), ...lines(b)];
  const r = verifyEvents(all, { pubkeys });
  assert.deepEqual(defects(r), []);
  assert.equal(r.ok, true);
  assert.deepEqual(r.chains.map((c) => [c.epoch, c.count, c.kids[0]]), [[a.evs[0].body.epoch, 20, a.keys.kid], [b[0].body.epoch, 10, k2.kid]]);
  assert.equal(r.events, 30);

  const cut = verifyEvents([...lines(a.evs.slice(0, 15)), ...lines(b)], { pubkeys });
  assert.deepEqual(kinds(defects(cut)), ['truncated@16-20']);
  assert.equal(cut.chains.find((c) => c.epoch === a.evs[0].body.epoch)!.ok, false);
  assert.equal(cut.chains.find((c) => c.epoch === b[0].body.epoch)!.ok, true);

  // Only the new epoch received: the previous one is noted, normal unless strict.
  const late = verifyEvents(lines(b), { pubkeys });
  assert.equal(late.ok, true);
  assert.deepEqual(kinds(only(late).findings), ['joined-late@1']);
  assert.equal(verifyEvents(lines(b), { pubkeys, strict: true }).ok, false);
});

test('old epoch continued past the head its successor announced: head-mismatch (fork)', () => {
  const a = makeChain(10);
  const c2 = testChain({ keys: a.keys });
  const b = [c2.newEpoch('spool-reset', { epoch: a.evs[0].body.epoch, seq: 8, hash: a.evs[7].hash })];
  const r = verifyEvents([...lines(a.evs), ...lines(b)], { pubkeys: [a.keys.pubkey] });
  assert.deepEqual(kinds(defects(r)), ['head-mismatch@9-10']);
});

test('two different bodies with the same seq: conflict naming both ids', () => {
  const { keys, evs } = makeChain(15);
  const fork = testChain({ keys, head: { epoch: evs[0].body.epoch, seq: 7, hash: evs[6].hash } });
  const twin = fork.seal({ driver: 'test', device: 'dev-1', type: 'access.card.read', severity: 'info', data: { i: 'twin' } });
  assert.equal(twin.body.seq, 8);
  const r = verifyEvents([...lines(evs), twin.payload], { pubkeys: [keys.pubkey] });
  const d = defects(r);
  assert.deepEqual(kinds(d), ['conflict@8']);
  assert.deepEqual(d[0].ids, [evs[7].body.id, twin.body.id]);
});

test('exact re-deliveries and shuffled arrival: ok and accounted; strict fails', () => {
  const { keys, evs } = makeChain(200, 25);
  const ls = lines(evs);
  const input = shuffle([...ls, ...ls.filter((_, i) => i % 3 === 0), ls[0], ls[0]]);
  const r = verifyEvents(input, { pubkeys: [keys.pubkey] });
  assert.deepEqual(defects(r), []);
  assert.equal(r.ok, true);
  const c = only(r);
  assert.equal(c.count, 200);
  assert.equal(c.duplicates, 67 + 2);
  assert.ok(c.outOfOrder > 0);
  assert.deepEqual(c.findings.map((f) => f.kind).sort(), ['duplicate', 'out-of-order']);
  const s = verifyEvents(input, { pubkeys: [keys.pubkey], strict: true });
  assert.equal(s.ok, false);
  assert.equal(s.defects, 0);
});

test('stream that starts mid-chain: ok, "joined at seq N"; strict fails', () => {
  const { keys, evs } = makeChain(40, 10);
  const r = verifyEvents(lines(evs.slice(17)), { pubkeys: [keys.pubkey] });
  assert.equal(r.ok, true);
  const c = only(r);
  assert.equal(c.firstSeq, 18);
  assert.deepEqual(kinds(c.findings), ['joined-late@18']);
  assert.match(c.findings[0].detail, /joined at seq 18/);
  assert.equal(verifyEvents(lines(evs.slice(17)), { pubkeys: [keys.pubkey], strict: true }).ok, false);
});

test('declared overflow drop: ok and accounted; an undeclared gap beside it still fails', () => {
  const { keys, chain, evs } = makeChain(12);
  const epoch = evs[0].body.epoch;
  evs.push(chain.seal({ driver: 'agent', device: 'gw-t', type: 'system.spool.overflow', severity: 'alarm', data: { reason: 'quota', count: 4, dropped: [{ epoch, from: 3, to: 5 }, { epoch, from: 9, to: 9 }] } }));
  evs.push(...sealMany(chain, 3));
  const kept = evs.filter((e) => ![3, 4, 5, 9].includes(e.body.seq));
  const r = verifyEvents(lines(kept), { pubkeys: [keys.pubkey], strict: true });
  assert.deepEqual(defects(r), []);
  assert.equal(r.ok, true);
  const c = only(r);
  assert.equal(c.declaredDropped, 4);
  assert.deepEqual(kinds(c.findings), ['declared-drop@3-5', 'declared-drop@9']);
  const r2 = verifyEvents(lines(kept.filter((e) => e.body.seq !== 11)), { pubkeys: [keys.pubkey] });
  assert.deepEqual(kinds(defects(r2)), ['missing@11']);
});

test('checkpoint whose head disagrees with the chain: checkpoint-mismatch', () => {
  const { keys, chain, evs } = makeChain(8);
  const h = chain.head;
  evs.push(chain.seal({ driver: 'agent', device: 'gw-t', type: 'system.chain.checkpoint', severity: 'info', data: { reason: 'count', head: { epoch: h.epoch, seq: h.seq + 3, hash: h.hash } } }));
  const r = verifyEvents(lines(evs), { pubkeys: [keys.pubkey] });
  assert.deepEqual(kinds(defects(r)), ['checkpoint-mismatch@9']);
});

test('bad JSON and bad envelopes are named by line; parsed objects and streaming input work too', () => {
  const { keys, evs } = makeChain(5);
  const ls = lines(evs);
  const noSeq = JSON.parse(ls[2]);
  delete noSeq.body.seq;
  const input = [ls[0], ls[1], '', '{"body": nope', JSON.stringify(noSeq), '[]', ls[2], ls[3], ls[4]];
  const r = verifyEvents(input, { pubkeys: [keys.pubkey] });
  assert.equal(r.lines, 9);
  assert.deepEqual(r.findings.map((f) => `${f.kind}@line${f.line}`), ['bad-json@line4', 'bad-envelope@line5', 'bad-envelope@line6']);
  assert.match(r.findings[1].detail, /body\.seq/);
  assert.equal(only(r).ok, true);
  assert.equal(r.ok, false);

  const v = createVerifier({ pubkeys: [keys.publicKey] });
  for (const e of evs) v.push({ body: e.body, sig: e.sig });
  const s = v.finish();
  assert.equal(s.ok, true);
  assert.equal(s.events, 5);
  assert.throws(() => v.push(ls[0]), /finished/);
  assert.throws(() => createVerifier({ pubkeys: ['not-a-key'] }), /public key #1/);
});

// ---- CLI: the real command in a child process ----

function run(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, ['--import', 'tsx', 'test/helpers/verify-main.ts', 'verify', ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if (err && code === -1) reject(err);
      else resolve({ code, stdout, stderr });
    });
    child.stdin!.end(stdin ?? '');
  });
}

test('CLI: exit 0 clean, 1 on defects (each named with its seq), 2 on usage errors; --json, --head, stdin, PEM file', async (t) => {
  const dir = tempDir('gw-verify-cli-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { keys, evs } = makeChain(30, 10);
  const good = join(dir, 'good.jsonl');
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(good, lines(evs).join('\n') + '\n');
  writeFileSync(bad, lines(evs.filter((e) => e.body.seq !== 17)).join('\n') + '\n');
  const pem = join(dir, 'pub.pem');
  writeFileSync(pem, keys.publicKey.export({ format: 'pem', type: 'spki' }));

  const ok = await run(['--pubkey', keys.pubkey, good]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^OK {3}site-t\/gw-t epoch \S+: 30 events, seq 1–30/m);

  const fail = await run(['--pubkey', pem, bad]);
  assert.equal(fail.code, 1, fail.stderr);
  assert.match(fail.stdout, /^FAIL site-t\/gw-t/m);
  assert.match(fail.stdout, /DEFECT missing seq 17/);

  const json = await run(['--json', '--pubkey', keys.pubkey, '-'], lines(evs.slice(0, 20)).join('\n'));
  assert.equal(json.code, 0, json.stderr);
  const rep = JSON.parse(json.stdout) as VerifyReport;
  assert.equal(rep.events, 20);

  const head = await run(['--pubkey', keys.pubkey, '--head', `${evs[0].body.epoch}:40`, good]);
  assert.equal(head.code, 1);
  assert.match(head.stdout, /truncated seq 31–40/);

  const strict = await run(['--strict', '--pubkey', keys.pubkey, '-'], [...lines(evs), lines(evs)[3]].join('\n'));
  assert.equal(strict.code, 1);
  assert.match(strict.stdout, /STRICT duplicate/);

  for (const args of [['--pubkey', 'AAAA', good], ['--pubkey', keys.pubkey, join(dir, 'absent.jsonl')], ['--pubkey', keys.pubkey, '--head', 'x', good], [good], ['--bogus', good]]) {
    const u = await run(args);
    assert.equal(u.code, 2, `${args.join(' ')}: ${u.stdout}${u.stderr}`);
    assert.notEqual(u.stderr, '');
  }
});

test('ranges: merge and split keep exact bounds', async () => {
  const { mergeRanges, splitRange } = await import('../../agent/verify/ranges.js');
  const ex = mergeRanges([{ from: 8, to: 9 }, { from: 3, to: 4 }, { from: 5, to: 5 }, { from: 20, to: 30 }]);
  assert.deepEqual(ex, [{ from: 3, to: 5 }, { from: 8, to: 9 }, { from: 20, to: 30 }]);
  assert.deepEqual(splitRange({ from: 1, to: 12 }, ex), {
    rest: [{ from: 1, to: 2 }, { from: 6, to: 7 }, { from: 10, to: 12 }],
    covered: [{ from: 3, to: 5 }, { from: 8, to: 9 }],
  });
  assert.deepEqual(splitRange({ from: 21, to: 25 }, ex), { rest: [], covered: [{ from: 21, to: 25 }] });
  assert.deepEqual(splitRange({ from: 40, to: 41 }, ex), { rest: [{ from: 40, to: 41 }], covered: [] });
});

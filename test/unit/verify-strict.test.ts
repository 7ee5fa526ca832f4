// The verifier reads lines as I-JSON (agent/chain/strict-json.ts via agent/verify/envelope.ts):
// a body that JSON.parse would read one way and a first-wins or strict platform another
// is refused, naming the seq (or the line when no seq can be read). Library and CLI.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SealedEvent } from '../../agent/chain/chain.js';
import { verifyEvents } from '../../agent/verify/verify.js';
import type { Finding, VerifyReport } from '../../agent/verify/types.js';
import { tempDir, testChain, testKeys, sealMany } from '../helpers/chain.js';

const root = tempDir('gw-verify-strict-');
after(() => rmSync(root, { recursive: true, force: true }));

function makeChain(n: number) {
  const keys = testKeys(mkdtempSync(join(root, 'k-')));
  const chain = testChain({ keys });
  const evs: SealedEvent[] = sealMany(chain, 1);
  while (evs.length < n) evs.push(chain.seal({ driver: 'test', device: 'dev-1', type: 'access.door.forced', severity: 'alarm', data: { i: evs.length, label: 'door' } }));
  return { keys, evs };
}

const defects = (r: VerifyReport): Finding[] => [...r.findings, ...r.chains.flatMap((c) => c.findings)].filter((f) => f.level === 'defect');

/** The same signed payload with text spliced in right after `"body":{`. */
const injectInBody = (payload: string, text: string): string => payload.replace('{"body":{', `{"body":{${text}`);

test('duplicate severity ahead of the real field: JSON.parse verifies it ok, the strict reader refuses it at its seq', () => {
  const { keys, evs } = makeChain(12);
  const lines = evs.map((e) => e.payload);
  lines[6] = injectInBody(lines[6], '"severity":"debug",');
  // What the loose reading did: the last duplicate wins, so the signature still verifies.
  assert.equal((JSON.parse(lines[6]) as { body: { severity: string } }).body.severity, 'alarm');
  const r = verifyEvents(lines, { pubkeys: [keys.pubkey] });
  assert.equal(r.ok, false);
  const d = defects(r);
  const bad = d.find((f) => f.kind === 'bad-json');
  assert.ok(bad, JSON.stringify(d));
  assert.equal(bad.seq, 7);
  assert.equal(bad.line, 7);
  assert.match(bad.detail, /seq 7: not I-JSON, refused: duplicate key "severity".*\(\/body\/severity\)/);
  assert.ok(d.some((f) => f.kind === 'missing' && f.seq === 7), `seq 7 counts as missing: ${JSON.stringify(d)}`);
  console.log(d.map((f) => `${f.kind}@${f.seq}: ${f.detail}`).join('\n'));
});

test('lone surrogate escapes, numbers outside double range, 2^53+1, depth: each refused with its seq', () => {
  const { keys, evs } = makeChain(10);
  const cases: Array<[number, (s: string) => string, RegExp]> = [
    [3, (s) => s.replace('"label":"door"', '"label":"\\ud800"'), /lone surrogate U\+D800/],
    [4, (s) => s.replace('"label":"door"', '"label":"\\udc00\\ud800"'), /lone surrogate U\+DC00/],
    [5, (s) => s.replace(/"i":\d+/, '"i":1e400'), /outside the IEEE 754 double range/],
    [6, (s) => s.replace(/"i":\d+/, '"i":9007199254740993'), /not exactly an IEEE 754 double/],
    [7, (s) => s.replace('"label":"door"', `"label":${'['.repeat(100)}${']'.repeat(100)}`), /nesting deeper than 64/],
    [8, (s) => s.replace('"label":"door"', '"label":"door","label":"door"'), /duplicate key "label"/],
  ];
  const lines = evs.map((e) => e.payload);
  for (const [seq, f] of cases) lines[seq - 1] = f(lines[seq - 1]);
  const r = verifyEvents(lines, { pubkeys: [keys.pubkey] });
  assert.equal(r.ok, false);
  const bad = r.findings.filter((f) => f.kind === 'bad-json');
  assert.deepEqual(bad.map((f) => f.seq), cases.map((c) => c[0]));
  for (const [i, [, , re]] of cases.entries()) assert.match(bad[i].detail, re);
});

test('no seq readable: the line is named', () => {
  const { keys, evs } = makeChain(3);
  const r = verifyEvents([evs[0].payload, '{"a":1,"a":2}', evs[1].payload, evs[2].payload], { pubkeys: [keys.pubkey] });
  const bad = r.findings.find((f) => f.kind === 'bad-json');
  assert.ok(bad);
  assert.equal(bad.seq, undefined);
  assert.equal(bad.line, 2);
  assert.match(bad.detail, /^line 2: not I-JSON, refused: duplicate key "a"/);
});

test('the gateway signs what the strict reader reads: 1e20 and FLT_MAX in data verify clean', () => {
  const keys = testKeys(mkdtempSync(join(root, 'k-')));
  const chain = testChain({ keys });
  const evs = sealMany(chain, 1);
  for (const value of [1e20, 3.4028234663852886e38, 1e21, 5e-324, -0, 123456789012345680000]) {
    evs.push(chain.seal({ driver: 'modbus', device: 'u1', type: 'sensor.reading', severity: 'info', data: { point: 'p', value } }));
  }
  const r = verifyEvents(evs.map((e) => e.payload), { pubkeys: [keys.pubkey] });
  assert.deepEqual(defects(r), []);
  assert.equal(r.ok, true);
});

test('CLI: exit 1 and the refused seq in the report', async (t) => {
  const dir = tempDir('gw-verify-strict-cli-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { keys, evs } = makeChain(8);
  const lines = evs.map((e) => e.payload);
  lines[4] = injectInBody(lines[4], '"severity":"debug",');
  const file = join(dir, 'dup.jsonl');
  writeFileSync(file, lines.join('\n') + '\n');
  const out = await new Promise<{ code: number; stdout: string }>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', 'test/helpers/verify-main.ts', 'verify', '--pubkey', keys.pubkey, file], { timeout: 60_000 }, (err, stdout) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if (code === -1) reject(err);
      else resolve({ code, stdout });
    });
  });
  assert.equal(out.code, 1, out.stdout);
  assert.match(out.stdout, /DEFECT bad-json seq 5: line 5: seq 5: not I-JSON, refused: duplicate key "severity"/);
});

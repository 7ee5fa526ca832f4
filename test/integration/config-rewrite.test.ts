// Config rewrites keep owner, group and mode (docs/contracts.md §Files): the config is
// root:<service group> 0640, and a rewrite that made it root:root would lock the daemon
// out at its next start. `init` writes a config, it is handed to a real group (`daemon`,
// or one made here), and `discover modbus --write` against a real Modbus TCP unit merges
// into it through the CLI; then stat: same uid, gid and mode, and the merge is block YAML.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, lstatSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isSeq, parseDocument } from 'yaml';
import { tempDir } from '../helpers/chain.js';
import { freePort } from '../helpers/mosquitto.js';
import { runCli } from '../helpers/diag-cli.js';
import { startModbusSim } from '../../drivers/modbus/sim.js';
import { rewriteConfigFile } from '../../config/rewrite.js';

/** gid of a real group other than root's: `daemon` where it exists, else one made for the test. */
function serviceGroup(): number {
  for (const name of ['daemon', 'gw-test-svc']) {
    const r = spawnSync('getent', ['group', name], { encoding: 'utf8' });
    if (r.status === 0) return Number(r.stdout.split(':')[2]);
  }
  execFileSync('groupadd', ['--system', 'gw-test-svc']);
  return Number(spawnSync('getent', ['group', 'gw-test-svc'], { encoding: 'utf8' }).stdout.split(':')[2]);
}

test('discover --write into an init config keeps root:<group> 0640 and writes block-style YAML', { timeout: 90_000 }, async (t) => {
  assert.equal(process.getuid?.(), 0, 'this test changes file ownership: run as root (CI does)');
  const dir = tempDir('gw-rewrite-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'etc', 'config.yaml');
  mkdirSync(join(dir, 'etc'));
  const init = await runCli(['init', '--site', 's1', '--gateway', 'g1', '--broker', 'mqtt://127.0.0.1:1883', '-c', cfg, '--state-dir', join(dir, 'state')]);
  assert.equal(init.code, 0, init.stderr);
  assert.match(readFileSync(cfg, 'utf8'), /^drivers: \{\}$/m, 'init writes an empty flow mapping (the case that came out as one line)');

  const gid = serviceGroup();
  assert.notEqual(gid, 0);
  chownSync(cfg, 0, gid);
  chmodSync(cfg, 0o640);
  const before = statSync(cfg);

  const sim = await startModbusSim({ port: await freePort() });
  t.after(() => sim.close());
  const w = await runCli(['discover', 'modbus', '--host', '127.0.0.1', '--tcp-port', String(sim.port), '--ids', '1', '--timeout', '300', '--write', '-c', cfg]);
  assert.equal(w.code, 0, w.stderr);
  assert.match(w.stdout, /merged into .*: added /);

  const after = statSync(cfg);
  assert.equal(after.ino === before.ino, false, 'replaced by rename (atomic), not written in place');
  assert.deepEqual({ uid: after.uid, gid: after.gid, mode: (after.mode & 0o7777).toString(8) }, { uid: 0, gid, mode: '640' });
  assert.deepEqual(readdirSync(join(dir, 'etc')), ['config.yaml'], 'no temp file left beside it');

  const text = readFileSync(cfg, 'utf8');
  const doc = parseDocument(text);
  const drivers = doc.get('drivers');
  assert.ok(isMap(drivers) && !drivers.flow, `drivers is a block mapping:\n${text}`);
  const modbus = drivers.get('modbus');
  assert.ok(isSeq(modbus) && !modbus.flow && modbus.items.length === 1, `drivers.modbus is a block sequence:\n${text}`);
  assert.match(text, /^drivers:\n {2}modbus:\n {4}- /m);
  const driverLines = text.slice(text.search(/^drivers:/m)).split('\n').filter((l) => !/^\s*#/.test(l));
  assert.doesNotMatch(driverLines.join('\n'), /[{[]/, 'no flow collection under drivers (comments aside)');
  const check = await runCli(['config', 'check', cfg]);
  assert.equal(check.code, 0, check.stdout);

  // init --force over the same file: rewritten, still root:<group> 0640.
  const again = await runCli(['init', '--force', '--site', 's1', '--gateway', 'g1', '--broker', 'mqtt://127.0.0.1:1883', '-c', cfg, '--state-dir', join(dir, 'state')]);
  assert.equal(again.code, 0, again.stderr);
  const st = statSync(cfg);
  assert.deepEqual({ uid: st.uid, gid: st.gid, mode: (st.mode & 0o7777).toString(8) }, { uid: 0, gid, mode: '640' });
});

test('rewriteConfigFile: keeps 0600 and an odd owner, rewrites through a symlink, leaves no temp file', () => {
  assert.equal(process.getuid?.(), 0, 'run as root');
  const dir = tempDir('gw-rewrite-unit-');
  try {
    const real = join(dir, 'real.yaml');
    writeFileSync(real, 'site: a\n');
    chownSync(real, 4242, 4343);
    chmodSync(real, 0o600);
    const link = join(dir, 'config.yaml');
    symlinkSync(real, link);
    rewriteConfigFile(link, 'site: b\n');
    assert.ok(lstatSync(link).isSymbolicLink(), 'the symlink stays');
    const st = statSync(real);
    assert.deepEqual({ uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, text: readFileSync(real, 'utf8') }, { uid: 4242, gid: 4343, mode: 0o600, text: 'site: b\n' });
    const fresh = join(dir, 'new.yaml');
    rewriteConfigFile(fresh, 'site: c\n');
    assert.equal(statSync(fresh).mode & 0o7777, 0o640, 'a new file is 0640');
    assert.deepEqual(readdirSync(dir).sort(), ['config.yaml', 'new.yaml', 'real.yaml']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

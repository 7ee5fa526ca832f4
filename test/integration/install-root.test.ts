// scripts/install.sh for real, into a throwaway root: install, a second run
// that changes nothing, upgrade keeping config/keys/spool, uninstall keeping data, purge
// refused while events are undelivered, then forced; --help is for users.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { sealMany, tempDir, testChain } from '../helpers/chain.js';
import { openSqliteSpool } from '../../agent/spool/sqlite-spool.js';
import { validateConfig, parseYaml } from '../../config/loader.js';

const SCRIPT = new URL('../../scripts/install.sh', import.meta.url).pathname;

function install(args: string[]): string {
  return execFileSync('bash', [SCRIPT, ...args], { encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** path → "mode size mtime" for every file outside node_modules (which is compared by stamp). */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.name === 'node_modules') continue;
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      out.set(relative(root, p), `${st.mode.toString(8)} ${st.size} ${st.mtimeMs}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

test('install.sh in a throwaway root: install, idempotent re-run, upgrade, uninstall, purge', { timeout: 600_000 }, async (t) => {
  const root = tempDir('gw-root-');
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const out1 = install(['--root', root, '--site', 'site-a', '--gateway', 'gw-a', '--broker', 'mqtts://broker.example:8883']);
  assert.match(out1, /installing into root .*no user creation, no chown, no systemctl/);
  assert.match(out1, /gatewarden:v1:site-a:gw-a:[A-Za-z0-9_-]{43}/);
  const cfgFile = join(root, 'etc/gatewarden/config.yaml');
  const key = join(root, 'var/lib/gatewarden/keys/gateway-ed25519.pem');
  assert.equal(statSync(cfgFile).mode & 0o777, 0o640);
  assert.equal(statSync(join(root, 'etc/gatewarden')).mode & 0o777, 0o750);
  assert.equal(statSync(join(root, 'var/lib/gatewarden')).mode & 0o777, 0o750);
  assert.equal(statSync(key).mode & 0o777, 0o600);
  const text = readFileSync(cfgFile, 'utf8');
  assert.match(text, /^# gatewarden configuration/m, 'the commented template');
  const loaded = await validateConfig(parseYaml(text, cfgFile), cfgFile);
  assert.equal(loaded.config.site, 'site-a');
  assert.equal(loaded.config.stateDir, '/var/lib/gatewarden', 'paths in the config are the real ones, not the root');
  assert.equal(loaded.config.control.socket, '/run/gatewarden/control.sock');
  assert.ok(existsSync(join(root, 'opt/gatewarden/dist/agent/cli/main.js')), 'install.sh built dist/');
  assert.ok(existsSync(join(root, 'opt/gatewarden/dist/config/template.yaml')), 'run-time assets beside the compiled code');
  assert.ok(!existsSync(join(root, 'opt/gatewarden/node_modules/typescript')), 'dev dependencies pruned');
  assert.ok(existsSync(join(root, 'opt/gatewarden/node_modules/better-sqlite3')));
  const unit = readFileSync(join(root, 'etc/systemd/system/gatewarden.service'), 'utf8');
  assert.match(unit, /^ExecStart=\S*node (--[\w=-]+ )*\/opt\/gatewarden\/dist\/agent\/cli\/main\.js run/m);
  assert.doesNotMatch(unit, /tsx/, 'the service runs compiled JavaScript');
  // The installed command works.
  const version = execFileSync(process.execPath, [join(root, 'opt/gatewarden/bin/gatewarden.js'), '--version'], { encoding: 'utf8' }).trim();
  assert.equal(version, JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);

  // Second run: nothing changes.
  const before = snapshot(root);
  const out2 = install(['--root', root]);
  assert.match(out2, /code in .*\n\s+unchanged/);
  assert.match(out2, /exists: kept as it is/);
  assert.match(out2, /systemd unit .*\n\s+unchanged/);
  assert.deepEqual(snapshot(root), before);

  // Upgrade: new code, same config, key and spool.
  const keyBefore = readFileSync(key, 'utf8');
  writeFileSync(cfgFile, `${text}\n# edited by the installer on site\n`);
  const spool = join(root, 'var/lib/gatewarden/spool.db');
  writeFileSync(spool, 'not really a spool, but it must survive');
  writeFileSync(join(root, 'opt/gatewarden/.install-stamp'), 'old-version\n');
  const out3 = install(['--root', root, '--upgrade']);
  assert.match(out3, /installed \d+\.\d+\.\d+/);
  assert.match(readFileSync(cfgFile, 'utf8'), /edited by the installer on site/);
  assert.equal(readFileSync(key, 'utf8'), keyBefore);
  assert.equal(readFileSync(spool, 'utf8'), 'not really a spool, but it must survive');

  // Uninstall keeps data; purge removes it.
  const out4 = install(['--root', root, '--uninstall']);
  assert.match(out4, /kept .*etc\/gatewarden and .*var\/lib\/gatewarden/);
  assert.ok(!existsSync(join(root, 'opt/gatewarden')));
  assert.ok(!existsSync(join(root, 'etc/systemd/system/gatewarden.service')));
  assert.ok(existsSync(cfgFile) && existsSync(key) && existsSync(spool));
  // --purge refuses while the spool holds undelivered events (counted with the read-only
  // reader, gatewarden spool stats --json), unless --force.
  rmSync(spool);
  const { spool: real } = openSqliteSpool({ path: spool, quotaBytes: 1e8, retentionHours: 24 });
  real.append(sealMany(testChain(), 3));
  real.close();
  const refused = spawnSync('bash', [SCRIPT, '--root', root, '--uninstall', '--purge'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(refused.status, 1, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /refusing to purge: the spool in .* still holds 3 event\(s\) not yet delivered to the broker/);
  assert.match(refused.stderr, /fix: .*--force/);
  assert.ok(existsSync(cfgFile) && existsSync(key) && existsSync(spool), 'nothing deleted');
  install(['--root', root, '--uninstall', '--purge', '--force']);
  assert.ok(!existsSync(join(root, 'etc/gatewarden')) && !existsSync(join(root, 'var/lib/gatewarden')));
});

test('install.sh --help: text for users (usage, options, examples, exit codes), no script internals; usage errors exit 2', () => {
  const h = spawnSync('bash', [SCRIPT, '--help'], { encoding: 'utf8' });
  assert.equal(h.status, 0);
  for (const part of [/^Usage: install\.sh/m, /^Options:/m, /^Examples:/m, /^Exit codes:/m, /--purge/, /--force/]) assert.match(h.stdout, part);
  for (const internal of [/STEP|PARTS|stamp|set -e|\$\{|^#/m]) assert.doesNotMatch(h.stdout, internal);
  const bad = spawnSync('bash', [SCRIPT, '--frobnicate'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown option: --frobnicate/);
  assert.doesNotMatch(bad.stderr, /failed during/);
  const force = spawnSync('bash', [SCRIPT, '--force'], { encoding: 'utf8' });
  assert.equal(force.status, 2);
  assert.match(force.stderr, /--force only goes with --uninstall --purge/);
});

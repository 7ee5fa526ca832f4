// The hardened unit: `systemd-analyze verify` clean and `systemd-analyze
// security` exposure ≤ 2.0, on the unit as install.sh installs it into a throwaway root
// (ExecStart's node must exist for verify). Needs systemd-analyze (apt-get install systemd);
// the test is skipped, saying so, when it is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/chain.js';

const SCRIPT = new URL('../../scripts/install.sh', import.meta.url).pathname;
const HAVE = spawnSync('systemd-analyze', ['--version']).status === 0;

test('systemd unit: verify is clean and security exposure ≤ 2.0', { timeout: 300_000, skip: HAVE ? false : 'systemd-analyze not installed (apt-get install -y systemd)' }, async (t) => {
  const root = tempDir('gw-unit-');
  t.after(() => rmSync(root, { recursive: true, force: true }));
  execFileSync('bash', [SCRIPT, '--root', root, '--site', 's', '--broker', 'mqtt://127.0.0.1:1883'], { stdio: 'ignore' });
  const unit = join(root, 'etc/systemd/system/gatewarden.service');
  const verify = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stderr);
  assert.equal(`${verify.stdout}${verify.stderr}`.trim(), '', 'verify prints nothing for a clean unit');
  const sec = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', unit], { encoding: 'utf8' });
  const m = /Overall exposure level for gatewarden\.service: (\d+\.\d+)/.exec(sec.stdout);
  assert.ok(m, sec.stdout + sec.stderr);
  const exposure = Number(m[1]);
  t.diagnostic(`systemd-analyze security exposure: ${exposure}`);
  console.log(`# systemd-analyze security: overall exposure ${exposure}`);
  assert.ok(exposure <= 2.0, `exposure ${exposure} > 2.0:\n${sec.stdout}`);
});

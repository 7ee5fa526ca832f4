// Clock sync detection against a real chronyd (private config, never touching the system
// clock): synchronised (local stratum 8, leap Normal) and not synchronised (no source);
// the daemon's probe stays synchronous and picks the answer up in the background; diag's
// clock check tells which source decided. Parsers of chrony's and ntpq's output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createClockSyncProbe, detectClockSync, parseChronyTracking, parseNtpqLeap } from '../../agent/clock-sync.js';
import { checkClock } from '../../agent/diag/local-checks.js';
import { tempDir } from '../helpers/chain.js';
import { startChronyd } from '../helpers/chronyd.js';

const noFiles = (): { syncFile: string; rtcDevice: string } => {
  const d = tempDir();
  return { syncFile: join(d, 'no-sync-file'), rtcDevice: join(d, 'no-rtc') };
};

test('a synchronised chronyd: ntp via chrony with its offset; probe, diag agree', { timeout: 60_000 }, async () => {
  const c = await startChronyd({ local: true });
  try {
    const d = await detectClockSync({ ...noFiles(), chronySocket: c.socket, timedatectl: false, ntpq: false });
    assert.equal(d.sync, 'ntp', d.detail);
    assert.equal(d.via, 'chrony');
    assert.equal(typeof d.offsetSeconds, 'number');
    assert.match(d.detail, /chrony: leap status Normal, stratum 8/);

    // The daemon's probe: synchronous from the start (files only), then chrony's answer.
    const probe = createClockSyncProbe({ ...noFiles(), chronySocket: c.socket, timedatectl: false, ntpq: false });
    try {
      assert.equal(probe(), 'none');
      await probe.refresh();
      assert.equal(probe(), 'ntp');
      assert.equal(probe.detail().via, 'chrony');
    } finally {
      probe.stop();
    }
    const [check] = await checkClock({ ...noFiles(), chronySocket: c.socket, timedatectl: false, ntpq: false });
    assert.equal(check!.verdict, 'pass', check!.detail);
    assert.match(check!.detail, /NTP synchronised \(chrony: leap status Normal/);
  } finally {
    await c.stop();
  }
});

test('a chronyd without a source: not synchronised, and diag says chrony is why', { timeout: 60_000 }, async () => {
  const c = await startChronyd({ local: false });
  try {
    const d = await detectClockSync({ ...noFiles(), chronySocket: c.socket, timedatectl: false, ntpq: false });
    assert.equal(d.sync, 'none');
    assert.match(d.detail, /chrony: leap status Not synchronised/);
    const [check] = await checkClock({ ...noFiles(), chronySocket: c.socket, timedatectl: false, ntpq: false });
    assert.equal(check!.verdict, 'fail');
    assert.match(check!.hint ?? '', /chronyc sources -v/);
  } finally {
    await c.stop();
  }
  // No daemon answers at all: the old verdict, with the RTC or without.
  const none = await detectClockSync({ ...noFiles(), chronySocket: join(tempDir(), 'none.sock'), timedatectl: false, ntpq: false });
  assert.equal(none.sync, 'none');
  assert.match(none.detail, /no NTP daemon reports synchronisation/);
});

test('parsers: chronyc -c tracking and ntpq rv leap,offset', () => {
  const t = parseChronyTracking('7F7F0101,,8,1796589366.358156988,-0.000012000,0.0,0.0,0.000,0.000,0.000,0.0,0.0,0.0,Normal\n');
  assert.deepEqual(t, { synced: true, offsetSeconds: -0.000012, leap: 'Normal', stratum: 8 });
  assert.equal(parseChronyTracking('00000000,,0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,Not synchronised')?.synced, false);
  assert.equal(parseChronyTracking('506 Cannot talk to daemon'), null);
  assert.deepEqual(parseNtpqLeap('leap=00, offset=-1.250\n'), { synced: true, offsetSeconds: -0.00125, leap: '00' });
  assert.equal(parseNtpqLeap('leap=11, offset=0.000')?.synced, false);
  assert.equal(parseNtpqLeap('ntpq: read: Connection refused'), null);
});

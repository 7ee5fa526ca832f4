// Snapshot retention on real temp directories: age, per-camera count and total-bytes limits,
// oldest first; only the driver's own file pattern directly under <dir>/<camera>/ is ever
// deleted (no symlink following, nothing outside dir); a failing pass is reported, not
// thrown. Plus the ONVIF config additions (retention defaults, scheme/port, tls block).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { onvifConfigSchema } from '../../drivers/onvif/config.js';
import { pruneSnapshots, snapshotFileName, snapshotTime, SnapshotPruner, SNAPSHOT_FILE } from '../../drivers/onvif/retention.js';
import { formatFingerprint } from '../../drivers/onvif/tls.js';
import { tempDir } from '../helpers/chain.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const HOUR = 3600_000;
const NOW = Date.parse('2026-06-01T12:00:00.000Z');
const LOOSE = { maxFilesPerCamera: 1000, maxTotalBytes: 1 << 30, maxAgeHours: 24 * 365 };

function fresh(): string {
  const d = tempDir('gw-snapret-');
  dirs.push(d);
  return d;
}

/** Write an image named as the driver names it, `ageMs` before NOW. */
function img(dir: string, cam: string, ageMs: number, size = 100, salt = 0): string {
  mkdirSync(join(dir, cam), { recursive: true });
  const sha = (ageMs + salt).toString(16).padStart(8, '0').slice(-8);
  const name = snapshotFileName(NOW - ageMs, `${sha}${'0'.repeat(56)}`, 'jpg');
  writeFileSync(join(dir, cam, name), Buffer.alloc(size, 1));
  return name;
}

const ls = (d: string): string[] => (existsSync(d) ? readdirSync(d).sort() : []);

describe('snapshot retention', () => {
  test('file names: writer and pruner agree; time round-trips', () => {
    const name = snapshotFileName(NOW, 'ab'.repeat(32), 'jpg');
    assert.equal(name, '2026-06-01T12-00-00-000Z-abababab.jpg');
    assert.match(name, SNAPSHOT_FILE);
    assert.equal(snapshotTime(name), NOW);
    assert.equal(snapshotTime(`${name}.tmp-1234`), NOW);
    for (const other of ['notes.txt', `${name}.bak`, '2026-06-01T12-00-00Z-abababab.jpg', `x${name}`]) assert.equal(snapshotTime(other), null, other);
  });

  test('a missing dir is empty; nothing to do is nothing done', async () => {
    const r = await pruneSnapshots(join(fresh(), 'nope'), LOOSE, NOW);
    assert.deepEqual(r, { deleted: 0, freedBytes: 0, keptFiles: 0, keptBytes: 0, perCamera: {}, errors: [] });
  });

  test('age limit', async () => {
    const d = fresh();
    const old = img(d, 'cam1', 49 * HOUR);
    const young = img(d, 'cam1', 47 * HOUR);
    const r = await pruneSnapshots(d, { ...LOOSE, maxAgeHours: 48 }, NOW);
    assert.deepEqual(ls(join(d, 'cam1')), [young]);
    assert.ok(!ls(join(d, 'cam1')).includes(old));
    assert.equal(r.deleted, 1);
    assert.deepEqual(r.perCamera, { cam1: 1 });
  });

  test('per-camera count keeps the newest of each camera', async () => {
    const d = fresh();
    const a = [5, 4, 3, 2, 1].map((h) => img(d, 'cam-a', h * HOUR));
    const b = [2, 1].map((h) => img(d, 'cam-b', h * HOUR));
    const r = await pruneSnapshots(d, { ...LOOSE, maxFilesPerCamera: 2 }, NOW);
    assert.deepEqual(ls(join(d, 'cam-a')), a.slice(3).sort());
    assert.deepEqual(ls(join(d, 'cam-b')), b.sort());
    assert.deepEqual(r.perCamera, { 'cam-a': 3 });
    assert.equal(r.keptFiles, 4);
  });

  test('total bytes: oldest first across cameras', async () => {
    const d = fresh();
    const oldest = img(d, 'cam-a', 4 * HOUR, 1000);
    const second = img(d, 'cam-b', 3 * HOUR, 1000);
    const third = img(d, 'cam-a', 2 * HOUR, 1000);
    const newest = img(d, 'cam-b', 1 * HOUR, 1000);
    const r = await pruneSnapshots(d, { ...LOOSE, maxTotalBytes: 2500 }, NOW);
    assert.deepEqual(ls(join(d, 'cam-a')), [third]);
    assert.deepEqual(ls(join(d, 'cam-b')), [newest]);
    assert.ok(!ls(join(d, 'cam-a')).includes(oldest) && !ls(join(d, 'cam-b')).includes(second));
    assert.equal(r.freedBytes, 2000);
    assert.equal(r.keptBytes, 2000);
  });

  test('never touches foreign files, symlinks, nested dirs or anything outside dir', async () => {
    const root = fresh();
    const d = join(root, 'snapshots');
    const outside = join(root, 'outside');
    mkdirSync(outside, { recursive: true });
    const precious = snapshotFileName(NOW - 900 * HOUR, 'cd'.repeat(32), 'jpg'); // our pattern, but outside dir
    writeFileSync(join(outside, precious), 'x');
    img(d, 'cam1', 900 * HOUR);
    writeFileSync(join(d, 'cam1', 'README.txt'), 'keep me');
    writeFileSync(join(d, snapshotFileName(NOW - 900 * HOUR, 'ef'.repeat(32), 'jpg')), 'top level: not a camera dir');
    symlinkSync(join(outside, precious), join(d, 'cam1', snapshotFileName(NOW - 800 * HOUR, '12'.repeat(32), 'jpg')));
    symlinkSync(outside, join(d, 'linked-cam'));
    mkdirSync(join(d, 'cam1', 'nested'));
    writeFileSync(join(d, 'cam1', 'nested', snapshotFileName(NOW - 900 * HOUR, '34'.repeat(32), 'jpg')), 'x');
    const r = await pruneSnapshots(d, { maxFilesPerCamera: 1, maxTotalBytes: 1, maxAgeHours: 1 }, NOW);
    assert.equal(r.deleted, 1, 'only the one real image');
    assert.deepEqual(ls(outside), [precious]);
    assert.equal(ls(join(d, 'cam1')).length, 3, 'README, symlink and nested dir stay');
    assert.equal(ls(d).length, 3, 'top-level file, cam1, linked-cam stay');
  });

  test('stale temp files of interrupted writes go, fresh ones stay', async () => {
    const d = fresh();
    mkdirSync(join(d, 'cam1'));
    const stale = `${snapshotFileName(NOW - 2 * HOUR, 'aa'.repeat(32), 'jpg')}.tmp-77`;
    const live = `${snapshotFileName(NOW - 1000, 'bb'.repeat(32), 'jpg')}.tmp-78`;
    writeFileSync(join(d, 'cam1', stale), 'x');
    writeFileSync(join(d, 'cam1', live), 'x');
    const r = await pruneSnapshots(d, LOOSE, NOW);
    assert.deepEqual(ls(join(d, 'cam1')), [live]);
    assert.equal(r.deleted, 0, 'debris is not counted as a pruned image');
  });

  test('pruner: a failing pass is logged and reported, never thrown; passes coalesce', async () => {
    const root = fresh();
    const notADir = join(root, 'file');
    writeFileSync(notADir, 'x');
    const errors: Error[] = [];
    const p = new SnapshotPruner({ dir: notADir, limits: LOOSE, now: () => NOW, log: pino({ level: 'silent' }), onError: (e) => errors.push(e) });
    p.request();
    p.request();
    p.request();
    await p.idle();
    assert.ok(errors.length >= 1 && errors.length <= 2, `${errors.length} passes for 3 requests`);
    assert.match(errors[0].message, /snapshot retention: cannot prune .*file/);

    const d = fresh();
    [3, 2, 1].forEach((h) => img(d, 'cam1', h * HOUR));
    const pruned: number[] = [];
    const q = new SnapshotPruner({ dir: d, limits: { ...LOOSE, maxFilesPerCamera: 1 }, now: () => NOW, log: pino({ level: 'silent' }), onPruned: (r) => pruned.push(r.deleted) });
    q.request();
    await q.stop();
    q.request(); // after stop: ignored
    await q.idle();
    assert.deepEqual(pruned, [2]);
    assert.equal(ls(join(d, 'cam1')).length, 1);
  });
});

describe('onvif config additions', () => {
  const base = { id: 'cams', cameras: [{ id: 'cam1', host: '10.0.0.5', username: 'u', password: 'p' }] };

  test('retention defaults; sizes as strings; maxTotalBytes must hold one image', () => {
    const c = onvifConfigSchema.parse(base);
    assert.equal(c.snapshot.maxFilesPerCamera, 500);
    assert.equal(c.snapshot.maxTotalBytes, 256 * 1024 * 1024);
    assert.equal(c.snapshot.maxAgeHours, 168);
    assert.equal(onvifConfigSchema.parse({ ...base, snapshot: { maxTotalBytes: '64MiB' } }).snapshot.maxTotalBytes, 64 * 1024 * 1024);
    const bad = onvifConfigSchema.safeParse({ ...base, snapshot: { maxBytes: 4 * 1024 * 1024, maxTotalBytes: 1024 * 1024 } });
    assert.equal(bad.success, false);
    assert.deepEqual(bad.error?.issues[0].path, ['snapshot', 'maxTotalBytes']);
  });

  test('scheme and port defaults; tls only with https; fingerprints normalised; insecure is exclusive', () => {
    const http = onvifConfigSchema.parse(base).cameras[0];
    assert.equal(http.scheme, 'http');
    assert.equal(http.port, 80);
    assert.equal(http.tls.insecure, false);
    const cam = (extra: Record<string, unknown>) => ({ ...base, cameras: [{ ...base.cameras[0], ...extra }] });
    const https = onvifConfigSchema.parse(cam({ scheme: 'https' })).cameras[0];
    assert.equal(https.port, 443);
    assert.equal(onvifConfigSchema.parse(cam({ scheme: 'https', port: 8443 })).cameras[0].port, 8443);
    const hex = 'ab'.repeat(32);
    const pinned = onvifConfigSchema.parse(cam({ scheme: 'https', tls: { certSha256: formatFingerprint(hex).toLowerCase() } })).cameras[0];
    assert.equal(pinned.tls.certSha256, hex.toUpperCase());
    const issues = (extra: Record<string, unknown>): string[] => {
      const r = onvifConfigSchema.safeParse(cam(extra));
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    assert.match(issues({ tls: { caFile: '/x' } })[0], /^cameras\.0\.tls: tls is only used with scheme: https/);
    assert.match(issues({ scheme: 'https', tls: { certSha256: 'abc' } })[0], /cameras\.0\.tls\.certSha256: expected a SHA-256 fingerprint/);
    assert.match(issues({ scheme: 'https', tls: { insecure: true, certSha256: hex } })[0], /cameras\.0\.tls\.insecure: insecure: true contradicts/);
    assert.match(issues({ scheme: 'ftp' })[0], /cameras\.0\.scheme/);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc16 as crc } from '../../drivers/osdp/phy/crc.js';
import { Deframer } from '../../drivers/osdp/phy/deframer.js';
import type { DecodedFrame } from '../../drivers/osdp/phy/frame.js';
import { hex, osdpVectors } from '../helpers/osdp-vectors.js';

const V = osdpVectors();
const frames = V.vectors.map((v) => hex(v.hex));
const ids = (fs: DecodedFrame[]): string[] => fs.map((f) => f.raw.toString('hex'));
const MARK = Buffer.from([0xff]);

test('whole captured stream with mark bytes, fed byte by byte', () => {
  const d = new Deframer();
  const got: DecodedFrame[] = [];
  for (const f of frames) for (const b of Buffer.concat([MARK, f])) got.push(...d.push(Buffer.from([b])));
  assert.deepEqual(ids(got), frames.map((f) => f.toString('hex')));
  assert.equal(d.counters.frames, frames.length);
  assert.equal(d.counters.markBytes, frames.length);
  assert.equal(d.counters.garbageBytes, 0);
  assert.equal(d.counters.crcErrors, 0);
  assert.equal(d.pending, 0);
});

test('every split point of a frame, and two frames in one chunk', () => {
  const a = frames[1];
  const b = frames[3];
  for (let i = 1; i < a.length; i++) {
    const d = new Deframer();
    assert.deepEqual(d.push(a.subarray(0, i)), []);
    assert.deepEqual(ids(d.push(Buffer.concat([a.subarray(i), b]))), [a.toString('hex'), b.toString('hex')]);
  }
  const seen: string[] = [];
  const cb = new Deframer({ onFrame: (f) => seen.push(f.raw.toString('hex')) });
  const returned = cb.push(Buffer.concat([MARK, a, MARK, b, a]));
  assert.deepEqual(seen, [a, b, a].map((x) => x.toString('hex')));
  assert.equal(returned.length, 3);
  assert.equal(cb.counters.frames, 3);
});

test('garbage before SOM is counted and skipped', () => {
  const d = new Deframer();
  const noise = Buffer.from([0x00, 0x12, 0xfe, 0xff, 0x01, 0xff]);
  const got = d.push(Buffer.concat([noise, frames[0]]));
  assert.deepEqual(ids(got), [frames[0].toString('hex')]);
  assert.equal(d.counters.garbageBytes, noise.length - 1);
  assert.equal(d.counters.markBytes, 1);
});

test('a trailing 0xFF waits for the next chunk as a possible mark', () => {
  const d = new Deframer();
  d.push(Buffer.from([0x00, 0xff]));
  assert.equal(d.pending, 1);
  assert.equal(d.push(frames[0]).length, 1);
  assert.equal(d.counters.markBytes, 1);
  assert.equal(d.counters.garbageBytes, 1);
});

test('bad CRC: counted, one byte skipped, the following valid frame is not lost', () => {
  const bad = Buffer.from(frames[1]);
  bad[bad.length - 1] ^= 0xff;
  const d = new Deframer();
  const got = d.push(Buffer.concat([MARK, bad, MARK, frames[2]]));
  assert.deepEqual(ids(got), [frames[2].toString('hex')]);
  assert.equal(d.counters.crcErrors, 1);
  assert.equal(d.counters.frames, 1);
});

test('resync: a valid frame hidden inside a bad candidate is recovered', () => {
  // A noise SOM whose LEN swallows the next real frame: after the CRC fails, rescanning finds it.
  const real = frames[4];
  const noise = Buffer.from([0x53, 0x65, real.length + 6, 0x00, 0x04, 0x60]);
  const d = new Deframer();
  const got = d.push(Buffer.concat([noise, real]));
  assert.deepEqual(ids(got), [real.toString('hex')]);
  assert.equal(d.counters.crcErrors, 1);
});

test('absurd LEN is a length error, not a stall', () => {
  const d = new Deframer({ maxFrameLength: 256 });
  const got = d.push(Buffer.concat([Buffer.from([0x53, 0x65, 0xff, 0x7f, 0x04]), frames[0]]));
  assert.deepEqual(ids(got), [frames[0].toString('hex')]);
  assert.equal(d.counters.lengthErrors, 1);
  const e = new Deframer();
  e.push(Buffer.from([0x53, 0x65, 0x03, 0x00, 0x04]));
  assert.equal(e.counters.lengthErrors, 1);
  assert.equal(e.pending, 0);
});

test('truncated frame: expire() drops the stale partial, keeps complete frames behind it', () => {
  const d = new Deframer();
  // A noise SOM with a plausible LEN of 200 holds the buffer ...
  d.push(Buffer.from([0x53, 0x65, 200, 0x00, 0x04, 0x60]));
  // ... while a real frame arrives behind it; nothing is delivered yet.
  assert.deepEqual(d.push(Buffer.concat([MARK, frames[5]])), []);
  const got = d.expire();
  assert.deepEqual(ids(got), [frames[5].toString('hex')]);
  assert.equal(d.counters.truncated, 1);
  assert.equal(d.pending, 0);
  // A frame cut short by a dead reader is dropped by expire(); the next one parses.
  d.push(frames[6].subarray(0, 5));
  assert.deepEqual(d.expire(), []);
  assert.equal(d.counters.truncated, 2);
  assert.equal(d.push(frames[6]).length, 1);
});

test('reset() drops everything pending and counts it', () => {
  const d = new Deframer();
  d.push(frames[0].subarray(0, 6));
  d.reset();
  assert.equal(d.pending, 0);
  assert.equal(d.counters.truncated, 1);
  assert.equal(d.counters.garbageBytes, 6);
  assert.equal(d.push(frames[0]).length, 1);
});

test('valid check characters but malformed body: decodeErrors, resync', () => {
  // CRC-correct frame whose SCB length overruns the frame.
  const body = Buffer.from([0x53, 0x65, 0x0a, 0x00, 0x0c, 0x09, 0x15, 0x60, 0, 0]);
  const d = new Deframer();
  const errs: string[] = [];
  const e = new Deframer({ onError: (err) => errs.push(err.kind) });
  const fixed = withCrc(body);
  d.push(Buffer.concat([fixed, frames[0]]));
  e.push(fixed);
  assert.equal(d.counters.decodeErrors, 1);
  assert.equal(d.counters.frames, 1);
  assert.deepEqual(errs, ['bad-scb']);
});

function withCrc(b: Buffer): Buffer {
  const out = Buffer.from(b);
  out.writeUInt16LE(crc(out, 0, out.length - 2), out.length - 2);
  return out;
}

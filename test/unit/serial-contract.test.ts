// The byte-port contract (drivers/transport/types.ts) as one suite, run against both lines a
// serial driver can be given through the real transport (drivers/transport/serial.ts
// openBytePort): a socat pty pair (test/helpers/pty.ts) opened as serial devices, and the
// in-process pair the demo simulators use (createInProcessPair, `inproc:<name>`). Unplugging
// is killing socat for the pty and sever() for the pair; plugging back is socat re-created
// at the same paths and replug(). The last case holds the line the way every serial driver
// does: one port object under a SessionLink through portSession (drivers/transport/port-link.ts).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { systemClock } from '../../agent/clock.js';
import { SessionLink } from '../../drivers/transport/link.js';
import { portSession } from '../../drivers/transport/port-link.js';
import { createInProcessPair, openBytePort, registerInProcessEndpoint } from '../../drivers/transport/serial.js';
import type { BytePort } from '../../drivers/transport/types.js';
import { waitUntil } from '../helpers/driver-context.js';
import { openPtyPair } from '../helpers/pty.js';

/** One end as a test sees it: everything it received, every close it reported. */
interface End {
  port: BytePort;
  /** The path it was opened by (what a driver's config names). */
  configured: string;
  rx: () => Buffer;
  closes: Array<Error | undefined>;
  /** The next chunk, or a rejection when the port closes first (a read pending on the line). */
  next(): Promise<Buffer>;
}

interface Line {
  a: End;
  b: End;
  unplug(): Promise<void>;
  replug(): Promise<void>;
  dispose(): Promise<void>;
}

function end(port: BytePort, configured: string): End {
  const chunks: Buffer[] = [];
  const closes: Array<Error | undefined> = [];
  let waiter: { resolve(b: Buffer): void; reject(e: Error): void } | null = null;
  port.onData((c) => {
    chunks.push(c);
    const w = waiter;
    waiter = null;
    w?.resolve(c);
  });
  port.onClose((err) => {
    closes.push(err);
    const w = waiter;
    waiter = null;
    w?.reject(new Error(`${port.path} closed (${err?.message ?? 'by close()'}) while a read was pending`));
  });
  return { port, configured, rx: () => Buffer.concat(chunks), closes, next: () => new Promise((resolve, reject) => (waiter = { resolve, reject })) };
}

async function ptyLine(): Promise<Line> {
  let pair = await openPtyPair();
  const dir = pair.dir;
  const a = end(openBytePort({ path: pair.a, baudRate: 9600 }), pair.a);
  const b = end(openBytePort({ path: pair.b, baudRate: 9600 }), pair.b);
  return {
    a,
    b,
    unplug: () => pair.close(),
    replug: async () => {
      pair = await openPtyPair({ dir });
    },
    dispose: async () => {
      await a.port.close();
      await b.port.close();
      await pair.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let lines = 0;
async function inProcessLine(): Promise<Line> {
  const name = `serial-contract-${process.pid}-${++lines}`;
  const pair = createInProcessPair(name);
  const unregister = registerInProcessEndpoint(name, pair.a);
  // As the demo wires it: the driver opens `inproc:<name>`, the simulator holds end b.
  const a = end(openBytePort({ path: `inproc:${name}`, baudRate: 9600 }), `inproc:${name}`);
  const b = end(pair.b, pair.b.path);
  return {
    a,
    b,
    unplug: async () => pair.sever(),
    replug: async () => pair.replug(),
    dispose: async () => {
      await a.port.close();
      await b.port.close();
      unregister();
    },
  };
}

const pattern = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff));
const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface ContractOptions {
  /** Set where the real port is known to miss an unplug of a quiet line: the case runs, reported as todo. */
  quietUnplugTodo?: string;
}

function serialContract(name: string, openLine: () => Promise<Line>, opts: ContractOptions = {}): void {
  describe(`byte-port contract: ${name}`, () => {
    const setup = async (t: TestContext): Promise<Line> => {
      const line = await openLine();
      t.after(() => line.dispose());
      return line;
    };

    test('open and close: isOpen follows; onClose once per open, without error; close idempotent; path as configured', async (t) => {
      const { a } = await setup(t);
      assert.equal(a.port.path, a.configured);
      assert.equal(a.port.isOpen, false);
      await a.port.close(); // never opened: nothing to report
      await a.port.open();
      await a.port.open();
      assert.equal(a.port.isOpen, true);
      await a.port.close();
      assert.equal(a.port.isOpen, false);
      await waitUntil(() => a.closes.length === 1, 'onClose after close()');
      await a.port.close();
      await a.port.open();
      await a.port.close();
      await waitUntil(() => a.closes.length === 2, 'onClose after the second close()');
      await settle(50);
      assert.deepEqual(a.closes, [undefined, undefined], 'once per open, no error for a close() asked for');
    });

    test('bytes arrive complete and in order whatever the chunking, both ways at once', async (t) => {
      const { a, b } = await setup(t);
      await a.port.open();
      await b.port.open();
      // One write larger than a pty's buffer, alone on a fresh line. (The same write after
      // heavy two-way traffic sometimes stalls forever on the pty under serialport: it is
      // kept out of this suite and reported, not hidden in a timeout.)
      const big = pattern(65_536, 7);
      await a.port.write(big);
      await waitUntil(() => b.rx().length >= big.length, 'the 64 KiB write delivered');
      assert.ok(b.rx().equals(big));
      const toB = Array.from({ length: 200 }, (_, i) => pattern(((i * 37) % 300) + 1, i));
      const toA = Array.from({ length: 150 }, (_, i) => pattern(((i * 53) % 200) + 1, i + 1000));
      // Not awaited one by one: writes queue in call order.
      await Promise.all([...toB.map((c) => a.port.write(c)), ...toA.map((c) => b.port.write(c))]);
      const wantB = Buffer.concat([big, ...toB]);
      const wantA = Buffer.concat(toA);
      await waitUntil(() => b.rx().length >= wantB.length && a.rx().length >= wantA.length, 'every byte delivered');
      assert.ok(b.rx().equals(wantB), 'a → b in order');
      assert.ok(a.rx().equals(wantA), 'b → a in order');
    });

    test('writes after close reject naming the port; a closed end receives nothing; bytes flow again once it reopens', async (t) => {
      const { a, b } = await setup(t);
      await a.port.open();
      await b.port.open();
      await a.port.close();
      await assert.rejects(a.port.write(Buffer.from('x')), (e: Error) => e.message.includes(a.port.path));
      await a.port.open();
      await b.port.close();
      await a.port.write(Buffer.from('to nobody')); // the line is there, the other end is not listening
      await settle(100);
      assert.equal(b.rx().length, 0, 'no data callback while closed');
      await b.port.open();
      await a.port.write(Buffer.from('heard'));
      await waitUntil(() => b.rx().toString().endsWith('heard'), 'bytes after reopen');
    });

    test('close while a read is pending: the read ends through onClose, nothing arrives after', async (t) => {
      const { a, b } = await setup(t);
      await a.port.open();
      await b.port.open();
      const read = b.next();
      await b.port.close();
      await assert.rejects(read, /closed \(by close\(\)\) while a read was pending/);
      await a.port.write(Buffer.from('late'));
      await settle(100);
      assert.equal(b.rx().length, 0);
      assert.deepEqual(b.closes, [undefined]);
    });

    test('unplug: every open end closes once with an error; writes reject; open fails until the line is back, then the same ports carry bytes again', async (t) => {
      const line = await setup(t);
      const { a, b } = line;
      await a.port.open();
      await b.port.open();
      // Traffic first: on a line that never carried a byte the pty's unplug is not always
      // seen (the quiet-line case below).
      await a.port.write(Buffer.from('a'));
      await b.port.write(Buffer.from('b'));
      await waitUntil(() => a.rx().length === 1 && b.rx().length === 1, 'one byte each way');
      const read = a.next();
      read.catch(() => undefined); // asserted below; the line may drop before that
      await line.unplug();
      await waitUntil(() => a.closes.length === 1 && b.closes.length === 1, 'both ends report the lost line');
      for (const e of [a, b]) {
        assert.ok(e.closes[0] instanceof Error, `${e.port.path}: onClose without an error after an unplug`);
        assert.equal(e.port.isOpen, false);
      }
      await assert.rejects(read, /closed \(.+\) while a read was pending/);
      await assert.rejects(a.port.write(Buffer.from('x')), (e: Error) => e.message.includes(a.port.path));
      await assert.rejects(a.port.open(), (e: Error) => e instanceof Error && e.message.includes(a.configured), 'open of an unplugged line fails naming it');
      assert.equal(a.port.isOpen, false);
      await line.replug();
      await a.port.open();
      await b.port.open();
      await a.port.write(Buffer.from('ping'));
      await b.port.write(Buffer.from('pong'));
      await waitUntil(() => b.rx().toString() === 'aping' && a.rx().toString() === 'bpong', 'bytes both ways after replug');
      await a.port.close();
      await waitUntil(() => a.closes.length === 2, 'close after replug');
      assert.equal(a.closes[1], undefined);
      await settle(50);
      assert.equal(b.closes.length, 1, 'the other end is not closed by its peer closing');
    });

    test('unplug of a quiet line (no byte ever received): both open ends still close with an error', { todo: opts.quietUnplugTodo }, async (t) => {
      const line = await setup(t);
      const { a, b } = line;
      await a.port.open();
      await b.port.open();
      await line.unplug();
      await waitUntil(() => a.closes.length === 1 && b.closes.length === 1, 'both ends report the lost line', 3_000);
      assert.ok(a.closes[0] instanceof Error && b.closes[0] instanceof Error);
    });

    test('as the drivers hold it (SessionLink + portSession): unplug is a loss naming the port, retries fail while unplugged, replug brings the same port up', async (t) => {
      const line = await setup(t);
      const { a, b } = line;
      const downs: Array<{ message: string; wasUp: boolean }> = [];
      let opened = 0;
      const link = new SessionLink({
        name: a.configured,
        log: pino({ level: 'silent' }),
        clock: systemClock,
        policy: { minMs: 10, maxMs: 40, minStableMs: 60_000, flapCount: 1_000, flapWindowMs: 60_000, holdMs: 1_000 },
        session: portSession(a.port, { opened: () => opened++ }),
        onDown: (err, wasUp) => downs.push({ message: err.message, wasUp }),
      });
      t.after(() => link.stop());
      await link.start({ firstMustConnect: true });
      assert.equal(link.state, 'up');
      await b.port.open();
      await b.port.write(Buffer.from('hello'));
      await waitUntil(() => a.rx().toString() === 'hello', 'bytes to the driver end');
      await line.unplug();
      await waitUntil(() => downs.some((d) => !d.wasUp), 'a failed reopen while unplugged');
      assert.equal(downs[0].wasUp, true);
      assert.ok(downs[0].message.startsWith(`${a.port.path}: line lost (`), downs[0].message);
      const failed = downs.find((d) => !d.wasUp)!;
      assert.ok(failed.message.includes(a.configured), `a reopen failure names the port: ${failed.message}`);
      assert.equal(link.reconnects, 0);
      await line.replug();
      await waitUntil(() => link.state === 'up' && link.reconnects === 1, 'the link up again on the same port');
      assert.equal(opened, 2);
      await b.port.open();
      await b.port.write(Buffer.from('again'));
      await waitUntil(() => a.rx().toString() === 'helloagain', 'bytes after the link came back');
      assert.equal(downs.filter((d) => d.wasUp).length, 1, 'one loss');
    });
  });
}

// serialport 13 (@serialport/bindings-cpp 13.0.0) on Linux: after socat dies, a slave that
// never received a byte often reads 0 bytes instead of failing with EIO, and its unixRead
// retried that at once, forever (no 'close', isOpen true, a core spinning): 18 of 20 quiet
// unplugs before drivers/transport/eof-read.ts made a 0-byte read the hang-up it is.
serialContract('socat pty pair (serialport)', ptyLine, {});
serialContract('in-process pair', inProcessLine);

// BytePort implementations (see ./types.ts for the contract):
// - SerialBytePort: a real serial device through serialport@13 (RS-485 adapters, ptys).
// - createInProcessPair(): two connected in-memory ends — a real implementation of the same
//   contract, used by the demo simulators so `npm start` needs no socat or hardware. It
//   behaves as a socat pty pair does under SerialBytePort (test/unit/serial-contract.test.ts
//   runs both through one suite): ordered delivery, nothing delivered to a closed end,
//   sever() closes every open end with an error and open() fails until replug().
// - openBytePort(): path → implementation; `inproc:<name>` resolves to an end registered
//   with registerInProcessEndpoint() in this process.
import { SerialPort } from 'serialport';
import { installEofAwareRead, type UnixPortLike } from './eof-read.js';
import type { BytePort, BytePortOptions } from './types.js';
import { DriverRetryableError } from '../types.js';

export type { BytePort, BytePortOptions } from './types.js';

type DataCb = (chunk: Buffer) => void;
type CloseCb = (err?: Error) => void;

export class SerialBytePort implements BytePort {
  readonly path: string;
  private port?: SerialPort;
  private readonly dataCbs: DataCb[] = [];
  private readonly closeCbs: CloseCb[] = [];
  private baud: number;

  constructor(opts: BytePortOptions) {
    this.path = opts.path;
    this.baud = opts.baudRate;
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  async open(): Promise<void> {
    if (this.isOpen) return;
    const port = new SerialPort({ path: this.path, baudRate: this.baud, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    // Before the first read starts (it does once 'data' is listened to, below).
    const binding = (port as unknown as { port?: UnixPortLike }).port;
    if (binding) installEofAwareRead(binding, this.path);
    this.port = port;
    port.on('data', (chunk: Buffer) => {
      for (const cb of this.dataCbs) cb(chunk);
    });
    // serialport emits 'error' for I/O errors on an open port; 'close' follows a lost line
    // with a disconnect error. Both funnel into one onClose call per open.
    port.on('error', () => undefined);
    port.once('close', (err?: Error | null) => {
      if (this.port === port) this.port = undefined;
      for (const cb of this.closeCbs) cb(err ?? undefined);
    });
  }

  async write(bytes: Uint8Array): Promise<void> {
    const port = this.port;
    if (!port?.isOpen) throw new Error(`${this.path}: port is not open`);
    await new Promise<void>((resolve, reject) => {
      port.write(Buffer.from(bytes), (err) => {
        if (err) return reject(err);
        port.drain((e) => (e ? reject(e) : resolve()));
      });
    });
  }

  onData(cb: DataCb): void {
    this.dataCbs.push(cb);
  }
  onClose(cb: CloseCb): void {
    this.closeCbs.push(cb);
  }

  async close(): Promise<void> {
    const port = this.port;
    if (!port?.isOpen) return;
    await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  async setBaudRate(baud: number): Promise<void> {
    this.baud = baud;
    const port = this.port;
    if (!port?.isOpen) return;
    await new Promise<void>((resolve, reject) => port.update({ baudRate: baud }, (err) => (err ? reject(err) : resolve())));
  }
}

/** What both ends of a pair share: whether the line is there (a pty whose socat runs). */
interface InProcessLine {
  unplugged: boolean;
}

/** One end of an in-process pair. Delivery is asynchronous (like a real line) and ordered. */
class InProcessEnd implements BytePort {
  peer?: InProcessEnd;
  private open_ = false;
  private readonly dataCbs: DataCb[] = [];
  private readonly closeCbs: CloseCb[] = [];

  constructor(
    readonly path: string,
    private readonly line: InProcessLine,
  ) {}

  get isOpen(): boolean {
    return this.open_;
  }
  async open(): Promise<void> {
    if (this.open_) return;
    // As opening a serial device whose adapter (or socat) is gone: the OS says ENOENT.
    if (this.line.unplugged) throw Object.assign(new Error(`${this.path}: No such file or directory, cannot open (line unplugged)`), { code: 'ENOENT' });
    this.open_ = true;
  }
  async write(bytes: Uint8Array): Promise<void> {
    if (!this.open_) throw new Error(`${this.path}: port is not open`);
    const copy = Buffer.from(bytes);
    const peer = this.peer;
    // Bytes written while the other end is closed are lost, as on a real line.
    setImmediate(() => peer?.deliver(copy));
  }
  deliver(chunk: Buffer): void {
    if (!this.open_) return;
    for (const cb of this.dataCbs) cb(chunk);
  }
  onData(cb: DataCb): void {
    this.dataCbs.push(cb);
  }
  onClose(cb: CloseCb): void {
    this.closeCbs.push(cb);
  }
  async close(): Promise<void> {
    this.shut();
  }
  shut(err?: Error): void {
    if (!this.open_) return;
    this.open_ = false;
    for (const cb of this.closeCbs) cb(err);
  }
  async setBaudRate(): Promise<void> {
    // No line timing in memory: nothing to change.
  }
}

export interface InProcessPair {
  /** The end a driver opens: path `inproc:<name>` (register it with registerInProcessEndpoint). */
  a: BytePort;
  /** The simulator's end: path `inproc:<name>#b`. */
  b: BytePort;
  /** Break the line: both open ends close with an error and open() fails (like unplugging the adapter). */
  sever(): void;
  /** The line is back (the adapter plugged in again): the same ends can open. */
  replug(): void;
}

export function createInProcessPair(name = 'pair'): InProcessPair {
  const line: InProcessLine = { unplugged: false };
  const a = new InProcessEnd(`${INPROC_PREFIX}${name}`, line);
  const b = new InProcessEnd(`${INPROC_PREFIX}${name}#b`, line);
  a.peer = b;
  b.peer = a;
  return {
    a,
    b,
    sever: () => {
      line.unplugged = true;
      const err = new Error(`inproc:${name}: line severed`);
      a.shut(err);
      b.shut(err);
    },
    replug: () => {
      line.unplugged = false;
    },
  };
}

const endpoints = new Map<string, BytePort>();

/** Make an in-process end reachable as `inproc:<name>` for openBytePort (demo simulators). */
export function registerInProcessEndpoint(name: string, port: BytePort): () => void {
  endpoints.set(name, port);
  return () => {
    if (endpoints.get(name) === port) endpoints.delete(name);
  };
}

export const INPROC_PREFIX = 'inproc:';

/** A port for a configured path: `inproc:<name>` → a registered in-process end, else a serial device. */
export function openBytePort(opts: BytePortOptions): BytePort {
  if (opts.path.startsWith(INPROC_PREFIX)) {
    const name = opts.path.slice(INPROC_PREFIX.length);
    const port = endpoints.get(name);
    if (!port) throw new Error(`${opts.path}: no in-process endpoint of that name in this process`);
    return port;
  }
  return new SerialBytePort(opts);
}

/** Open a port for a driver's start(): a port that cannot open is a retryable failure (docs/contracts.md §Driver seam). */
export async function openPortForDriver(opts: BytePortOptions): Promise<BytePort> {
  const port = openBytePort(opts);
  try {
    await port.open();
  } catch (err) {
    throw new DriverRetryableError(`${opts.path}: cannot open (${(err as Error).message})`);
  }
  return port;
}

// The byte-stream transport seam (docs/contracts.md §Driver seam): a tiny promise-based port
// that serial protocol stacks (OSDP, Wiegand converters) are written against. Two real
// implementations live in ./serial.ts: a serialport-backed one and an in-process pair.
//
// Contract:
// - open() resolves once bytes can flow; rejects with the OS error (ENOENT, EACCES …).
// - write() resolves once the bytes are handed to the OS (drained); rejects if closed.
// - onData callbacks get every received chunk, in order, only while open.
// - onClose callbacks run exactly once per open, whether close() was called (err undefined)
//   or the line vanished (unplugged device, socat killed: err set).
// - close() is idempotent and resolves once the port is released.

export interface BytePort {
  /** What was opened (device path, or `inproc:<name>`), for logs and diagnostics. */
  readonly path: string;
  readonly isOpen: boolean;
  open(): Promise<void>;
  write(bytes: Uint8Array): Promise<void>;
  onData(cb: (chunk: Buffer) => void): void;
  onClose(cb: (err?: Error) => void): void;
  close(): Promise<void>;
  /** Change the line speed of an open port (OSDP COMSET). Ports without a baud ignore it. */
  setBaudRate(baud: number): Promise<void>;
}

export interface BytePortOptions {
  path: string;
  baudRate: number;
}

// Transport + framing seam: one modbus-serial client over one serial port (RTU framing)
// or one TCP connection (MBAP framing). It turns the library's callback errors into
// classified ModbusRequestError kinds the scheduler counts and acts on. It does no
// scheduling: the caller (BusScheduler) guarantees one request at a time.
import modbusSerial from 'modbus-serial';

// modbus-serial is CommonJS: module.exports is the client class and `.default` points back
// to it, which is the form TypeScript's NodeNext resolution types correctly.
const ModbusRTU = modbusSerial.default;
type ModbusRTU = InstanceType<typeof ModbusRTU>;
import type { RtuTransportConfig, TcpTransportConfig } from './config.js';

export type RequestErrorKind = 'timeout' | 'exception' | 'crc' | 'frame' | 'closed' | 'io';

export class ModbusRequestError extends Error {
  override readonly name = 'ModbusRequestError';
  constructor(
    readonly kind: RequestErrorKind,
    message: string,
    /** Modbus exception code (spec §7) when kind = 'exception'. */
    readonly code?: number,
  ) {
    super(message);
  }
}

/** Names of the exception codes of the Modbus application protocol §7. */
export const EXCEPTION_NAMES: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

export type ReadFc = 1 | 2 | 3 | 4;
export type WriteFc = 5 | 6 | 15 | 16;

/** The seam the scheduler drives; a test or another transport can implement it for real. */
export interface ModbusLink {
  readonly isOpen: boolean;
  /** Rejects with the OS/socket error (ENOENT, EACCES, ECONNREFUSED …). */
  open(): Promise<void>;
  /** Idempotent; resolves once the port/socket is released. */
  close(): Promise<void>;
  /** Registers (FC3/4) as numbers, bits (FC1/2) as booleans, exactly `count` long. */
  read(unitId: number, fc: ReadFc, address: number, count: number): Promise<number[] | boolean[]>;
  write(unitId: number, fc: WriteFc, address: number, values: number[] | boolean[]): Promise<void>;
  /** Called once when an open port/socket is lost (unplugged, peer closed). */
  onLost(cb: (reason: string) => void): void;
  describe(): string;
}

interface LibError {
  message?: string;
  errno?: string;
  modbusCode?: number;
}

function classify(e: unknown): ModbusRequestError {
  const err = (e ?? {}) as LibError;
  const msg = String(err.message ?? e);
  if (typeof err.modbusCode === 'number') {
    return new ModbusRequestError('exception', `exception ${err.modbusCode} (${EXCEPTION_NAMES[err.modbusCode] ?? 'unknown'})`, err.modbusCode);
  }
  if (err.errno === 'ETIMEDOUT' || msg === 'Timed out') return new ModbusRequestError('timeout', 'no response within the timeout');
  if (msg === 'CRC error') return new ModbusRequestError('crc', 'response failed its CRC check');
  if (msg.startsWith('Data length error') || msg.startsWith('Unexpected data error')) return new ModbusRequestError('frame', msg);
  if (msg === 'Port Not Open') return new ModbusRequestError('closed', 'port not open');
  return new ModbusRequestError('io', msg);
}

export interface LinkOptions {
  timeoutMs: number;
}

type Callback<T> = (err: unknown, res: T) => void;

/** modbus-serial backed link. A fresh client per open() so no state survives a reconnect. */
export class SerialLibLink implements ModbusLink {
  private client: ModbusRTU | null = null;
  private lostCb: (reason: string) => void = () => undefined;
  private pending: ((e: ModbusRequestError) => void) | null = null;

  constructor(
    private readonly transport: RtuTransportConfig | TcpTransportConfig,
    private readonly opts: LinkOptions,
  ) {}

  get isOpen(): boolean {
    return this.client?.isOpen === true;
  }

  describe(): string {
    const t = this.transport;
    return t.type === 'rtu' ? `${t.path} ${t.baudRate} ${t.dataBits}${t.parity[0].toUpperCase()}${t.stopBits}` : `tcp://${t.host}:${t.port}`;
  }

  onLost(cb: (reason: string) => void): void {
    this.lostCb = cb;
  }

  async open(): Promise<void> {
    await this.close();
    const client = new ModbusRTU();
    // modbus-serial has no request timeout by default: a request to an absent unit would never complete.
    client.setTimeout(this.opts.timeoutMs);
    // Without an 'error' listener an EventEmitter error would crash the process.
    client.on('error', () => undefined);
    const t = this.transport;
    try {
      if (t.type === 'rtu') {
        await client.connectRTUBuffered(t.path, { baudRate: t.baudRate, parity: t.parity, dataBits: t.dataBits, stopBits: t.stopBits });
      } else {
        await withTimer(client.connectTCP(t.host, { port: t.port }), t.connectTimeoutMs, `connect to ${t.host}:${t.port} timed out`);
      }
    } catch (e) {
      await destroy(client, t.type === 'rtu');
      throw e instanceof Error ? e : new Error(String(e));
    }
    this.client = client;
    client.on('close', () => {
      if (this.client !== client) return;
      this.client = null;
      this.pending?.(new ModbusRequestError('closed', 'port closed'));
      this.lostCb(t.type === 'rtu' ? 'serial port closed' : 'connection closed');
    });
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    if (c) await destroy(c, this.transport.type === 'rtu');
  }

  read(unitId: number, fc: ReadFc, address: number, count: number): Promise<number[] | boolean[]> {
    return this.request<{ data: number[] | boolean[] }>((c, cb) => {
      if (fc === 1) c.writeFC1(unitId, address, count, cb as Callback<{ data: boolean[] }>);
      else if (fc === 2) c.writeFC2(unitId, address, count, cb as Callback<{ data: boolean[] }>);
      else if (fc === 3) c.writeFC3(unitId, address, count, cb as Callback<{ data: number[] }>);
      else c.writeFC4(unitId, address, count, cb as Callback<{ data: number[] }>);
    }).then((r) => (fc <= 2 ? (r.data as boolean[]).slice(0, count) : (r.data as number[])));
  }

  async write(unitId: number, fc: WriteFc, address: number, values: number[] | boolean[]): Promise<void> {
    await this.request<unknown>((c, cb) => {
      if (fc === 5) c.writeFC5(unitId, address, values[0] === true || values[0] === 1, cb);
      else if (fc === 6) c.writeFC6(unitId, address, Number(values[0]), cb);
      else if (fc === 15) c.writeFC15(unitId, address, (values as Array<number | boolean>).map((v) => v === true || v === 1), cb);
      else c.writeFC16(unitId, address, (values as Array<number | boolean>).map(Number), cb);
    });
  }

  private request<T>(send: (c: ModbusRTU, cb: Callback<T>) => void): Promise<T> {
    const c = this.client;
    if (!c || !c.isOpen) return Promise.reject(new ModbusRequestError('closed', 'port not open'));
    if (this.transport.type === 'rtu') dropStaleBytes(c);
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const finish = (err: ModbusRequestError | null, res?: T): void => {
        if (done) return;
        done = true;
        clearTimeout(guard);
        this.pending = null;
        if (err) reject(err);
        else resolve(res as T);
      };
      // Belt and braces: the library's own timer only starts once the frame is handed to the port.
      const guard = setTimeout(() => finish(new ModbusRequestError('timeout', 'no response within the timeout')), this.opts.timeoutMs + 1000);
      this.pending = (e) => finish(e);
      try {
        send(c, (err, res) => finish(err ? classify(err) : null, res));
      } catch (e) {
        finish(classify(e));
      }
    });
  }
}

/**
 * On an RTU line the master speaks first, so bytes buffered before a new request are a late
 * answer to an earlier, timed-out one. modbus-serial's buffered RTU port keeps them and would
 * hand them to the next request of the same unit and function — a wrong value that passes the
 * CRC. Clearing its buffer before each request closes that hole.
 */
function dropStaleBytes(c: ModbusRTU): void {
  const port = (c as unknown as { _port?: { _buffer?: Buffer } })._port;
  if (port && Buffer.isBuffer(port._buffer) && port._buffer.length > 0) port._buffer = Buffer.alloc(0);
}

/** Release the port: close() for a serial port (the buffered RTU port has no destroy), destroy() for a socket. */
function destroy(c: ModbusRTU, rtu: boolean): Promise<void> {
  (c as unknown as { removeAllListeners(e: string): void }).removeAllListeners('close');
  return new Promise((resolve) => {
    const t = setTimeout(resolve, 2000);
    const cb = (): void => {
      clearTimeout(t);
      resolve();
    };
    try {
      if (rtu) c.close(cb);
      else c.destroy(cb);
    } catch {
      cb();
    }
  });
}

function withTimer<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}

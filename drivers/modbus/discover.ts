// `gatewarden discover modbus --port PATH | --host H`: which unit ids answer on a bus.
// Bounded: each id gets one read (holding register 0 by default) with a short timeout,
// so 247 ids at 300 ms take at most ~75 s. Any answer — data or an exception such as 2
// (the unit has no register 0) — proves a unit is there; silence and TCP-gateway
// exceptions 10/11 (no such target) do not. The CLI draws the progress bar from onProgress.
import { SerialLibLink, ModbusRequestError, EXCEPTION_NAMES, type ModbusLink, type ReadFc } from './link.js';

export interface ScanOptions {
  /** Serial device (RTU) … */
  port?: string;
  baudRate?: number;
  parity?: 'none' | 'even' | 'odd';
  dataBits?: 7 | 8;
  stopBits?: 1 | 2;
  /** … or a TCP host (port tcpPort, default 502). */
  host?: string;
  tcpPort?: number;
  /** Unit ids to try; default 1–247. */
  ids?: number[];
  /** Per-id timeout; default 300 ms. */
  timeoutMs?: number;
  /** Probe read; default FC3 address 0, one register. */
  probe?: { fc: ReadFc; address: number };
  onProgress?(p: { done: number; total: number; unitId: number; found: number }): void;
  signal?: AbortSignal;
  /** Injected link (tests); default modbus-serial over the port/host given. */
  link?: ModbusLink;
}

export interface ScanHit {
  unitId: number;
  answer: 'data' | 'exception';
  detail: string;
  /** Round trip of the probe, ms. */
  ms: number;
}

export async function scanUnits(o: ScanOptions): Promise<ScanHit[]> {
  if ((o.port === undefined) === (o.host === undefined) && !o.link) throw new Error('give exactly one of port (serial) or host (TCP)');
  const ids = o.ids ?? Array.from({ length: 247 }, (_, i) => i + 1);
  if (ids.length > 256 || ids.some((i) => !Number.isInteger(i) || i < 0 || i > 255)) throw new Error('unit ids are integers 0–255, at most 256 of them');
  const timeoutMs = o.timeoutMs ?? 300;
  const probe = o.probe ?? { fc: 3, address: 0 };
  const link =
    o.link ??
    new SerialLibLink(
      o.port !== undefined
        ? { type: 'rtu', path: o.port, baudRate: o.baudRate ?? 9600, parity: o.parity ?? 'even', dataBits: o.dataBits ?? 8, stopBits: o.stopBits ?? 1 }
        : { type: 'tcp', host: o.host as string, port: o.tcpPort ?? 502, connectTimeoutMs: 5000 },
      { timeoutMs },
    );
  await link.open();
  const hits: ScanHit[] = [];
  try {
    let done = 0;
    for (const unitId of ids) {
      if (o.signal?.aborted) break;
      const t0 = performance.now();
      try {
        const data = await link.read(unitId, probe.fc, probe.address, 1);
        hits.push({ unitId, answer: 'data', detail: `${probe.address} = ${String(data[0])}`, ms: Math.round(performance.now() - t0) });
      } catch (e) {
        if (e instanceof ModbusRequestError && e.kind === 'exception' && e.code !== 10 && e.code !== 11) {
          hits.push({ unitId, answer: 'exception', detail: `exception ${e.code} (${EXCEPTION_NAMES[e.code as number] ?? 'unknown'})`, ms: Math.round(performance.now() - t0) });
        } else if (e instanceof ModbusRequestError && e.kind === 'closed') {
          throw new Error(`bus lost during the scan at unit ${unitId}`);
        }
      }
      done += 1;
      o.onProgress?.({ done, total: ids.length, unitId, found: hits.length });
      // RTU needs the inter-frame silence; a few ms covers 9600 baud (T3.5 ≈ 4 ms).
      if (o.port !== undefined) await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await link.close();
  }
  return hits;
}

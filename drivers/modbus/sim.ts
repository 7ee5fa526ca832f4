// Demo simulator for `npm start`: a small in-process Modbus TCP slave on loopback with one
// environment sensor (unit 1). Input register 0 = temperature × 10 (int16) drifting slowly
// between ~24 and ~33 °C so it crosses a 30 °C threshold; discrete input 0 = door contact,
// open (true) for 8 s every 45 s. Register 1 = humidity × 10. Coil 0 is writable (a relay).
// Never used on a real site.
import { createServer } from 'node:net';
import modbusSerial from 'modbus-serial';
import type { IServiceVector } from 'modbus-serial';

const ServerTCP = modbusSerial.ServerTCP;

export interface ModbusSim {
  port: number;
  close(): Promise<void>;
}

export interface ModbusSimOptions {
  /** 0 = pick a free port. */
  port: number;
  host?: string;
  /** Time source (ms) so the demo's drift can be driven in tests. */
  now?: () => number;
}

export async function startModbusSim(opts: ModbusSimOptions): Promise<ModbusSim> {
  const now = opts.now ?? Date.now;
  const t0 = now();
  const coils = new Map<number, boolean>();
  const temperature = (): number => {
    const s = (now() - t0) / 1000;
    return Math.round((28.5 + 4.5 * Math.sin((2 * Math.PI * s) / 240) + 0.3 * Math.sin(s / 7)) * 10);
  };
  const humidity = (): number => Math.round((45 + 5 * Math.sin((now() - t0) / 90_000)) * 10);
  const doorOpen = (): boolean => ((now() - t0) / 1000) % 45 >= 37;
  const vector: IServiceVector = {
    getInputRegister: (addr: number) => (addr === 0 ? temperature() & 0xffff : addr === 1 ? humidity() : 0),
    getHoldingRegister: () => 0,
    getDiscreteInput: (addr: number) => (addr === 0 ? doorOpen() : false),
    getCoil: (addr: number) => coils.get(addr) ?? false,
    setCoil: (addr: number, value: boolean) => {
      coils.set(addr, value);
    },
    setRegister: () => undefined,
  };
  // ServerTCP treats port 0 as "use 502", so a free port is found first (retried if taken meanwhile).
  for (let attempt = 0; ; attempt++) {
    const port = opts.port === 0 ? await freePort(opts.host ?? '127.0.0.1') : opts.port;
    const server = new ServerTCP(vector, { host: opts.host ?? '127.0.0.1', port, unitID: 1 });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('initialized', () => resolve());
        server.once('serverError', (e: Error) => reject(e));
      });
    } catch (e) {
      if (opts.port === 0 && attempt < 5 && (e as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
      throw e;
    }
    return {
      port,
      close: () =>
        new Promise<void>((resolve) => {
          for (const s of server.socks.keys()) s.destroy();
          server.close(() => resolve());
        }),
    };
  }
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host }, () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** Driver config matching the simulator, for the demo site. */
export function simBusConfig(port: number): Record<string, unknown> {
  return {
    id: 'demo-modbus',
    transport: { type: 'tcp', host: '127.0.0.1', port },
    units: [
      {
        id: 'env-sensor-1',
        unitId: 1,
        pollIntervalMs: 1000,
        points: [
          { name: 'temperature', table: 'input', address: 0, type: 'int16', scale: 0.1, unit: 'degC', deadband: 0.2, reportIntervalMs: 60_000, alarm: { high: 30, hysteresis: 1, delayMs: 3000 } },
          { name: 'humidity', table: 'input', address: 1, type: 'uint16', scale: 0.1, unit: '%RH', deadband: 1, reportIntervalMs: 60_000 },
          { name: 'door', table: 'discrete', address: 0, type: 'bool', alarm: { when: true, kind: 'contact' } },
          { name: 'relay', table: 'coil', address: 0, type: 'bool', writable: true },
        ],
      },
    ],
  };
}

// Simulated devices of the demo site (`npm start`), all in-process on loopback so the demo
// needs nothing but Node: each returns the driver config that points at it. Simulators
// come with their drivers (drivers/<kind>/sim.ts).
import { join } from 'node:path';
import { startModbusSim, simBusConfig } from '../../drivers/modbus/sim.js';
import { startOnvifSim, onvifSimConfig } from '../../drivers/onvif/sim.js';
import { startOsdpSim, osdpSimConfig } from '../../drivers/osdp/sim.js';
import { freeLoopbackPort } from './ports.js';

export interface DemoSims {
  /** Driver instances to add to the demo config, by kind. */
  drivers: Record<string, unknown[]>;
  names: string[];
  close(): Promise<void>;
}

export async function startDemoSims(stateDir: string): Promise<DemoSims> {
  const closers: Array<() => Promise<void>> = [];
  const drivers: Record<string, unknown[]> = {};
  const names: string[] = [];
  const modbus = await startModbusSim({ port: await freeLoopbackPort() });
  closers.push(() => modbus.close());
  drivers.modbus = [simBusConfig(modbus.port)];
  names.push(`Modbus TCP sensor (temperature, humidity, door contact) on 127.0.0.1:${modbus.port}`);
  const camera = await startOnvifSim({ port: 0, motionEveryMs: 15_000 });
  closers.push(() => camera.close());
  drivers.onvif = [onvifSimConfig(camera.port, { snapshotDir: join(stateDir, 'snapshots') })];
  names.push(`ONVIF camera "cam-lobby" (motion now and then, snapshot on alarm) on 127.0.0.1:${camera.port}`);
  const reader = await startOsdpSim({ cardEveryMs: 12_000 });
  closers.push(() => reader.close());
  drivers.osdp = [osdpSimConfig(reader)];
  names.push('OSDP card reader (in-process RS-485 line; a card now and then, tamper rarely)');
  return {
    drivers,
    names,
    close: async () => {
      for (const c of closers.reverse()) await c().catch(() => undefined);
    },
  };
}

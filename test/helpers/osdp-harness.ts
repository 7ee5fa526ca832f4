// Shared by the OSDP integration tests: a socat pty pair with the test PD on end `b` and
// the real OsdpDriver (serialport) on end `a`, driven through a real DriverContext.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { osdpConfigSchema, type OsdpConfig } from '../../drivers/osdp/config.js';
import { OsdpDriver } from '../../drivers/osdp/driver.js';
import { startPdBus, type OsdpPd, type PdBus, type PdOptions } from '../peers/osdp-pd.js';
import { collectingContext, type CollectingContext } from './driver-context.js';
import { openPtyPair, type PtyPair } from './pty.js';

export interface OsdpRig {
  driver: OsdpDriver;
  c: CollectingContext;
  pty: PtyPair;
  peer: PdBus & { pd: OsdpPd };
  stateDir: string;
  config: OsdpConfig;
  close(): Promise<void>;
}

/** `readers` and bus options as in config (without id/port); the PDs as the peer sees them. */
export async function startRig(cfg: Record<string, unknown>, pds: PdOptions[], opts: { stateDir?: string; log?: Logger } = {}): Promise<OsdpRig> {
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'gw-osdp-'));
  const pty = await openPtyPair();
  let peer: (PdBus & { pd: OsdpPd }) | undefined;
  let driver: OsdpDriver | undefined;
  const c = collectingContext();
  if (opts.log) c.ctx.log = opts.log;
  try {
    peer = await startPdBus(pty.b, pds);
    const config = osdpConfigSchema.parse({ id: 'bus1', port: pty.a, baud: 115200, keyStore: join(stateDir, 'osdp-keys.json'), ...cfg });
    driver = new OsdpDriver(config, c.ctx);
    await driver.start();
    const d = driver;
    const p = peer;
    return {
      driver: d,
      c,
      pty,
      peer: p,
      stateDir,
      config,
      close: async () => {
        c.abort.abort();
        await d.stop().catch(() => undefined);
        await p.close().catch(() => undefined);
        await pty.close();
        if (!opts.stateDir) rmSync(stateDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await driver?.stop().catch(() => undefined);
    await peer?.close().catch(() => undefined);
    await pty.close();
    throw err;
  }
}

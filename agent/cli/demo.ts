// `gatewarden demo` (= `npm start`): the daemon against config/demo.yaml with an
// embedded broker, events printed as they arrive. State lives outside the checkout.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError, parseYaml, validateConfig, type LoadedConfig } from '../../config/loader.js';
import { startDemoSims, type DemoSims } from '../demo/sims.js';
import { PortInUseError, startEmbeddedBroker, type EmbeddedBroker } from '../demo/broker.js';
import { startEventPrinter } from '../demo/printer.js';
import { runDaemon } from './run.js';
import { mkdirSync } from 'node:fs';
import { acquireStateLock, StateDirInUseError, type StateLock } from '../state-lock.js';

export const DEMO_CONFIG = fileURLToPath(new URL('../../config/demo.yaml', import.meta.url));

export function demoStateDir(): string {
  return process.env.GATEWARDEN_STATE_DIR ?? join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'gatewarden-demo');
}

async function loadDemo(sims: DemoSims | undefined): Promise<LoadedConfig> {
  const file = resolve(process.env.GATEWARDEN_DEMO_CONFIG ?? DEMO_CONFIG);
  const raw = (parseYaml(await readFile(file, 'utf8'), file) ?? {}) as { stateDir?: string; drivers?: Record<string, unknown[]> };
  raw.stateDir = demoStateDir();
  if (sims) raw.drivers = { ...(raw.drivers ?? {}), ...sims.drivers };
  const loaded = await validateConfig(raw, file);
  const c = loaded.config;
  const port = process.env.GATEWARDEN_DEMO_PORT ? Number(process.env.GATEWARDEN_DEMO_PORT) : c.demo.embeddedBroker.port;
  c.demo.embeddedBroker.port = port;
  const u = new URL(c.mqtt.url);
  u.port = String(port);
  c.mqtt.url = u.toString().replace(/\/$/, '');
  return loaded;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the built-in simulated site with an embedded broker (what `npm start` does)')
    .option('--quiet', 'do not print events')
    .option('--no-sims', 'run without the simulated devices (synthetic source only)')
    .action(async (o: { quiet?: boolean; sims: boolean }) => {
      let loaded: LoadedConfig;
      // The demo owns its state directory like any daemon: lock it before the simulators
      // and the embedded broker start, so a second `npm start` stops here and touches nothing.
      let stateLock: StateLock;
      try {
        mkdirSync(demoStateDir(), { recursive: true, mode: 0o750 });
        stateLock = acquireStateLock(demoStateDir());
      } catch (e) {
        if (e instanceof StateDirInUseError) {
          console.error(`gatewarden demo: ${e.message}`);
          process.exit(1);
        }
        throw e;
      }
      const sims = o.sims ? await startDemoSims(demoStateDir()) : undefined;
      try {
        loaded = await loadDemo(sims);
      } catch (e) {
        if (e instanceof ConfigError) {
          console.error(e.message);
          process.exit(1);
        }
        throw e;
      }
      const c = loaded.config;
      let broker: EmbeddedBroker | undefined;
      if (c.demo.embeddedBroker.enabled) {
        try {
          broker = await startEmbeddedBroker(c.demo.embeddedBroker.host, c.demo.embeddedBroker.port);
        } catch (e) {
          if (e instanceof PortInUseError) {
            console.error(`gatewarden demo: ${e.message}`);
            process.exit(1);
          }
          throw e;
        }
      }
      const url = `mqtt://${c.demo.embeddedBroker.host}:${c.demo.embeddedBroker.port}`;
      const say = (s: string): void => void process.stderr.write(`${s}\n`);
      say(`gatewarden demo: state directory ${c.stateDir} (set GATEWARDEN_STATE_DIR to change)`);
      say(`gatewarden demo: embedded MQTT broker on ${url} (MQTT 3.1.1); watch it with any client, e.g.`);
      say(`  mosquitto_sub -h ${c.demo.embeddedBroker.host} -p ${c.demo.embeddedBroker.port} -v -t '${c.mqtt.prefix}/#'`);
      say(`  or: node bin/gatewarden.js events tail --state-dir ${c.stateDir}`);
      say('gatewarden demo: Ctrl-C stops it. Events as the broker delivers them (✓ = signature verified):');
      const printer = o.quiet ? undefined : startEventPrinter(url, c.mqtt.prefix, say);
      for (const n of sims?.names ?? []) say(`gatewarden demo: simulated ${n}`);
      await runDaemon(loaded, () => loadDemo(sims), {
        stateLock,
        afterStop: async () => {
          await printer?.close();
          await sims?.close();
          await broker?.close();
        },
      });
    });
}

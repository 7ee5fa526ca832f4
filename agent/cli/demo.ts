// `gatewarden demo` (= `npm start`): the daemon against config/demo.yaml with an
// embedded broker, events printed as they arrive. State lives outside the checkout.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ConfigError, loadConfigFile, type LoadedConfig } from '../../config/loader.js';
import { PortInUseError, startEmbeddedBroker, type EmbeddedBroker } from '../demo/broker.js';
import { startEventPrinter } from '../demo/printer.js';
import { runDaemon } from './run.js';

export const DEMO_CONFIG = fileURLToPath(new URL('../../config/demo.yaml', import.meta.url));

export function demoStateDir(): string {
  return process.env.GATEWARDEN_STATE_DIR ?? join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'gatewarden-demo');
}

async function loadDemo(): Promise<LoadedConfig> {
  const loaded = await loadConfigFile(process.env.GATEWARDEN_DEMO_CONFIG ?? DEMO_CONFIG);
  const c = loaded.config;
  c.stateDir = demoStateDir();
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
    .action(async (o: { quiet?: boolean }) => {
      let loaded: LoadedConfig;
      try {
        loaded = await loadDemo();
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
      await runDaemon(loaded, () => loadDemo(), {
        afterStop: async () => {
          await printer?.close();
          await broker?.close();
        },
      });
    });
}

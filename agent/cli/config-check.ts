// `gatewarden config check FILE`: prints OK or every problem with its path; exit 0/1.
import type { Command } from 'commander';
import { ConfigError, loadConfigFile } from '../../config/loader.js';

export async function checkConfigFile(file: string, out: (s: string) => void = console.log): Promise<number> {
  try {
    const { config, drivers, source } = await loadConfigFile(file);
    out(`OK ${source}: site ${config.site}, gateway ${config.gateway}, ${drivers.length} driver instance(s)`);
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      out(`${e.source}: ${e.problems.length} problem${e.problems.length === 1 ? '' : 's'}`);
      for (const p of e.problems) out(`  ${p}`);
      return 1;
    }
    throw e;
  }
}

export function registerConfig(program: Command): void {
  const cfg = program.command('config').description('configuration tools');
  cfg
    .command('check')
    .argument('<file>', 'config.yaml to validate')
    .description('validate a config file; prints OK or every problem with its path')
    .action(async (file: string) => {
      process.exitCode = await checkConfigFile(file);
    });
}

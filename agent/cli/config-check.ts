// `gatewarden config check [FILE] [--json]`: prints OK or every problem with its path
// (exit 1); files and devices the config names that are not there are listed as warnings
// (exit 0: a USB adapter may be unplugged while the config is written).
import type { Command } from 'commander';
import { ConfigError, loadConfigFile } from '../../config/loader.js';
import { referenceWarnings, type ReferenceWarning } from '../../config/references.js';
import { DEFAULT_CONFIG } from './defaults.js';

/** `config check --json`: one document, whatever the outcome. */
export interface ConfigCheckReport {
  ok: boolean;
  source: string;
  site?: string;
  gateway?: string;
  driverInstances?: number;
  problems: string[];
  warnings: ReferenceWarning[];
}

export async function configCheckReport(file: string): Promise<ConfigCheckReport> {
  try {
    const loaded = await loadConfigFile(file);
    const { config, drivers, source } = loaded;
    return { ok: true, source, site: config.site, gateway: config.gateway, driverInstances: drivers.length, problems: [], warnings: referenceWarnings(loaded) };
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, source: e.source, problems: e.problems, warnings: [] };
    throw e;
  }
}

export async function checkConfigFile(file: string, out: (s: string) => void = console.log, json = false): Promise<number> {
  const r = await configCheckReport(file);
  if (json) out(JSON.stringify(r, null, 2));
  else if (r.ok) {
    out(`OK ${r.source}: site ${r.site}, gateway ${r.gateway}, ${r.driverInstances} driver instance(s)${r.warnings.length ? `, ${r.warnings.length} warning(s)` : ''}`);
    for (const w of r.warnings) out(`  warning: ${w.path}: ${w.kind} ${w.file} ${w.problem}`);
  } else {
    out(`${r.source}: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`);
    for (const p of r.problems) out(`  ${p}`);
  }
  return r.ok ? 0 : 1;
}

export function registerConfig(program: Command): void {
  const cfg = program.command('config').description('configuration tools');
  cfg
    .command('check')
    .argument('[file]', 'config.yaml to validate (default: --config)')
    .option('-c, --config <file>', 'config file', process.env.GATEWARDEN_CONFIG ?? DEFAULT_CONFIG)
    .option('--json', 'machine-readable report: {ok, source, problems[], warnings[{path, file, kind, problem}]}')
    .description('validate a config file; prints OK or every problem with its path (exit 1); missing files and serial ports are warnings (exit 0)')
    .action(async (file: string | undefined, o: { config: string; json?: boolean }) => {
      process.exitCode = await checkConfigFile(file ?? o.config, console.log, o.json === true);
    });
}

// `gatewarden diag [--json]`: the technician's command. Exit 0 all passed,
// 1 warnings only, 2 at least one failure. Section progress goes to stderr so --json
// stdout stays one JSON document.
// The checks are imported when the command runs, so `diag --help` loads nothing heavy.
import type { Command } from 'commander';
import { DEFAULT_CONFIG } from './defaults.js';

interface DiagCliOptions {
  config: string;
  json?: boolean;
  user?: string;
  clockSyncFile?: string;
  quiet?: boolean;
}

export function registerDiag(program: Command): void {
  program
    .command('diag')
    .description('check config, key, clock, disk, spool, broker and every device; exit 0 ok / 1 warnings / 2 failures')
    .option('-c, --config <file>', 'config file', process.env.GATEWARDEN_CONFIG ?? DEFAULT_CONFIG)
    .option('--json', 'machine-readable report on stdout')
    .option('--user <name|uid>', "check file permissions as this user (default: the daemon's)")
    .option('--clock-sync-file <file>', 'file that exists once NTP has synchronised', process.env.GATEWARDEN_CLOCK_SYNC_FILE)
    .option('-q, --quiet', 'no progress on stderr')
    .action(async (o: DiagCliOptions) => {
      const [{ runDiag }, { renderReport }] = await Promise.all([import('../diag/run.js'), import('../diag/render.js')]);
      const report = await runDiag({
        configFile: o.config,
        user: o.user,
        clockSyncFile: o.clockSyncFile,
        // Injectable like the sync file, so tests can simulate a gateway without an RTC.
        rtcDevice: process.env.GATEWARDEN_RTC_DEVICE,
        onSection: o.quiet || o.json ? undefined : (s) => process.stderr.write(`checking ${s}…\n`),
      });
      process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderReport(report)}\n`);
      process.exitCode = report.exitCode;
    });
}

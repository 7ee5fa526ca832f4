// `gatewarden` command line. One file per command (agent/cli/*.ts); this file only
// assembles them. Exit codes: 0 ok, 1 a check failed (bad config, broken chain), 2 usage.
import { Command } from 'commander';
import { VERSION } from '../version.js';
import { registerRun } from './run.js';
import { registerDemo } from './demo.js';
import { registerConfig } from './config-check.js';
import { registerEvents } from './events.js';
import { registerSpool } from './spool.js';
import { registerVerify } from './verify.js';
import { registerDiag } from './diag.js';
import { registerStatus } from './status.js';
import { registerInit } from './init.js';
import { registerDiscover } from './discover.js';
import { registerSupportBundle } from './support-bundle.js';

export function buildProgram(): Command {
  const program = new Command('gatewarden')
    .description('edge agent: cameras, card readers and sensors → signed, hash-chained events → MQTT')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride((err) => {
      // commander's own errors (unknown option, missing argument) are usage errors.
      process.exit(err.exitCode === 0 ? 0 : 2);
    });
  registerRun(program);
  registerDemo(program);
  registerConfig(program);
  registerEvents(program);
  registerSpool(program);
  registerVerify(program);
  registerDiag(program);
  registerStatus(program);
  registerInit(program);
  registerDiscover(program);
  registerSupportBundle(program);
  return program;
}

await buildProgram().parseAsync(process.argv);

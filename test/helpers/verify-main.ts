// Standalone `verify` entry for tests, until agent/cli/main.ts wires registerVerify:
//   node --import tsx test/helpers/verify-main.ts verify --pubkey KEY FILE
import { Command } from 'commander';
import { registerVerify } from '../../agent/cli/verify.js';

const program = new Command('gatewarden');
registerVerify(program);
await program.parseAsync(process.argv);

#!/usr/bin/env node
// Entry point for the installed `gatewarden` command: runs the compiled JavaScript in
// dist/ (built by `npm install`/`npm ci` through `prepare`, by `npm run build`, and by
// scripts/install.sh). No TypeScript loader at run time: the CLI starts in a blink and the
// service's start does not depend on a compile cache (docs/architecture.md, Decisions).
import { existsSync } from 'node:fs';

const main = new URL('../dist/agent/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(`gatewarden: not built (${main.pathname} is missing)\n  fix: npm run build (npm install and npm ci run it too)\n`);
  process.exit(1);
}
await import(main.href);

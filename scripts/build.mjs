#!/usr/bin/env node
// `npm run build` (also run by `npm install`/`npm ci` through `prepare`, and by
// scripts/install.sh): compile agent/, drivers/ and config/ with tsc into dist/, then copy
// what the code reads at run time beside the compiled files (config/*.yaml, any .json under
// those folders) and write dist/package.json (name, version, type, dependencies) so
// `new URL('../package.json', import.meta.url)` finds the same facts from dist/ as from the
// sources. Plain JavaScript so it runs before anything is built. Exit 1 when tsc fails.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
// --out DIR (tests): build elsewhere; it must lie inside the repository so that the
// compiled files still find node_modules by walking up.
const outArg = process.argv.indexOf('--out');
const OUT = outArg > 0 ? resolve(process.argv[outArg + 1]) : join(ROOT, 'dist');
const SOURCES = ['agent', 'drivers', 'config'];
const ASSET = /\.(ya?ml|json)$/;

let tsc;
try {
  tsc = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
} catch {
  console.error('build: typescript is not installed in node_modules');
  console.error('  fix: npm install (typescript is a dev dependency), or install from a release that carries dist/');
  process.exit(1);
}

rmSync(OUT, { recursive: true, force: true });
// tsc emits even when it finds type errors; the assets are copied either way, and a type
// error still fails the build (exit 1) so nothing installs code that does not type-check.
const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', OUT], { stdio: 'inherit' });

function copyAssets(dir) {
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) copyAssets(rel);
    else if (ASSET.test(name)) {
      mkdirSync(join(OUT, dir), { recursive: true });
      copyFileSync(join(ROOT, rel), join(OUT, rel));
    }
  }
}
for (const d of SOURCES) copyAssets(d);

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const slim = { name: pkg.name, version: pkg.version, type: pkg.type, private: true, description: 'compiled by scripts/build.mjs; do not edit', dependencies: pkg.dependencies };
writeFileSync(join(OUT, 'package.json'), `${JSON.stringify(slim, null, 2)}\n`);
if (r.status !== 0) {
  console.error(`build: tsc reported errors (exit ${r.status ?? r.signal}); fix them, then: npm run build`);
  // Under `npm install`/`npm ci` (prepare) a type error must not undo the install of the
  // dependencies: dist/ is emitted anyway and `npm test` fails on the type check.
  process.exit(process.env.npm_lifecycle_event === 'prepare' ? 0 : 1);
}
console.error(`build: ${relative(process.cwd(), OUT) || 'dist'} ready (gatewarden ${pkg.version})`);

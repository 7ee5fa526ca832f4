// The repository is self-contained (docs/contracts.md §Practices): a fresh clone with
// nothing beside it builds and passes its tests. No tracked file may read or name a path
// outside the repository, and comments cite the repo's own docs/, never documents or
// tracker numbers that are not in it. Scans every tracked file (git ls-files; a plain
// walk when there is no .git), so a new file is covered without touching this test.
// This file is the one exclusion: it has to spell the patterns it looks for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SELF = relative(ROOT, fileURLToPath(import.meta.url)).split(sep).join('/');

/** Citations of documents or trackers that are not in the repo. */
const CITATIONS: { name: string; re: RegExp }[] = [
  { name: 'design-card section', re: /\bDESIGN(\.md)?\s*§/ },
  { name: 'design-card file', re: /\bDESIGN\.md\b/ },
  { name: 'style-card reference', re: /\bSTYLE\b/ },
  { name: 'tracker number', re: /\bissues?\s+(?:#\s?)?\d+(?![\w-])/i },
];
/** Paths that name a place outside the repo on a developer's or CI's machine. */
const OUTSIDE: { name: string; re: RegExp }[] = [
  { name: 'shared/ folder', re: /(?:^|[^\w.-])shared\/|\.\.[/\\]shared\b|['"`]shared['"`]/ },
  { name: 'workspace path', re: /\/work\// },
];
/** Data files whose content is not ours to phrase (their provenance is in their README). */
const DATA_ONLY = [/^test\/vectors\/.*\.json$/, /^package-lock\.json$/];
const TEXT = /\.(ts|mts|cts|js|mjs|cjs|json|ya?ml|md|sh|py|service|txt|toml|cfg|ini)$|(^|\/)(\.ci\/run|\.gitignore|Dockerfile|bin\/[^/]+)$/;

function trackedFiles(): string[] {
  try {
    return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  } catch {
    const out: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        if (name === 'node_modules' || name === '.git' || name === 'dist') continue;
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else out.push(relative(ROOT, p).split(sep).join('/'));
      }
    };
    walk(ROOT);
    return out;
  }
}

/** Relative path literals ('../x', "./y", `../../z/${n}`) that resolve outside the repo. */
export function escapingLiterals(file: string, text: string): string[] {
  const found: string[] = [];
  const re = /['"`]((?:\.\.?\/)+[^'"`\s$]*)/g;
  for (const m of text.matchAll(re)) {
    const lit = m[1]!;
    if (!lit.startsWith('../')) continue;
    const target = resolve(ROOT, dirname(file), lit);
    if (relative(ROOT, target).startsWith('..')) found.push(lit);
  }
  return found;
}

export function findings(file: string, text: string): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  const data = DATA_ONLY.some((r) => r.test(file));
  lines.forEach((line, i) => {
    const at = `${file}:${i + 1}`;
    for (const { name, re } of OUTSIDE) if (re.test(line)) out.push(`${at}: ${name}: ${line.trim().slice(0, 120)}`);
    if (data) return;
    for (const { name, re } of CITATIONS) if (re.test(line)) out.push(`${at}: ${name}: ${line.trim().slice(0, 120)}`);
    if (/\.(ts|mts|js|mjs|cjs)$/.test(file)) {
      for (const lit of escapingLiterals(file, line)) out.push(`${at}: path leaves the repo: ${lit}`);
    }
  });
  return out;
}

test('the matchers catch what they are meant to catch (so the scan below can fail)', () => {
  const d = 'DESIGN';
  const samples: [string, string][] = [
    ['agent/x.ts', `// contract (${d} §5)`],
    ['agent/x.ts', `// see ${d}.md`],
    ['agent/x.ts', `// defaults once (${'STY'}LE practice 7)`],
    ['agent/x.ts', `// the field tools (${'iss'}ue 7)`],
    ['docs/x.md', `fixed in ${'Iss'}ue #12`],
    ['test/helpers/v.ts', `readFileSync(new URL(\`../../../${'sha'}red/vectors/x.json\`, import.meta.url))`],
    ['test/helpers/v.ts', `const p = resolve(root, '..', '${'sha'}red')`],
    ['scripts/x.sh', `cp /${'wo'}rk/notes/a .`],
    ['test/helpers/v.ts', `import x from '../../../elsewhere/mod.js';`],
  ];
  for (const [file, text] of samples) assert.ok(findings(file, text).length > 0, `not caught: ${text}`);
  // Inside the repo, spec sections and nested imports are fine.
  const fine: [string, string][] = [
    ['drivers/osdp/cp/card.ts', `import type { J } from '../../../agent/events/types.js';`],
    ['drivers/modbus/codec.ts', '// big-endian on the wire (spec §4.2), MQTT 5 §3.3.2.3.7'],
    ['agent/x.ts', '// see docs/contracts.md §Spool'],
    ['test/vectors/wiegand.json', `"note": "as posted in a library's ${'iss'}ue #33"`],
    ['test/integration/x.test.ts', `'the test CA ${'iss'}ues 2-day certificates'`],
  ];
  for (const [file, text] of fine) assert.deepEqual(findings(file, text), [], `false alarm: ${text}`);
});

test('no tracked file reads or names a path outside the repo, or cites documents that are not in it', () => {
  const files = trackedFiles().filter((f) => f !== SELF && TEXT.test(f));
  assert.ok(files.length > 100, `expected the repo's files, got ${files.length}`);
  const bad: string[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(join(ROOT, f), 'utf8');
    } catch {
      continue; // tracked but deleted in the working tree
    }
    bad.push(...findings(f, text));
  }
  assert.deepEqual(bad, [], `cite docs/ (e.g. docs/contracts.md §Spool) and keep files in the repo:\n${bad.join('\n')}`);
});

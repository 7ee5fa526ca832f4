import { readFileSync } from 'node:fs';

/** The package version, stamped into birth messages and system.agent.start. */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

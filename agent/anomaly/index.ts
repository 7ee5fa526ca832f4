// Public surface of netwatch (docs/netwatch.md), for the composition root.
export { netwatchConfigSchema, type NetwatchConfig, type NetwatchConfigInput } from './config.js';
export { Netwatch, BASELINE_FILE, type NetwatchOptions, type NetwatchBaseline } from './netwatch.js';

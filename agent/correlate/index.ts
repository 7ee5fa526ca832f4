// Public surface of converged correlation, for the composition root.
export { correlateConfigSchema, ruleSchema, type CorrelateConfig, type CorrelateConfigInput, type Rule, type RuleInput } from './config.js';
export { DEFAULT_RULES, DEFAULT_RULE_INPUTS } from './default-rules.js';
export { createCorrelator, rulesFromConfig, STATE_FILE, type Correlator, type CorrelatorOptions, type EventRef, type Incident } from './engine.js';

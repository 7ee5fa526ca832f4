// The problems validateConfig reports for a raw config ([] when it is valid); anything but a
// ConfigError fails the test.
import assert from 'node:assert/strict';
import { ConfigError, validateConfig } from '../../config/loader.js';

export async function configProblems(raw: unknown): Promise<string[]> {
  try {
    await validateConfig(raw);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.problems;
  }
  return [];
}

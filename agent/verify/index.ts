// The verifier as a library (for the platform): one import for the API and report types.
export { createVerifier, verifyEvents, keyring, type Verifier } from './verify.js';
export { renderReport } from './report.js';
export * from './types.js';

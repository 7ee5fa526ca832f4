#!/usr/bin/env node
// Entry point for the installed `gatewarden` command. TypeScript runs through tsx
// (one way everywhere: README, tests, CI and the systemd unit), registered here so the
// command works from any working directory.
import { register } from 'tsx/esm/api';
register();
await import('../agent/cli/main.ts');

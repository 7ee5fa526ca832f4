#!/usr/bin/env bash
# `npm test`: install missing Debian test peers, typecheck, run every test with node:test.
# Tests start their own private brokers/peers on loopback and clean up after themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-deps.sh
npx tsc --noEmit -p tsconfig.json
shopt -s nullglob globstar
files=(test/unit/**/*.test.ts test/fuzz/**/*.test.ts test/integration/**/*.test.ts)
exec node --import tsx --test --test-timeout=300000 "$@" "${files[@]}"

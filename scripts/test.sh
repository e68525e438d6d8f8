#!/bin/bash
# The one test command (README, .ci/run): installs what is missing, brings the all-in-one stack up,
# then runs typecheck, unit, integration and end-to-end tests against the real stack.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
t0=$(date +%s)
[[ -d node_modules/.bin ]] && [[ node_modules/.package-lock.json -nt package-lock.json ]] || npm ci --no-audit --no-fund
bash scripts/aio.sh up
npx tsc -p tsconfig.json --noEmit
echo "== typecheck ok ($(( $(date +%s) - t0 )) s)"
# one runner over every tier, so the closing summary counts all tests
node --import tsx --test --test-concurrency=1 --test-reporter=spec \
  test/unit/*.test.ts test/integration/*.test.ts test/e2e/*.test.ts
echo "== all tests done in $(( $(date +%s) - t0 )) s"

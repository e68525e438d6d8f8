#!/bin/bash
# The one test command (README, .ci/run): installs what is missing, brings the all-in-one stack and the
# CNI runtimes up, then runs typecheck, unit, integration and end-to-end tests against the real stack.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
t0=$(date +%s)
stamp() { echo "== $1 ($(( $(date +%s) - t0 )) s)"; }
if [[ ! -d node_modules/.bin || package-lock.json -nt node_modules/.package-lock.json ]]; then npm ci --no-audit --no-fund; fi
# the e2e tests run their own Kuryr daemons: the stack comes up without the main job's one
AIO_KURYR=0 bash scripts/aio.sh up
if [[ -s /run/aio/kuryr-docker.pid ]]; then kill "$(cat /run/aio/kuryr-docker.pid)" 2>/dev/null || true; rm -f /run/aio/kuryr-docker.pid; fi
stamp "stack up"
bash scripts/cni-runtimes.sh up
stamp "CNI runtimes up"
npx tsc -p tsconfig.json --noEmit
stamp "typecheck ok"
# the production build (dist/, the kuryr-cni bundle): e2e tests and the main job run it
npm run --silent build
stamp "build ok"
# one runner over every tier, so the closing summary counts every test
node --import tsx --test --test-concurrency=1 \
  test/unit/*.test.ts test/integration/*.test.ts test/e2e/*.test.ts
stamp "all tests done"

#!/bin/bash
# `npm run bench`: every benchmark in one run, each next to its baseline measured in the same run.
# The benchmarks take the whole stack for about 15 minutes (its own daemons on the default plugin socket, the
# main job's Docker driver stopped meanwhile) and time what the stack does, so they refuse to start while a
# test run (scripts/test.sh, from any checkout) uses the stack, and a run that is not started from a
# terminal (a hook, a cron job) needs KURYR_BENCH=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if pgrep -f 'scripts/test\.sh' >/dev/null; then
  echo "npm run bench: a test run (scripts/test.sh) is using the stack; not benchmarking now" >&2
  exit 1
fi
if [[ ! -t 1 && ${KURYR_BENCH:-} != 1 ]]; then
  echo "npm run bench: not started from a terminal; set KURYR_BENCH=1 to take the stack for about 15 minutes" >&2
  exit 1
fi
npm run --silent build
bash scripts/cni-runtimes.sh up >/dev/null
for b in run pools cni rss; do node --import tsx "bench/$b.ts"; done

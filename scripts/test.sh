#!/bin/bash
# The one test command (README, .ci/run): installs what is missing, brings the all-in-one stack and the
# CNI runtimes up, then runs typecheck, unit, integration and end-to-end tests against the real stack
# (`scripts/test.sh FILE...` runs only those test files).
# The e2e tests run their own Kuryr daemons on the default socket, so the main job's driver is stopped for
# the run; if it was running it is brought back at the end, also when a step fails or the run is interrupted.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
t0=$(date +%s)
stamp() { echo "== $1 ($(( $(date +%s) - t0 )) s)"; }

# shellcheck source=lib/pidfile.sh
source scripts/lib/pidfile.sh   # pid_live: a pid file from an earlier boot may name a stranger now
main_pid_file=/run/aio/kuryr-docker.pid
main_was_running=0
main_root=$PWD
if main_pid=$(pid_live "$main_pid_file"); then
  main_was_running=1
  # restart it from the checkout it was started from, not necessarily this one
  main_script=$(tr '\0' '\n' <"/proc/$main_pid/cmdline" | grep -m1 '/src/bin/kuryr\.ts$' || true)
  [[ -n $main_script && -f ${main_script%/src/bin/kuryr.ts}/scripts/aio.sh ]] && main_root=${main_script%/src/bin/kuryr.ts}
fi
# Daemons started from here must not inherit the caller's `flock /tmp/stack.lock` descriptor (a daemon
# holding it would keep the shared stack locked forever): close every descriptor above 2 first.
no_inherited_fds() {
  (
    for fd in $(ls /proc/$BASHPID/fd); do (( fd > 2 )) && eval "exec $fd>&-" 2>/dev/null; done
    exec "$@"
  )
}
restore_main_job() {
  local rc=$?
  trap - EXIT INT TERM
  if (( main_was_running )); then
    echo "== restarting the main job (bash $main_root/scripts/aio.sh up)"
    AIO_SKIP_APT=1 no_inherited_fds bash "$main_root/scripts/aio.sh" up >/tmp/test-sh-restore.log 2>&1 \
      || echo "!! could not restart the main job, see /tmp/test-sh-restore.log" >&2
  fi
  exit "$rc"
}
trap restore_main_job EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A worktree's node_modules may be a link to the main checkout's (docs: team workflow): npm ci would empty
# the link's target, other checkouts' modules included, so a link is used as it is.
if [[ ! -L node_modules ]] && [[ ! -d node_modules/.bin || package-lock.json -nt node_modules/.package-lock.json ]]; then npm ci --no-audit --no-fund; fi
# the e2e tests run their own Kuryr daemons: the stack comes up without the main job's one
AIO_KURYR=0 no_inherited_fds bash scripts/aio.sh up
if main_pid=$(pid_live "$main_pid_file"); then kill "$main_pid" 2>/dev/null || true; fi
pid_forget "$main_pid_file"
stamp "stack up"
no_inherited_fds bash scripts/cni-runtimes.sh up
stamp "CNI runtimes up"
npx tsc -p tsconfig.json --noEmit
stamp "typecheck ok"
# the production build (dist/, the kuryr-cni bundle): e2e tests and the main job run it
npm run --silent build
stamp "build ok"
# one runner over every tier, so the closing summary counts every test (arguments pick test files instead)
if (( $# == 0 )); then set -- test/unit/*.test.ts test/integration/*.test.ts test/e2e/*.test.ts; fi
node --import tsx --test --test-concurrency=1 "$@"
stamp "all tests done"

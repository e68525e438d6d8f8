#!/bin/bash
# nested-vm.sh — a Docker host inside a "VM" for the nested-mode e2e tests.
#
#   scripts/nested-vm.sh up NAME NETNS     dockerd mh-NAME inside NETNS, Keystone and Neutron relayed to its 127.0.0.1
#   scripts/nested-vm.sh relays NAME NETNS only the Keystone and Neutron relays (a VM running Kuryr's CNI daemon, no dockerd)
#   scripts/nested-vm.sh down NAME NETNS   stop what 'up' or 'relays' started and forget that dockerd's state
#
# NETNS is the VM: the test made it and plugged a Neutron port into it as Nova/os-vif would (eth0 on
# br-int). The VM reaches the cloud's APIs at 127.0.0.1:5000/9696 through socat relays (the same unix
# sockets aio.sh relays into its linuxbridge host). Kuryr is NOT started here: the test runs it with
# 'ip netns exec NETNS' and its socket at /run/aio/mh-NAME/plugins/kuryr.sock.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/aio-common.sh
source "$HERE/lib/aio-common.sh"
# shellcheck source=lib/docker-host.sh
source "$HERE/lib/docker-host.sh"

api_ok() { ip netns exec "$1" curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$2/"; }

start_relays() {
  local ns=$1 port
  for port in 5000 9696; do
    [[ -S $AIO_RUN/relay-$port.sock ]] || die "relay socket $AIO_RUN/relay-$port.sock missing (scripts/aio.sh up)"
    start_bg "relay-$ns-$port" ip netns exec "$ns" socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$AIO_RUN/relay-$port.sock"
    wait_for "port $port from $ns" 10 api_ok "$ns" $port
  done
}

do_up() {
  local n=$1 ns=$2 t0; t0=$(now)
  ip netns list | grep -qw "$ns" || die "netns $ns does not exist (the test plugs the VM first)"
  mkdir -p "$AIO_LOG" "$AIO_RUN"
  step "relays into $ns" start_relays "$ns"
  step "dockerd mh-$n in $ns" start_dockerd "$n" "$ns"
  step "busybox" load_busybox "$n"
  log "nested VM $n up in $(since "$t0") s"
}

do_down() {
  local n=$1 ns=$2
  stop_names "mh-dockerd-$n" "relay-$ns-5000" "relay-$ns-9696"
  # containers, networks and endpoints of a VM that is gone must not come back with the next one
  rm -rf "${AIO_VAR:?}/mh-$n" "${AIO_RUN:?}/mh-$n"
}

[[ $# -eq 3 ]] || { echo "usage: $0 up|relays|down NAME NETNS" >&2; exit 2; }
case $1 in
  up) do_up "$2" "$3" ;;
  relays) mkdir -p "$AIO_LOG" "$AIO_RUN" && step "relays into $3" start_relays "$3" ;;
  down) do_down "$2" "$3" ;;
  *) echo "usage: $0 up|relays|down NAME NETNS" >&2; exit 2 ;;
esac

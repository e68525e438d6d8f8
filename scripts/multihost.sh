#!/bin/bash
# multihost.sh — two simulated Docker hosts on the all-in-one stack, for the multi-host e2e tests.
#
#   scripts/multihost.sh up               start etcd, host A and host B dockerd (idempotent), load busybox
#   scripts/multihost.sh down             stop only what 'up' started (pid files /run/aio/mh-*.pid)
#   scripts/multihost.sh status           what runs, and where each host's sockets are
#   scripts/multihost.sh restart-docker   restart both dockerd (forgets plugin registrations, e.g. the scope)
#
# host A: dockerd in the ROOT netns (Kuryr there binds to the OVS agent's br-int, host id `hostname`), in a
#         private mount ns with its own data-root, exec-root, socket, managed containerd and plugin dir.
# host B: dockerd in netns aio-lb (the linuxbridge agent's "host", host id `hostname`-lb), same recipe plus
#         the cgroup remounts 'ip netns exec' needs (../shared/stack/REPORT.md §7, gotchas 10/11).
# Both use the etcd cluster store (--cluster-store), which leaves local-scope networks local. Kuryr
# daemons are NOT started here: tests start them with their plugin socket in the host's plugin dir:
#   host A: /run/aio/mh-a/plugins/kuryr.sock (dockerd A sees /run/docker/plugins/kuryr.sock)
#   host B: /run/aio/mh-b/plugins/kuryr.sock, the daemon run with 'ip netns exec aio-lb'
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/aio-common.sh
source "$HERE/lib/aio-common.sh"
# shellcheck source=lib/docker-host.sh
source "$HERE/lib/docker-host.sh"
ETCD_URL=http://127.0.0.1:2379

etcd_ok() { curl -fsS -m 2 $ETCD_URL/version >/dev/null 2>&1; }
lb_etcd_ok() { ip netns exec $LBNS curl -fsS -m 2 $ETCD_URL/version >/dev/null 2>&1; }

ensure_stack() {
  if curl -fsS -m 3 -o /dev/null $NEUTRON_URL/ && ip netns list | grep -qw $LBNS; then return 0; fi
  log "stack not up: running scripts/aio.sh up"
  bash "$HERE/aio.sh" up
}

start_etcd() {
  if ! etcd_ok; then
    mkdir -p $AIO_VAR/mh-etcd
    # libkv (Docker's cluster store) speaks the etcd v2 API
    start_bg mh-etcd etcd --name mh --data-dir $AIO_VAR/mh-etcd --enable-v2=true \
      --listen-client-urls $ETCD_URL --advertise-client-urls $ETCD_URL \
      --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
      --initial-cluster mh=http://127.0.0.1:2380
    wait_for "etcd" 30 etcd_ok
  fi
  if ! lb_etcd_ok; then
    start_bg mh-relay-2379 socat UNIX-LISTEN:$AIO_RUN/mh-relay-2379.sock,fork,unlink-early,mode=600 TCP:127.0.0.1:2379
    wait_for "etcd relay socket" 10 test -S $AIO_RUN/mh-relay-2379.sock
    start_bg mh-relay-$LBNS-2379 ip netns exec $LBNS socat TCP-LISTEN:2379,bind=127.0.0.1,fork,reuseaddr \
      UNIX-CONNECT:$AIO_RUN/mh-relay-2379.sock
    wait_for "etcd from $LBNS" 10 lb_etcd_ok
  fi
}

# start_host NAME NETNS ADVERTISE_IP
start_host() { start_dockerd "$1" "$2" --cluster-store=etcd://127.0.0.1:2379 "--cluster-advertise=$3:2376"; }

stop_docker() { stop_names mh-dockerd-b mh-dockerd-a; }

do_up() {
  mkdir -p "$AIO_LOG" "$AIO_RUN"
  local t0; t0=$(now)
  step "stack" ensure_stack
  step "etcd" start_etcd
  step "dockerd mh-a + mh-b" start_both
  step "busybox" load_busybox a b
  log "multihost up in $(since "$t0") s"
  do_status
}
start_both() { start_host a "" "$UL_ROOT_IP" & local pa=$!; start_host b "$LBNS" "$UL_LB_IP"; wait $pa; }

do_status() {
  etcd_ok && echo "etcd: ok ($ETCD_URL)" || echo "etcd: DOWN"
  local n
  for n in a b; do
    if dk $n info >/dev/null 2>&1; then echo "host $n: dockerd ok, -H unix://$AIO_RUN/mh-$n/docker.sock, plugins $AIO_RUN/mh-$n/plugins"
    else echo "host $n: dockerd DOWN"; fi
  done
  local f
  for f in $AIO_RUN/mh-*.pid; do [[ -e $f ]] && { n=$(basename "$f" .pid); alive "$n" && echo "pid $(cat "$f") $n"; }; done
  return 0
}

do_down() {
  stop_docker
  stop_names mh-relay-$LBNS-2379 mh-relay-2379 mh-etcd
  rm -f $AIO_RUN/mh-relay-2379.sock
}

case ${1:-up} in
  up) do_up ;;
  down) do_down ;;
  status) do_status ;;
  restart-docker) step "stop dockerd" stop_docker; step "start dockerd" start_both ;;
  *) echo "usage: $0 up|down|status|restart-docker" >&2; exit 2 ;;
esac

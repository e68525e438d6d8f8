#!/bin/bash
# aio.sh — the project's all-in-one OpenStack (Keystone + Neutron ML2/OVS on the userspace datapath) + Docker,
# on Debian 12, without systemd, everything bound to 127.0.0.1. Facts from ../shared/stack/REPORT.md.
#
#   scripts/aio.sh up       install (apt), configure, start everything that is down, wait until healthy
#   scripts/aio.sh down     stop what this script started (pid files under /run/aio), newest first
#   scripts/aio.sh status   health of every service
#   scripts/aio.sh wipe     down + drop databases, bridges, namespaces, state (next 'up' is a first boot)
#
# Tunables: AIO_LB=1 (linuxbridge agent as second host in netns aio-lb), AIO_DHCP=1, AIO_L3=1,
# AIO_DOCKER=1, AIO_DOCKER2=0 (second dockerd in aio-lb), AIO_KURYR=1 (install the package, start both Kuryr daemons),
# AIO_SKIP_APT=0, AIO_POLL=1 (agent polling_interval).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/aio-common.sh
source "$HERE/lib/aio-common.sh"
# shellcheck source=lib/aio-configs.sh
source "$HERE/lib/aio-configs.sh"
# shellcheck source=lib/aio-services.sh
source "$HERE/lib/aio-services.sh"
# shellcheck source=lib/aio-kuryr.sh
source "$HERE/lib/aio-kuryr.sh"

do_up() {
  mkdir -p "$AIO_LOG" "$AIO_RUN"
  step "packages" do_apt
  local t0; t0=$(now)
  step "configs" write_configs
  step "mariadb" start_mariadb
  step "rabbitmq" start_rabbitmq
  step "keystone" start_keystone
  step "keystone objects" keystone_objects
  step "openvswitch" start_ovs
  step "underlay + second host netns" setup_underlay
  step "neutron-server" start_neutron_server
  step "neutron agents" start_agents
  step "dockerd" start_docker
  step "dockerd (host2)" start_docker2
  step "kuryr default pools + pod network" kuryr_neutron_objects
  step "kuryr package + CNI plugin" install_kuryr
  step "kuryr daemons" start_kuryr
  log "stack healthy $(since "$t0") s after packages"
  echo "credentials: source $AIO_ETC/admin-openrc  (clouds.yaml: /etc/openstack/clouds.yaml, cloud aio-admin)"
}

mkdir -p "$AIO_RUN"
pid_forget_stale "$AIO_RUN"   # pid files from an earlier boot may name strangers now

case ${1:-up} in
  up) do_up ;;
  down|stop) do_down ;;
  wipe) do_wipe ;;
  status) do_status ;;
  *) echo "usage: $0 up|down|status|wipe" >&2; exit 2 ;;
esac

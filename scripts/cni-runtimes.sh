#!/bin/bash
# cni-runtimes.sh — the real CNI callers the CNI e2e tests and bench/cni.ts drive (shared/runtimes recipes):
#   up    install packages if missing, build the offline pause/busybox image, start a PRIVATE containerd with
#         the CRI plugin (own root/state/socket; never the stack's /run/aio/containerd), write an isolated podman
#         config, build cnitool-lite (libcni caller), install the kuryr-cni shim. Idempotent.
#   down  stop that containerd (by its pid file) and remove its sandboxes' leftovers.
#   env   print the paths as shell variables.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
W=/var/lib/kuryr-cni-e2e          # images, gopath, containerd root, podman storage
R=/run/kuryr-cni-e2e              # containerd state + socket, podman runroot
E=/etc/kuryr-cni-e2e              # conflist dirs + podman config
PID=/run/aio/cni-e2e-containerd.pid
SOCK=$R/containerd.sock
IMAGE=registry.k8s.io/pause:3.6
BUSYBOX=localhost/cni-e2e-busybox:latest
# shellcheck source=lib/pidfile.sh
source "$ROOT/scripts/lib/pidfile.sh"

print_env() {
  cat <<EOS
CNI_E2E_CRI_SOCK=$SOCK
CNI_E2E_CRI_CONF_DIR=$E/containerd.d
CNI_E2E_PODMAN_CONF=$E/podman/containers.conf
CNI_E2E_PODMAN_STORAGE=$E/podman/storage.conf
CNI_E2E_PODMAN_CONF_DIR=$E/podman.d
CNI_E2E_CNITOOL=$W/cnitool-lite
CNI_E2E_BUSYBOX=$BUSYBOX
EOS
}

packages() {
  local want=(containerd runc podman containernetworking-plugins golang-go golang-github-appc-cni-dev busybox-static catatonit iptables)
  local missing=()
  for p in "${want[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing ${missing[*]}"
  apt-get -o DPkg::Lock::Timeout=900 update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

plugins() {
  mkdir -p /opt/cni/bin
  # containerd 1.6 takes ONE bin_dir and needs loopback there; bench needs bridge/host-local
  for p in /usr/lib/cni/*; do [ -e "/opt/cni/bin/$(basename "$p")" ] || ln -s "$p" /opt/cni/bin/; done
  bash "$ROOT/scripts/cni-install.sh" >/dev/null
}

podman_env() {
  export CONTAINERS_CONF=$E/podman/containers.conf CONTAINERS_STORAGE_CONF=$E/podman/storage.conf
}

podman_config() {
  mkdir -p $E/podman $E/podman.d $W/podman $R/podman
  cat > $E/podman/containers.conf <<EOS
[containers]
default_ulimits = []
[network]
network_backend = "cni"
cni_plugin_dirs = ["/opt/cni/bin"]
network_config_dir = "$E/podman.d"
default_network = "podman"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$W/podman/events.log"
tmp_dir = "$R/podman/libpod"
EOS
  cat > $E/podman/storage.conf <<EOS
[storage]
driver = "overlay"
graphroot = "$W/podman/storage"
runroot = "$R/podman/storage"
EOS
}

# busybox-static rootfs with a /pause that sleeps until TERM; one image serves as pause and as busybox
images() {
  podman_env
  if ! podman image exists $BUSYBOX; then
    local rootfs; rootfs=$(mktemp -d)
    mkdir -p "$rootfs"/{bin,etc,proc,sys,dev,tmp,root,var/run}
    cp /bin/busybox "$rootfs/bin/busybox"
    for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$rootfs/bin/$a"; done
    echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"; echo 'root:x:0:' > "$rootfs/etc/group"
    printf '#!/bin/sh\ntrap "exit 0" TERM INT\nwhile :; do sleep 3600 & wait $!; done\n' > "$rootfs/pause"; chmod 755 "$rootfs/pause"
    tar -C "$rootfs" -c . | podman import -q --change 'CMD ["sh"]' - $BUSYBOX >/dev/null
    tar -C "$rootfs" -c . | podman import -q --change 'ENTRYPOINT ["/pause"]' - $IMAGE >/dev/null
    rm -rf "$rootfs"
  fi
  [ -f $W/pause.tar ] || podman save -q --format docker-archive -o $W/pause.tar $IMAGE >/dev/null
}

containerd_up() {
  mkdir -p $W/containerd $R $E/containerd.d "$(dirname $PID)"
  if pid_live $PID >/dev/null; then return 0; fi
  cat > $W/containerd.toml <<EOS
version = 2
root = "$W/containerd"
state = "$R/containerd"
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = "$R/debug.sock"
[metrics]
  address = ""
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$W/containerd/opt"
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "$IMAGE"
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/opt/cni/bin"
      conf_dir = "$E/containerd.d"
      max_conf_num = 1
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
          Root = "$R/runc"
EOS
  # the fd loop closes what this script inherited (the stack lock under flock): containerd must not keep it
  ( for fd in /proc/self/fd/*; do fd=${fd##*/}; if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi; done
    exec nohup containerd --config $W/containerd.toml > $W/containerd.log 2>&1 ) &
  pid_record $PID $!
  for _ in $(seq 1 100); do [ -S $SOCK ] && ctr -a $SOCK version >/dev/null 2>&1 && break; sleep 0.1; done
  ctr -a $SOCK -n k8s.io images import $W/pause.tar >/dev/null
}

containerd_down() {
  local pid
  if pid=$(pid_live $PID); then
    kill "$pid"; for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  pid_forget $PID
  # sandbox shims outlive containerd by design; stop those of this instance only (their -address is our socket)
  for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $SOCK" || true); do kill "$p" 2>/dev/null || true; done
}

case ${1:-up} in
  up)
    packages; plugins; podman_config; images; containerd_up
    bash "$ROOT/scripts/cni-cnitool.sh" "$W" >/dev/null
    print_env ;;
  down) containerd_down ;;
  env) print_env ;;
  *) echo "usage: $0 up|down|env" >&2; exit 2 ;;
esac

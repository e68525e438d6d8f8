# A simulated Docker host: its own dockerd (own data-root, exec-root, socket, managed containerd and
# plugin dir) in a private mount ns, optionally inside a network namespace (sourced; needs aio-common.sh).
# Used by scripts/multihost.sh (two hosts) and scripts/nested-vm.sh (dockerd inside a "VM").
DOCKER=/usr/bin/docker

# dk NAME ARGS...: the docker CLI against host NAME's dockerd
dk() { $DOCKER -H "unix://$AIO_RUN/mh-$1/docker.sock" "${@:2}"; }

# start_dockerd NAME NETNS [DOCKERD_ARGS...]: idempotent; NETNS empty = root netns
start_dockerd() {
  local n=$1 ns=$2 d=$AIO_RUN/mh-$1
  shift 2
  if dk "$n" info >/dev/null 2>&1; then log "dockerd mh-$n already running"; return 0; fi
  mkdir -p "$d/plugins" "$d/plugin-specs" "$AIO_VAR/mh-$n"
  awk '$3 ~ /^cgroup2?$/ {print $3, $2, $4}' /proc/self/mounts >"$d/cgroup-mounts"
  cat >"$d/run.sh" <<SH
#!/bin/bash
set -e
if [ -n "$ns" ]; then  # 'ip netns exec' remounted /sys, hiding the cgroup mounts dockerd needs
  mount -t tmpfs -o mode=755 cgroup_root /sys/fs/cgroup
  while read -r fs mp opts; do mkdir -p "\$mp"; mount -t "\$fs" -o "\$opts" "\$fs" "\$mp"; done <$d/cgroup-mounts
fi
mount --bind $d/plugins /run/docker/plugins
mount --bind $d/plugin-specs /etc/docker/plugins
# overlay mounts live in this mount ns, so containerd must too: hide any other one
mount -t tmpfs tmpfs /run/containerd
# pid files left from an earlier boot could name live strangers, and dockerd would not start
rm -f $d/docker.pid $d/docker/containerd/containerd.pid
exec dockerd --data-root=$AIO_VAR/mh-$n --exec-root=$d/docker -H unix://$d/docker.sock --pidfile=$d/docker.pid \\
  --iptables=false --ip-forward=false --ip-masq=false --bridge=none --storage-driver=overlay2 $*
SH
  chmod +x "$d/run.sh"
  if [[ -n $ns ]]; then start_bg "mh-dockerd-$n" ip netns exec "$ns" unshare -m --propagation private "$d/run.sh"
  else start_bg "mh-dockerd-$n" unshare -m --propagation private "$d/run.sh"; fi
  wait_for "dockerd mh-$n" 60 dk "$n" info
}

# load_busybox NAME...: the host dockerd's busybox image into each simulated host
load_busybox() {
  local n
  for n in "$@"; do
    dk "$n" image inspect busybox:latest >/dev/null 2>&1 || $DOCKER save busybox:latest | dk "$n" load >/dev/null
  done
}

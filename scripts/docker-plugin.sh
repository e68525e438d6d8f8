#!/bin/bash
# docker-plugin.sh — the Docker managed plugin (v2) of the Docker driver, built on this machine:
#   build [DIR]    rootfs from the Debian packages installed here (nodejs, iproute2, openvswitch-switch, procps,
#                  util-linux, ethtool: their binaries and the shared libraries they load) plus the npm package of
#                  this checkout (compiled, production dependencies only), and config.json, into DIR
#   create [NAME]  build, then `docker plugin create NAME DIR` (default kuryr-ts:latest); the plugin stays disabled
# Then configure and enable it (settable: the OS_* client variables and OS_<GROUP>__<OPTION> overrides):
#   docker plugin set kuryr-ts:latest OS_AUTH_URL=http://127.0.0.1:5000/v3 OS_USERNAME=kuryr OS_PASSWORD=… \
#     OS_PROJECT_NAME=service OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_DEFAULT__HOST=$(hostname)
#   docker plugin enable kuryr-ts:latest
#   docker network create -d kuryr-ts:latest --ipam-driver kuryr-ts:latest --subnet 10.0.0.0/24 net
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOCKER=/usr/bin/docker
DIR=${2:-/var/lib/kuryr-ts-plugin}
[[ ${1:-} == create ]] && DIR=/var/lib/kuryr-ts-plugin

# copy_bin FILE...: the file (symlinks resolved) and every shared library it loads, at the same paths
copy_bin() {
  local f real lib
  for f in "$@"; do
    real=$(readlink -f "$f")
    install -D -m 0755 "$real" "$DIR/rootfs/usr/bin/$(basename "$f")"
    for lib in $(ldd "$real" | awk '/=>/ {print $3} /^[[:space:]]*\// {print $1}'); do
      [[ -e $DIR/rootfs$lib ]] || install -D -m 0755 "$(readlink -f "$lib")" "$DIR/rootfs$lib"
    done
  done
}

build() {
  rm -rf "$DIR"; mkdir -p "$DIR/rootfs"
  local r=$DIR/rootfs
  # Debian's merged-/usr layout, so that /lib64/ld-linux and /bin/… resolve as on the host
  mkdir -p "$r/usr/bin" "$r/usr/lib" "$r/usr/lib64" "$r/etc" "$r/tmp" "$r/run/docker/plugins" "$r/run/openvswitch" "$r/proc" "$r/sys" "$r/dev"
  # ovs-vsctl looks for /var/run/openvswitch/db.sock; the mount lands in /run
  mkdir -p "$r/var"; ln -s ../run "$r/var/run"
  ln -s usr/bin "$r/bin"; ln -s usr/bin "$r/sbin"; ln -s bin "$r/usr/sbin"; ln -s usr/lib "$r/lib"; ln -s usr/lib64 "$r/lib64"
  chmod 1777 "$r/tmp"
  copy_bin "$(command -v node)" "$(command -v ip)" "$(command -v ovs-vsctl)" "$(command -v ethtool)" "$(command -v nsenter)" \
    "$(command -v sysctl)" "$(command -v mount)" /bin/sh
  cp -a /etc/iproute2 "$r/etc/" 2>/dev/null || true
  echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"; echo 'root:x:0:' >"$r/etc/group"
  # the package exactly as operators install it: npm pack (prepack builds), then a production-only install
  local pack; pack=$(mktemp -d)
  local tgz; tgz=$(cd "$ROOT" && npm pack --silent --pack-destination "$pack" | tail -1)
  npm install -g --prefix "$r/opt/kuryr" --no-audit --no-fund "$pack/$tgz" >/dev/null
  rm -rf "$pack"
  local version; version=$(node -p "require('$ROOT/package.json').version")
  # A plugin's /proc/sys is read-only, but the host-side device's accept_ra/autoconf must be written (the plugin
  # shares the host's network namespace): with CAP_SYS_ADMIN the entrypoint makes it writable first.
  cat >"$DIR/config.json" <<JSON
{
  "description": "Kuryr in TypeScript $version: Docker network and IPAM driver on OpenStack Neutron",
  "documentation": "docs/operations.md",
  "entrypoint": ["/bin/sh", "-c",
                 "mount -o remount,rw /proc/sys && exec /usr/bin/node --max-semi-space-size=1 --v8-pool-size=1 /opt/kuryr/lib/node_modules/kuryr-ts/dist/src/bin/kuryr.js serve docker"],
  "workdir": "/",
  "interface": { "socket": "kuryr.sock", "types": ["docker.networkdriver/1.0", "docker.ipamdriver/1.0"] },
  "network": { "type": "host" },
  "linux": { "capabilities": ["CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_NET_RAW"] },
  "mounts": [
    { "name": "ovs", "description": "Open vSwitch's run directory (db.sock)", "source": "/run/openvswitch",
      "destination": "/run/openvswitch", "type": "bind", "options": ["rbind"], "settable": ["source"] }
  ],
  "env": [
    { "name": "PATH", "value": "/usr/bin" },
    { "name": "OS_AUTH_URL", "settable": ["value"], "value": "" },
    { "name": "OS_AUTH_TYPE", "settable": ["value"], "value": "password" },
    { "name": "OS_USERNAME", "settable": ["value"], "value": "" },
    { "name": "OS_PASSWORD", "settable": ["value"], "value": "" },
    { "name": "OS_PROJECT_NAME", "settable": ["value"], "value": "" },
    { "name": "OS_USER_DOMAIN_NAME", "settable": ["value"], "value": "Default" },
    { "name": "OS_PROJECT_DOMAIN_NAME", "settable": ["value"], "value": "Default" },
    { "name": "OS_REGION_NAME", "settable": ["value"], "value": "" },
    { "name": "OS_DEFAULT__HOST", "settable": ["value"], "value": "" },
    { "name": "OS_DEFAULT__CAPABILITY_SCOPE", "settable": ["value"], "value": "local" },
    { "name": "OS_DEFAULT__HEALTH_PORT", "settable": ["value"], "value": "23761" },
    { "name": "OS_DEFAULT__METRICS_PORT", "settable": ["value"], "value": "23762" },
    { "name": "OS_DEFAULT__DEBUG", "settable": ["value"], "value": "false" }
  ]
}
JSON
  echo "built $DIR (rootfs $(du -sh "$r" | cut -f1))"
}

case ${1:-build} in
  build) build ;;
  create)
    NAME=${2:-kuryr-ts:latest}
    build
    if $DOCKER plugin inspect "$NAME" >/dev/null 2>&1; then $DOCKER plugin disable -f "$NAME" >/dev/null 2>&1 || true; $DOCKER plugin rm -f "$NAME" >/dev/null; fi
    $DOCKER plugin create "$NAME" "$DIR" ;;
  *) echo "usage: $0 build [DIR] | create [NAME]" >&2; exit 2 ;;
esac

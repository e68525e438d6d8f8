#!/bin/bash
# cni-install.sh — install the kuryr-cni plugin executable where CNI runtimes look.
#   scripts/cni-install.sh [--shim BINARY] [--from BUNDLE] [--conf-dir DIR] [--socket PATH] [--cni-version V] [--name NET]
# /opt/cni/bin/kuryr-cni is the compiled shim (cni/kuryr-cni, a static Go binary starting in ~2 ms): --shim takes
# one already built, otherwise scripts/cni-build-shim.sh builds it when `go` is installed. Without go it falls
# back to the Node.js shim: /usr/local/lib/kuryr/kuryr-cni.mjs (the esbuild bundle; --from takes an already built
# one, the npm package's dist/kuryr-cni.js, else it is built from this checkout) and a wrapper running it with an
# absolute node path (runtimes pass their own PATH). With --conf-dir it also writes DIR/10-kuryr.conflist
# (operators: --conf-dir /etc/cni/net.d).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHIM="" FROM="" CONF_DIR="" SOCKET=/run/kuryr/cni.sock VERSION=1.0.0 NAME=kuryr
while [ $# -gt 0 ]; do
  case $1 in
    --shim) SHIM=$2; shift 2 ;;
    --from) FROM=$2; shift 2 ;;
    --conf-dir) CONF_DIR=$2; shift 2 ;;
    --socket) SOCKET=$2; shift 2 ;;
    --cni-version) VERSION=$2; shift 2 ;;
    --name) NAME=$2; shift 2 ;;
    *) echo "usage: $0 [--shim BINARY] [--from BUNDLE] [--conf-dir DIR] [--socket PATH] [--cni-version V] [--name NET]" >&2; exit 2 ;;
  esac
done
mkdir -p /opt/cni/bin
BUILD=$(mktemp -d)
trap 'rm -rf "$BUILD"' EXIT
WHY="go is not installed (apt-get install golang-go for the compiled one, ~2 ms a call instead of ~100 ms)"
if [ -z "$SHIM" ] && command -v go >/dev/null; then
  if bash "$ROOT/scripts/cni-build-shim.sh" "$BUILD/kuryr-cni"; then SHIM=$BUILD/kuryr-cni
  else WHY="building cni/kuryr-cni with go failed (above)"; fi
fi
if [ -n "$SHIM" ]; then
  install -m 0755 "$SHIM" /opt/cni/bin/kuryr-cni.tmp && mv -f /opt/cni/bin/kuryr-cni.tmp /opt/cni/bin/kuryr-cni
  WHAT="the compiled shim"
else
  NODE=$(command -v node)
  if [ -z "$FROM" ]; then
    (cd "$ROOT" && npm run --silent build:cni)
    FROM=$ROOT/dist/kuryr-cni.js
  fi
  install -D -m 0644 "$FROM" /usr/local/lib/kuryr/kuryr-cni.mjs.tmp && mv -f /usr/local/lib/kuryr/kuryr-cni.mjs.tmp /usr/local/lib/kuryr/kuryr-cni.mjs
  cat > /opt/cni/bin/kuryr-cni.tmp <<EOS
#!/bin/sh
exec $NODE /usr/local/lib/kuryr/kuryr-cni.mjs
EOS
  chmod 0755 /opt/cni/bin/kuryr-cni.tmp && mv -f /opt/cni/bin/kuryr-cni.tmp /opt/cni/bin/kuryr-cni
  WHAT="the Node.js shim (/usr/local/lib/kuryr/kuryr-cni.mjs)"
  echo "cni-install.sh: installed the Node.js kuryr-cni shim: $WHY" >&2
fi
if [ -n "$CONF_DIR" ]; then
  mkdir -p "$CONF_DIR"
  cat > "$CONF_DIR/10-kuryr.conflist" <<EOS
{
  "cniVersion": "$VERSION",
  "name": "$NAME",
  "plugins": [
    {
      "type": "kuryr-cni",
      "kuryr_socket": "$SOCKET",
      "capabilities": { "io.kubernetes.cri.pod-annotations": true }
    }
  ]
}
EOS
fi
echo "installed /opt/cni/bin/kuryr-cni: $WHAT${CONF_DIR:+, and $CONF_DIR/10-kuryr.conflist}"

#!/bin/bash
# cni-install.sh — build the kuryr-cni shim into one file and install it where CNI runtimes look.
#   scripts/cni-install.sh [--from BUNDLE] [--conf-dir DIR] [--socket PATH] [--cni-version V] [--name NET]
# Installs /usr/local/lib/kuryr/kuryr-cni.mjs (the esbuild bundle) and /opt/cni/bin/kuryr-cni (a wrapper
# running it with an absolute node path: runtimes pass their own PATH). With --conf-dir it also writes
# DIR/10-kuryr.conflist (operators: --conf-dir /etc/cni/net.d). --from takes an already built bundle (the npm
# package's dist/kuryr-cni.js); without it the bundle is built from this checkout.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FROM="" CONF_DIR="" SOCKET=/run/kuryr/cni.sock VERSION=1.0.0 NAME=kuryr
while [ $# -gt 0 ]; do
  case $1 in
    --from) FROM=$2; shift 2 ;;
    --conf-dir) CONF_DIR=$2; shift 2 ;;
    --socket) SOCKET=$2; shift 2 ;;
    --cni-version) VERSION=$2; shift 2 ;;
    --name) NAME=$2; shift 2 ;;
    *) echo "usage: $0 [--from BUNDLE] [--conf-dir DIR] [--socket PATH] [--cni-version V] [--name NET]" >&2; exit 2 ;;
  esac
done
NODE=$(command -v node)
if [ -z "$FROM" ]; then
  (cd "$ROOT" && npm run --silent build:cni)
  FROM=$ROOT/dist/kuryr-cni.js
fi
install -D -m 0644 "$FROM" /usr/local/lib/kuryr/kuryr-cni.mjs.tmp && mv -f /usr/local/lib/kuryr/kuryr-cni.mjs.tmp /usr/local/lib/kuryr/kuryr-cni.mjs
mkdir -p /opt/cni/bin
cat > /opt/cni/bin/kuryr-cni.tmp <<EOS
#!/bin/sh
exec $NODE /usr/local/lib/kuryr/kuryr-cni.mjs
EOS
chmod 0755 /opt/cni/bin/kuryr-cni.tmp && mv -f /opt/cni/bin/kuryr-cni.tmp /opt/cni/bin/kuryr-cni
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
echo "installed /opt/cni/bin/kuryr-cni -> /usr/local/lib/kuryr/kuryr-cni.mjs${CONF_DIR:+ and $CONF_DIR/10-kuryr.conflist}"

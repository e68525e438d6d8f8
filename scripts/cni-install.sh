#!/bin/bash
# cni-install.sh — build the kuryr-cni shim into one file and install it where CNI runtimes look.
#   scripts/cni-install.sh [--conf-dir DIR] [--socket PATH] [--cni-version V] [--name NET]
# Installs /usr/local/lib/kuryr/kuryr-cni.js (the esbuild bundle) and /opt/cni/bin/kuryr-cni (a wrapper
# running it with an absolute node path: runtimes pass their own PATH). With --conf-dir it also writes
# DIR/10-kuryr.conflist (operators: --conf-dir /etc/cni/net.d).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONF_DIR="" SOCKET=/run/kuryr/cni.sock VERSION=1.0.0 NAME=kuryr
while [ $# -gt 0 ]; do
  case $1 in
    --conf-dir) CONF_DIR=$2; shift 2 ;;
    --socket) SOCKET=$2; shift 2 ;;
    --cni-version) VERSION=$2; shift 2 ;;
    --name) NAME=$2; shift 2 ;;
    *) echo "usage: $0 [--conf-dir DIR] [--socket PATH] [--cni-version V] [--name NET]" >&2; exit 2 ;;
  esac
done
NODE=$(command -v node)
(cd "$ROOT" && npx --no-install esbuild src/bin/kuryr-cni.ts --bundle --platform=node --format=esm --target=node20 \
  --legal-comments=none --log-level=warning --outfile=dist/kuryr-cni.js)
install -D -m 0644 "$ROOT/dist/kuryr-cni.js" /usr/local/lib/kuryr/kuryr-cni.mjs
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

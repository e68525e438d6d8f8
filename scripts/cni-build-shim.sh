#!/bin/bash
# cni-build-shim.sh [OUT] — builds the kuryr-cni plugin executable from cni/kuryr-cni (Go, standard library only)
# into OUT (default dist/kuryr-cni): one static binary. Offline: Debian's golang-go in GOPATH mode, no module proxy.
# The Go build cache is kept in $KURYR_GO_CACHE (default ~/.cache/kuryr-go): ~10 s cold, under 1 s warm.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/dist/kuryr-cni}
command -v go >/dev/null || { echo "cni-build-shim.sh: go not found (Debian: apt-get install golang-go)" >&2; exit 3; }
CACHE=${KURYR_GO_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/kuryr-go}
mkdir -p "$CACHE" "$(dirname "$OUT")"
cd "$ROOT"
GO111MODULE=off GOPATH=$CACHE/gopath GOCACHE=$CACHE/build GOFLAGS= GOPROXY=off CGO_ENABLED=0 \
  go build -trimpath -ldflags='-s -w' -o "$OUT.tmp" ./cni/kuryr-cni
mv -f "$OUT.tmp" "$OUT"

#!/bin/bash
# cni-cnitool.sh [WORKDIR] — builds cnitool-lite, a cnitool-style libcni caller (the only packaged caller that
# sends CHECK), from Debian's golang-go + golang-github-appc-cni-dev, offline (GOPATH mode, no module proxy).
#   cnitool-lite add|del|check NETNAME NETNS    env: NETCONFPATH, CNI_PATH, CNI_ARGS, CAP_ARGS (JSON),
#                                              CNI_IFNAME (eth0), CNI_CONTAINERID, CNI_CACHE_DIR
# Recipe and findings: shared/runtimes/cni-runtimes.md §3.
set -euo pipefail
W=${1:-/var/lib/kuryr-cni-e2e}
[ -x "$W/cnitool-lite" ] && exit 0
G=$W/gopath/src/cnitool-lite
mkdir -p "$G"
cat > "$G/main.go" <<'EOG'
package main

import (
	"context"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func die(f string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, f+"\n", a...)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 4 {
		die("usage: %s add|del|check NETNAME NETNS", filepath.Base(os.Args[0]))
	}
	ctx := context.Background()
	cninet := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(env("CNI_PATH", "/opt/cni/bin")), env("CNI_CACHE_DIR", "/var/lib/cni"), nil)
	netconf, err := libcni.LoadConfList(env("NETCONFPATH", "/etc/cni/net.d"), os.Args[2])
	if err != nil {
		die("load conflist %q: %v", os.Args[2], err)
	}
	netns := os.Args[3]
	cid := os.Getenv("CNI_CONTAINERID")
	if cid == "" {
		s := sha512.Sum512([]byte(netns))
		cid = fmt.Sprintf("cnitool-%x", s[:10])
	}
	rt := &libcni.RuntimeConf{ContainerID: cid, NetNS: netns, IfName: env("CNI_IFNAME", "eth0")}
	if a := os.Getenv("CNI_ARGS"); a != "" {
		for _, kv := range strings.Split(a, ";") {
			if p := strings.SplitN(kv, "=", 2); len(p) == 2 {
				rt.Args = append(rt.Args, [2]string{p[0], p[1]})
			}
		}
	}
	if c := os.Getenv("CAP_ARGS"); c != "" {
		if err := json.Unmarshal([]byte(c), &rt.CapabilityArgs); err != nil {
			die("CAP_ARGS: %v", err)
		}
	}
	switch os.Args[1] {
	case "add":
		res, err := cninet.AddNetworkList(ctx, netconf, rt)
		if err != nil {
			die("ADD: %v", err)
		}
		_ = res.Print()
	case "del":
		if err := cninet.DelNetworkList(ctx, netconf, rt); err != nil {
			die("DEL: %v", err)
		}
	case "check":
		if err := cninet.CheckNetworkList(ctx, netconf, rt); err != nil {
			die("CHECK: %v", err)
		}
		fmt.Println("check ok")
	default:
		die("unknown command %s", os.Args[1])
	}
}
EOG
cd "$G"
GO111MODULE=off GOPATH=$W/gopath:/usr/share/gocode GOCACHE=$W/gocache GOFLAGS= GOPROXY=off go build -o "$W/cnitool-lite" .
echo "$W/cnitool-lite"

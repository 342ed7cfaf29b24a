#!/usr/bin/env bash
# Builds the node binaries of the local cluster from source through the Go module
# proxy: kubelet, kube-controller-manager, kube-scheduler, kube-proxy (k8s.io/kubernetes
# with the staging replaces, like hack/setup-envtest.sh), containerd 2.x with its runc
# shim and ctr (CGO_ENABLED=0), runc (cgo, seccomp; needs libseccomp-dev and pkg-config)
# and CoreDNS. kube-apiserver, etcd and kubectl come from hack/setup-envtest.sh.
#
# The binaries land in a cache outside the checkout, keyed by every version, so clean
# clones (CI) reuse them; nothing is rebuilt when all are present:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/subscription-operator/cluster/<versions>/
#
# Usage: hack/cluster/build.sh [--print-dir]
set -euo pipefail

# shellcheck source=hack/cluster/versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

log() { [ "${QUIET:-0}" = 1 ] || echo "cluster/build: $*" >&2; }
print_only=0
[ "${1:-}" = "--print-dir" ] && { print_only=1; QUIET=1; }

KUBE_BINARIES=(kubelet kube-controller-manager kube-scheduler kube-proxy)
BINARIES=("${KUBE_BINARIES[@]}" containerd containerd-shim-runc-v2 ctr runc coredns)
# The Kubernetes binaries carry their release like the official builds (the node's
# kubeletVersion, /version); without it they report v0.0.0-master. Binaries of an
# earlier, unstamped build are rebuilt (a relink when the Go build cache is warm).
KUBE_VERSION_PKG=k8s.io/component-base/version
KUBE_LDFLAGS="-X $KUBE_VERSION_PKG.gitVersion=v${K8S_VERSION} -X $KUBE_VERSION_PKG.gitMajor=${K8S_VERSION%%.*} -X $KUBE_VERSION_PKG.gitMinor=$(cut -d. -f2 <<< "$K8S_VERSION") -X $KUBE_VERSION_PKG.gitTreeState=clean"
for b in "${KUBE_BINARIES[@]}"; do
  if [ -x "$CLUSTER_BIN/$b" ] && [ "$("$CLUSTER_BIN/$b" --version 2>/dev/null)" != "Kubernetes v${K8S_VERSION}" ]; then
    log "$b is not stamped v${K8S_VERSION}: rebuilding it"
    rm -f "$CLUSTER_BIN/$b"
  fi
done
missing() { local b; for b in "${BINARIES[@]}"; do [ -x "$CLUSTER_BIN/$b" ] || return 0; done; return 1; }

if ! missing; then
  [ $print_only = 1 ] && echo "$CLUSTER_BIN"
  log "cluster binaries present in $CLUSTER_BIN"
  exit 0
fi

command -v go >/dev/null || { echo "cluster/build: go is required (https://go.dev/doc/install)" >&2; exit 1; }
mkdir -p "$CLUSTER_BIN"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GOFLAGS="-mod=mod -buildvcs=false" GOWORK=off
LDFLAGS="-s -w"
# Big builds yield to the other users of the machine.
NICE=(nice -n "${NICE_LEVEL:-10}")
start=$(date +%s)

build_kubernetes() {
  local dir="$work/kubernetes" gomod b
  mkdir -p "$dir"; cd "$dir"
  log "resolving k8s.io/kubernetes v${K8S_VERSION}"
  gomod="$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
  [ -f "$gomod" ] || { echo "cluster/build: could not download k8s.io/kubernetes@v${K8S_VERSION}" >&2; exit 1; }
  {
    echo "module clusterbuild"; echo
    echo "go $(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//')"; echo
    echo "require k8s.io/kubernetes v${K8S_VERSION}"; echo
    echo "replace ("
    # Every staging module that k8s.io/kubernetes replaces with ./staging/... is pinned to its release.
    grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" | awk -v v="v${STAGING_VERSION}" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } > go.mod
  cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
  go mod tidy >/dev/null 2>&1 || go mod tidy
  for b in "${KUBE_BINARIES[@]}"; do
    [ -x "$CLUSTER_BIN/$b" ] && continue
    log "building $b"
    CGO_ENABLED=0 "${NICE[@]}" go build -trimpath -ldflags "$LDFLAGS $KUBE_LDFLAGS" -o "$CLUSTER_BIN/$b.tmp" "k8s.io/kubernetes/cmd/$b"
    mv "$CLUSTER_BIN/$b.tmp" "$CLUSTER_BIN/$b"
  done
}

# go_install PKG@VERSION NAME [go build flags...]: builds a module's command (no replace
# directives needed) into the cache under NAME.
go_install() {
  local pkg="$1" name="$2"; shift 2
  [ -x "$CLUSTER_BIN/$name" ] && return 0
  log "building $name ($pkg)"
  local gobin="$work/gobin-$name"
  mkdir -p "$gobin"
  GOBIN="$gobin" "${NICE[@]}" go install -trimpath -ldflags "$LDFLAGS" "$@" "$pkg"
  mv "$gobin/$(basename "${pkg%@*}")" "$CLUSTER_BIN/$name"
}

# CoreDNS with only the plugins of up.sh's Corefile (CoreDNS's documented way to
# choose plugins at compile time: a main package importing them). The full build
# compiles every cloud, tracing and storage plugin too: 1,382 packages instead of
# 781, and 16 of the 36 minutes of a cold build here.
build_coredns() {
  [ -x "$CLUSTER_BIN/coredns" ] && return 0
  local dir="$work/coredns"
  mkdir -p "$dir"; cd "$dir"
  log "building coredns v${COREDNS_VERSION} (plugins bind, cache, errors, health, kubernetes, ready)"
  printf 'module clustercoredns\n\ngo %s\n\nrequire github.com/coredns/coredns v%s\n' \
    "$(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//')" "$COREDNS_VERSION" > go.mod
  cat > main.go <<'GO'
// Command coredns is CoreDNS with the plugins the local cluster's Corefile uses.
package main

import (
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"

	"github.com/coredns/coredns/coremain"
)

func main() { coremain.Run() }
GO
  go mod tidy >/dev/null 2>&1 || go mod tidy
  CGO_ENABLED=0 "${NICE[@]}" go build -trimpath -ldflags "$LDFLAGS" -o "$CLUSTER_BIN/coredns.tmp" .
  mv "$CLUSTER_BIN/coredns.tmp" "$CLUSTER_BIN/coredns"
}

build_kubernetes
cd "$work"
CGO_ENABLED=0 go_install "github.com/containerd/containerd/v2/cmd/containerd@v${CONTAINERD_VERSION}" containerd
CGO_ENABLED=0 go_install "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@v${CONTAINERD_VERSION}" containerd-shim-runc-v2
CGO_ENABLED=0 go_install "github.com/containerd/containerd/v2/cmd/ctr@v${CONTAINERD_VERSION}" ctr
if [ ! -x "$CLUSTER_BIN/runc" ]; then
  pkg-config --exists libseccomp || { echo "cluster/build: runc needs libseccomp-dev and pkg-config (apt-get install libseccomp-dev pkg-config)" >&2; exit 1; }
  CGO_ENABLED=1 go_install "github.com/opencontainers/runc@v${RUNC_VERSION}" runc -tags seccomp
fi
build_coredns

log "cluster binaries ready in $CLUSTER_BIN ($(( $(date +%s) - start )) s)"
[ $print_only = 1 ] && echo "$CLUSTER_BIN"
exit 0

#!/usr/bin/env bash
# Builds the envtest control plane (kube-apiserver, etcd, kubectl) from source
# through the Go module proxy, so tests need no internet access beyond the proxy.
#
# The binaries land in a cache outside the checkout so that clean clones (CI)
# reuse them:  ${XDG_CACHE_HOME:-$HOME/.cache}/subscription-operator/k8s/<version>/
# Nothing is rebuilt when all three are already present.
#
# Usage: hack/setup-envtest.sh [--print-dir]
#   --print-dir  only print the directory (for KUBEBUILDER_ASSETS), building first if needed.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.2}"
STAGING_VERSION="${STAGING_VERSION:-0.37.2}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/subscription-operator/k8s"
OUT="${CACHE_ROOT}/${K8S_VERSION}"

log() { [ "${QUIET:-0}" = 1 ] || echo "setup-envtest: $*" >&2; }

print_only=0
[ "${1:-}" = "--print-dir" ] && { print_only=1; QUIET=1; }

if [ -x "$OUT/kube-apiserver" ] && [ -x "$OUT/etcd" ] && [ -x "$OUT/kubectl" ]; then
  [ $print_only = 1 ] && echo "$OUT"
  log "envtest binaries present in $OUT"
  exit 0
fi

command -v go >/dev/null || { echo "setup-envtest: go is required (https://go.dev/doc/install)" >&2; exit 1; }
mkdir -p "$OUT"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0 GOWORK=off

build_kubernetes() {
  local dir="$work/kubernetes"
  mkdir -p "$dir"
  cd "$dir"
  log "resolving k8s.io/kubernetes v${K8S_VERSION} (first run downloads sources through the module proxy)"
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
  [ -f "$gomod" ] || { echo "setup-envtest: could not download k8s.io/kubernetes@v${K8S_VERSION}" >&2; exit 1; }
  {
    echo "module envtestbuild"
    echo
    echo "go $(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//')"
    echo
    echo "require k8s.io/kubernetes v${K8S_VERSION}"
    echo
    echo "replace ("
    # Every staging module that k8s.io/kubernetes replaces with ./staging/... is pinned to its release.
    grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" | awk -v v="v${STAGING_VERSION}" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } > go.mod
  cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  go mod tidy >/dev/null 2>&1 || go mod tidy
  if [ ! -x "$OUT/kube-apiserver" ]; then
    log "building kube-apiserver (a few minutes on 2 idle cores, once)"
    go build -trimpath -ldflags "-s -w" -o "$OUT/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
    mv "$OUT/kube-apiserver.tmp" "$OUT/kube-apiserver"
  fi
  if [ ! -x "$OUT/kubectl" ]; then
    log "building kubectl"
    go build -trimpath -ldflags "-s -w" -o "$OUT/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl
    mv "$OUT/kubectl.tmp" "$OUT/kubectl"
  fi
}

build_etcd() {
  local dir="$work/etcd"
  mkdir -p "$dir"
  cd "$dir"
  log "building etcd v${ETCD_VERSION}"
  cat > go.mod <<MOD
module etcdbuild

go $(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//')

require go.etcd.io/etcd/server/v3 v${ETCD_VERSION}
MOD
  cat > tools.go <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
  go mod tidy >/dev/null 2>&1 || go mod tidy
  go build -trimpath -ldflags "-s -w" -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$OUT/etcd.tmp" "$OUT/etcd"
}

{ [ -x "$OUT/kube-apiserver" ] && [ -x "$OUT/kubectl" ]; } || build_kubernetes
[ -x "$OUT/etcd" ] || build_etcd

log "envtest binaries ready in $OUT"
[ $print_only = 1 ] && echo "$OUT"
exit 0

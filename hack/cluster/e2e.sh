#!/usr/bin/env bash
# make e2e-cluster: a fresh one-node cluster (hack/cluster/up.sh), the Go e2e suite of
# test/e2e-cluster against it (build tag e2ecluster), and hack/cluster/down.sh at the
# end whatever happened (KEEP_CLUSTER=1 keeps the cluster for debugging). On success
# down.sh's check that nothing is left decides the exit status too.
#
# Usage: hack/cluster/e2e.sh IMAGE_TAR PAUSE_TAR IMG KUSTOMIZE
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/cluster/env.sh
source "$here/env.sh"
IMAGE_TAR="$1" PAUSE_TAR="$2" IMG="$3" KUSTOMIZE="$4"
start=$(date +%s)

# A cluster left by an interrupted run is removed first, so a rerun always works.
"$here/down.sh"
# From here on, a failure (or Ctrl-C) still removes the cluster.
if [ "${KEEP_CLUSTER:-0}" != 1 ]; then trap '"$here/down.sh" || true' EXIT; fi
t0=$(date +%s)
"$here/up.sh" "$IMAGE_TAR" "$PAUSE_TAR"
echo "e2e-cluster: cluster started in $(( $(date +%s) - t0 )) s" >&2

t1=$(date +%s)
CLUSTER_KUBECONFIG="$KUBECONFIG_ADMIN" KUBECTL="$ENVTEST_BIN/kubectl" KUSTOMIZE="$KUSTOMIZE" IMG="$IMG" CLUSTER_HOST_IP="$HOST_IP" \
  go test -tags e2ecluster -count=1 -timeout 30m -v ./test/e2e-cluster/ ${GINKGO_ARGS:+-args $GINKGO_ARGS}
echo "e2e-cluster: tests took $(( $(date +%s) - t1 )) s; whole run $(( $(date +%s) - start )) s (before cluster-down)" >&2
if [ "${KEEP_CLUSTER:-0}" != 1 ]; then
  trap - EXIT
  "$here/down.sh"
fi

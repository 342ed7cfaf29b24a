# Versions of everything the local cluster runs (sourced by the hack/cluster scripts).
# kube-apiserver, etcd and kubectl are the envtest binaries (hack/setup-envtest.sh).
K8S_VERSION="${K8S_VERSION:-1.37.2}"
STAGING_VERSION="${STAGING_VERSION:-0.37.2}"
# kubelet >= 1.36 needs containerd 2.x (Debian ships 1.6).
CONTAINERD_VERSION="${CONTAINERD_VERSION:-2.4.2}"
# Debian's crun 1.8 rejects containerd 2.4's runtime-spec version.
RUNC_VERSION="${RUNC_VERSION:-1.3.7}"
COREDNS_VERSION="${COREDNS_VERSION:-1.14.7}"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/subscription-operator"
CLUSTER_BIN="${CACHE_ROOT}/cluster/k8s-${K8S_VERSION}_containerd-${CONTAINERD_VERSION}_runc-${RUNC_VERSION}_coredns-${COREDNS_VERSION}"
ENVTEST_BIN="${CACHE_ROOT}/k8s/${K8S_VERSION}"

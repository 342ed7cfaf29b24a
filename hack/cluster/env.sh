# Shared settings of the local cluster scripts (sourced by up.sh, down.sh and e2e).
# shellcheck source=hack/cluster/versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

# Everything the cluster writes lives here (deleted by down.sh).
CLUSTER_STATE="${CLUSTER_STATE:-/var/tmp/subscription-operator-cluster}"
# The node is a network namespace joined to the host by a veth pair (as kind gives
# each node a container): the node IP, the pod and the Service ranges live there,
# the API server listens on the host end of the veth. No traffic leaves the machine:
# the host does not forward (net.ipv4.ip_forward stays as it is) and CoreDNS answers
# only cluster names.
NODE_NETNS="${NODE_NETNS:-so-node}"
NODE_NAME="${NODE_NAME:-so-node}"
HOST_VETH="so-host0"
HOST_IP="${HOST_IP:-10.250.0.1}"
NODE_IP="${NODE_IP:-10.250.0.2}"
VETH_PREFIX=30
POD_CIDR="${POD_CIDR:-10.244.0.0/24}"
SERVICE_CIDR="${SERVICE_CIDR:-10.96.0.0/16}"
KUBERNETES_SVC_IP="10.96.0.1"
# CoreDNS runs on the node and serves the cluster's DNS at the node IP.
DNS_IP="$NODE_IP"
APISERVER_PORT=6443
APISERVER_URL="https://${HOST_IP}:${APISERVER_PORT}"
# Pods' and containers' cgroups live below this root in every v1 hierarchy.
CGROUP_ROOT="/subscription-operator-cluster"
PAUSE_IMAGE="registry.k8s.io/pause:3.10.2"
KUBECONFIG_ADMIN="${CLUSTER_STATE}/admin.kubeconfig"
RUN_DIR="${CLUSTER_STATE}/run"
CONTAINERD_SOCK="${RUN_DIR}/containerd.sock"
# Kernel settings the kubelet sets at start (protectKernelDefaults: false); restored by down.sh.
KUBELET_SYSCTLS="vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes"

#!/usr/bin/env bash
# Starts a one-node Kubernetes cluster built from source on this machine (make cluster):
# etcd, kube-apiserver (service-account issuer and keys, admission with NodeRestriction
# and PodSecurity, authorization Node,RBAC, TLS from a local CA), kube-controller-manager,
# kube-scheduler, containerd + runc, kubelet, kube-proxy (iptables), the CNI bridge and
# CoreDNS; imports the operator's image and the pause image; writes a kubeconfig.
#
# Needs root, cgroups, iproute2, iptables, openssl and Debian's containernetworking-plugins
# (hack/cluster/deps.sh installs them). The binaries come from hack/setup-envtest.sh and
# hack/cluster/build.sh (cached outside the checkout). Stop with hack/cluster/down.sh.
#
# Usage: hack/cluster/up.sh IMAGE_TAR [PAUSE_TAR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/cluster/env.sh
source "$here/env.sh"

IMAGE_TAR="${1:?usage: up.sh IMAGE_TAR [PAUSE_TAR]}"
PAUSE_TAR="${2:-}"
start=$(date +%s)
log() { echo "cluster/up [$(( $(date +%s) - start ))s]: $*" >&2; }
die() { echo "cluster/up: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespace, cgroups, mounts)"
for c in ip iptables openssl nsenter mount; do command -v "$c" >/dev/null || die "$c is missing; run hack/cluster/deps.sh"; done
[ -x /usr/lib/cni/bridge ] || die "the CNI plugins are missing (apt-get install containernetworking-plugins); run hack/cluster/deps.sh"
for b in kube-apiserver etcd kubectl; do [ -x "$ENVTEST_BIN/$b" ] || die "$ENVTEST_BIN/$b is missing; run hack/setup-envtest.sh"; done
for b in kubelet kube-controller-manager kube-scheduler kube-proxy containerd containerd-shim-runc-v2 ctr runc coredns; do
  [ -x "$CLUSTER_BIN/$b" ] || die "$CLUSTER_BIN/$b is missing; run hack/cluster/build.sh"
done
[ -f "$IMAGE_TAR" ] || die "image $IMAGE_TAR is missing; run make image"
if [ -e "$CLUSTER_STATE" ] || ip netns list | grep -qw "$NODE_NETNS"; then
  die "a cluster is already running (or was not cleaned up): run hack/cluster/down.sh first"
fi

mkdir -p "$CLUSTER_STATE"/{pki,logs,pids,etcd,cni/net.d,cni/ipam,kubelet,containerd/root,containerd/state} "$RUN_DIR"
chmod 700 "$CLUSTER_STATE"
# The host's iptables rules, to prove down.sh leaves them as they were.
iptables-save | grep -v '^[#:]' > "$CLUSTER_STATE/host-iptables.before" || true
# The kernel settings the kubelet changes (its "kernel defaults"); down.sh restores them.
for k in $KUBELET_SYSCTLS; do echo "$k=$(sysctl -n "$k")"; done > "$CLUSTER_STATE/sysctl.before"
# The kubelet writes container logs below /var/log/pods and /var/log/containers, libcni
# caches results in /var/lib/cni, containerd's shims put their sockets in /run/containerd.
for d in /var/log/pods /var/log/containers /var/lib/cni /run/containerd; do [ -e "$d" ] || echo "$d"; done > "$CLUSTER_STATE/logdirs.created"

# start NAME [--netns] CMD...: runs CMD in the background in its own session, logs to
# logs/NAME.log, records its pid.
start_proc() {
  local name="$1"; shift
  local prefix=()
  if [ "$1" = "--netns" ]; then prefix=(nsenter "--net=/run/netns/$NODE_NETNS"); shift; fi
  "${prefix[@]}" setsid "$@" >"$CLUSTER_STATE/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$CLUSTER_STATE/pids/$name.pid"
}
# wait_for WHAT SECONDS CMD...: retries CMD every 0.2 s.
wait_for() {
  local what="$1" secs="$2"; shift 2
  local deadline=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || die "timed out after ${secs}s waiting for $what (logs: $CLUSTER_STATE/logs)"
    sleep 0.2
  done
}

# ---------------------------------------------------------------- network
log "node network namespace $NODE_NETNS ($NODE_IP) joined to the host ($HOST_IP)"
ip netns add "$NODE_NETNS"
ip link add "$HOST_VETH" type veth peer name eth0 netns "$NODE_NETNS"
ip addr add "$HOST_IP/$VETH_PREFIX" dev "$HOST_VETH"
ip link set "$HOST_VETH" up
# nsenter --net, not `ip netns exec`: the latter also gives every command a mount
# namespace of its own (to remount /sys), so the kubelet's volume mounts would be
# invisible to containerd, and to down.sh.
nsx() { nsenter "--net=/run/netns/$NODE_NETNS" "$@"; }
nsx ip link set lo up
nsx ip addr add "$NODE_IP/$VETH_PREFIX" dev eth0
nsx ip link set eth0 up
# Anything not on the veth goes to the host, which does not forward it: pods reach only
# the node, the host end of the veth (API server, Redis, Postgres) and each other.
nsx ip route add default via "$HOST_IP"
nsx sysctl -qw net.ipv4.ip_forward=1
nsx sysctl -qw net.ipv4.conf.all.route_localnet=1 2>/dev/null || true
# Pod -> ClusterIP -> pod on the same bridge: the reply is bridged, not routed, and
# kube-proxy's DNAT is undone only if bridged traffic passes iptables (per netns).
nsx sysctl -qw net.bridge.bridge-nf-call-iptables=1
# The host reaches pods and Services (kube-proxy's rules) through the node.
ip route add "$POD_CIDR" via "$NODE_IP" dev "$HOST_VETH"
ip route add "$SERVICE_CIDR" via "$NODE_IP" dev "$HOST_VETH"

# ---------------------------------------------------------------- PKI
log "certificates (local CA, EC P-256)"
pki="$CLUSTER_STATE/pki"
openssl_q() { openssl "$@" 2>/dev/null; }
openssl_q ecparam -name prime256v1 -genkey -noout -out "$pki/ca.key"
openssl_q req -x509 -new -key "$pki/ca.key" -subj "/CN=subscription-operator-cluster-ca" -days 3650 -out "$pki/ca.crt"
# cert NAME SUBJECT [SANS] [USAGE]
cert() {
  local name="$1" subj="$2" sans="${3:-}" usage="${4:-clientAuth}"
  openssl_q ecparam -name prime256v1 -genkey -noout -out "$pki/$name.key"
  openssl_q req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    if [ -n "$sans" ]; then echo "subjectAltName=$sans"; fi
  } > "$pki/$name.ext"
  openssl_q x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 365 -extfile "$pki/$name.ext" -out "$pki/$name.crt"
}
cert apiserver "/CN=kube-apiserver" "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:$HOST_IP,IP:$KUBERNETES_SVC_IP,IP:127.0.0.1" serverAuth
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
cert admin "/O=system:masters/CN=kubernetes-admin"
cert controller-manager "/CN=system:kube-controller-manager"
cert scheduler "/CN=system:kube-scheduler"
cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
cert kubelet-serving "/CN=$NODE_NAME" "DNS:$NODE_NAME,IP:$NODE_IP" serverAuth
cert kube-proxy "/CN=system:kube-proxy"
cert coredns "/CN=system:coredns"
# The service-account issuer's signing key.
openssl_q genrsa -out "$pki/sa.key" 2048
openssl_q rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub"

kubeconfig() { # NAME CERT
  cat > "$CLUSTER_STATE/$1.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: $APISERVER_URL
    certificate-authority: $pki/ca.crt
users:
- name: $1
  user:
    client-certificate: $pki/$2.crt
    client-key: $pki/$2.key
contexts:
- name: local
  context: {cluster: local, user: $1}
current-context: local
KC
}
for n in admin controller-manager scheduler kubelet kube-proxy coredns; do kubeconfig "$n" "$n"; done

# ---------------------------------------------------------------- control plane
log "etcd and kube-apiserver"
start_proc etcd "$ENVTEST_BIN/etcd" --name so-etcd --data-dir "$CLUSTER_STATE/etcd" \
  --listen-client-urls "http://$HOST_IP:2379" --advertise-client-urls "http://$HOST_IP:2379" \
  --listen-peer-urls "http://$HOST_IP:2380" --initial-advertise-peer-urls "http://$HOST_IP:2380" \
  --initial-cluster "so-etcd=http://$HOST_IP:2380" --unsafe-no-fsync --log-level warn
start_proc kube-apiserver "$ENVTEST_BIN/kube-apiserver" \
  --etcd-servers "http://$HOST_IP:2379" \
  --bind-address "$HOST_IP" --advertise-address "$HOST_IP" --secure-port "$APISERVER_PORT" \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" \
  --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --enable-admission-plugins NodeRestriction,PodSecurity \
  --authorization-mode Node,RBAC \
  --allow-privileged=false --profiling=false --anonymous-auth=false
wait_for "kube-apiserver /readyz" 60 "$ENVTEST_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" get --raw /readyz
KC=("$ENVTEST_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN")

log "kube-controller-manager and kube-scheduler"
start_proc kube-controller-manager "$CLUSTER_BIN/kube-controller-manager" \
  --kubeconfig "$CLUSTER_STATE/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$CLUSTER_STATE/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$CLUSTER_STATE/controller-manager.kubeconfig" \
  --bind-address "$HOST_IP" --leader-elect=false --use-service-account-credentials \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" --allocate-node-cidrs=false \
  --node-monitor-grace-period 20s --profiling=false
start_proc kube-scheduler "$CLUSTER_BIN/kube-scheduler" \
  --kubeconfig "$CLUSTER_STATE/scheduler.kubeconfig" \
  --authentication-kubeconfig "$CLUSTER_STATE/scheduler.kubeconfig" \
  --authorization-kubeconfig "$CLUSTER_STATE/scheduler.kubeconfig" \
  --bind-address "$HOST_IP" --leader-elect=false --profiling=false

# ---------------------------------------------------------------- node
log "containerd and runc"
cat > "$CLUSTER_STATE/containerd.toml" <<TOML
version = 3
root = "$CLUSTER_STATE/containerd/root"
state = "$CLUSTER_STATE/containerd/state"
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$RUN_DIR/containerd.sock.ttrpc"
[debug]
  level = "warn"
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "$PAUSE_IMAGE"
[plugins.'io.containerd.cri.v1.runtime']
  # root here lacks CAP_SYS_RESOURCE: the sandbox's oom_score_adj of -998 would make
  # runc fail with "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  enable_selinux = false
  disable_apparmor = true
  # Pod network namespaces are mounted below the state directory, not /var/run/netns.
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "$CLUSTER_BIN/runc"
        # cgroups v1 with the cgroupfs driver, as the kubelet.
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$CLUSTER_STATE/cni/net.d"
TOML
cat > "$CLUSTER_STATE/cni/net.d/10-bridge.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "so-bridge",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$CLUSTER_STATE/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
# Pods' and containers' cgroups: one root of our own in every v1 hierarchy, removed by down.sh.
for h in /sys/fs/cgroup/*/; do
  [ -f "$h/cgroup.procs" ] || continue
  mkdir -p "$h${CGROUP_ROOT#/}"
  # A new v1 cpuset cgroup has no CPUs or memory nodes: give it the root's.
  if [ -f "$h/cpuset.cpus" ]; then
    cat "$h/cpuset.cpus" > "$h${CGROUP_ROOT#/}/cpuset.cpus"
    cat "$h/cpuset.mems" > "$h${CGROUP_ROOT#/}/cpuset.mems"
  fi
done
start_proc containerd --netns env PATH="$CLUSTER_BIN:$PATH" "$CLUSTER_BIN/containerd" --config "$CLUSTER_STATE/containerd.toml"
CTR=("$CLUSTER_BIN/ctr" --address "$CONTAINERD_SOCK" --namespace k8s.io)
wait_for containerd 30 "${CTR[@]}" version

log "importing images"
if [ -n "$PAUSE_TAR" ]; then "${CTR[@]}" images import --platform linux/amd64 "$PAUSE_TAR" >/dev/null; fi
"${CTR[@]}" images import --platform linux/amd64 "$IMAGE_TAR" >/dev/null
# (Not ctr | grep -q: grep exits at the first match and pipefail reports ctr's SIGPIPE.)
images="$("${CTR[@]}" images ls -q 2>/dev/null)"
grep -qx "$PAUSE_IMAGE" <<< "$images" || die "the pause image $PAUSE_IMAGE is not in containerd (make pause-image)"

log "kubelet"
: > "$CLUSTER_STATE/resolv.conf"   # pods get no search domains or name servers of the host
cat > "$CLUSTER_STATE/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
# The machine's cgroups are v1 (hybrid).
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: $CGROUP_ROOT
clusterDomain: cluster.local
clusterDNS: [$DNS_IP]
resolvConf: $CLUSTER_STATE/resolv.conf
failSwapOn: false
# A shared development machine: never evict for disk that others fill.
evictionHard: {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
syncFrequency: 10s
fileCheckFrequency: 0s
YAML
start_proc kubelet --netns "$CLUSTER_BIN/kubelet" --config "$CLUSTER_STATE/kubelet.yaml" \
  --kubeconfig "$CLUSTER_STATE/kubelet.kubeconfig" --root-dir "$CLUSTER_STATE/kubelet" \
  --node-ip "$NODE_IP" --hostname-override "$NODE_NAME" --v 1

log "kube-proxy (iptables) and CoreDNS"
cat > "$CLUSTER_STATE/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $CLUSTER_STATE/kube-proxy.kubeconfig}
mode: iptables
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [$NODE_IP/32]
# Leave the kernel's global conntrack settings alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
start_proc kube-proxy --netns "$CLUSTER_BIN/kube-proxy" --config "$CLUSTER_STATE/kube-proxy.yaml"

"${KC[@]}" apply -f - >/dev/null <<YAML
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:coredns"}
YAML
cat > "$CLUSTER_STATE/Corefile" <<COREFILE
.:53 {
    bind $DNS_IP
    errors
    health 127.0.0.1:8083
    ready 127.0.0.1:8183
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $CLUSTER_STATE/coredns.kubeconfig
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 30
}
COREFILE
# No "forward": names outside the cluster are not resolved (nothing leaves the machine).
start_proc coredns --netns "$CLUSTER_BIN/coredns" -conf "$CLUSTER_STATE/Corefile"

wait_for "node $NODE_NAME Ready" 90 "${KC[@]}" wait --for=condition=Ready "node/$NODE_NAME" --timeout=2s
wait_for "CoreDNS ready" 30 nsx bash -c 'exec 3<>/dev/tcp/127.0.0.1/8183 && printf "GET /ready HTTP/1.0\r\n\r\n" >&3 && grep -q "200 OK" <&3'
wait_for "default ServiceAccount" 30 "${KC[@]}" get serviceaccount default -n default

log "ready: export KUBECONFIG=$KUBECONFIG_ADMIN (kubectl: $ENVTEST_BIN/kubectl)"

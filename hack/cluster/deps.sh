#!/usr/bin/env bash
# Checks the Debian packages the local cluster needs and installs the missing ones
# with apt-get when run as root: iptables and conntrack (kube-proxy), the CNI plugins
# (bridge, host-local, portmap, loopback), libseccomp-dev and pkg-config (runc is built
# with cgo and seccomp), openssl (the cluster's certificates), iproute2.
set -euo pipefail
need=()
command -v iptables >/dev/null || need+=(iptables)
command -v conntrack >/dev/null || need+=(conntrack)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
pkg-config --exists libseccomp 2>/dev/null || need+=(libseccomp-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v openssl >/dev/null || need+=(openssl)
command -v ip >/dev/null || need+=(iproute2)
command -v gcc >/dev/null || need+=(gcc libc6-dev)
[ ${#need[@]} = 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "cluster/deps: missing packages: ${need[*]} (apt-get install ${need[*]})" >&2
  exit 1
fi
echo "cluster/deps: installing ${need[*]}" >&2
apt-get install -y --no-install-recommends "${need[@]}" >/dev/null

#!/usr/bin/env bash
# Stops the local cluster of hack/cluster/up.sh (make cluster-down) and removes
# everything it made, then checks that nothing is left: no processes, mounts, network
# namespaces, iptables rules of the host that were not there before, or cgroups.
# Safe to run when no cluster is running.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/cluster/env.sh
source "$here/env.sh"
[ "$(id -u)" = 0 ] || { echo "cluster/down: needs root" >&2; exit 1; }
log() { echo "cluster/down: $*" >&2; }

# Processes whose executable is one of the cluster's binaries (containerd shims and
# runc included) or who live in the node's network namespace.
cluster_pids() {
  local h d f pid
  {
    ip netns pids "$NODE_NETNS" 2>/dev/null || true
    # (The envtest binaries are shared with other test runs: ours are in the pid files.)
    find /proc -mindepth 2 -maxdepth 2 -name exe -lname "$CLUSTER_BIN/*" 2>/dev/null | cut -d/ -f3 || true
    # Processes of pods: every task in the cgroups below our root.
    for h in /sys/fs/cgroup/*/; do
      d="$h${CGROUP_ROOT#/}"
      if [ -d "$d" ]; then find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null || true; fi
    done
    for f in "$CLUSTER_STATE"/pids/*.pid; do
      if [ -f "$f" ]; then cat "$f"; fi
    done
  } | sort -un | while read -r pid; do
    if [ -d "/proc/$pid" ]; then echo "$pid"; fi
  done
  return 0
}

stop_pidfile() { # NAME: TERM, wait up to 10 s, KILL
  local f="$CLUSTER_STATE/pids/$1.pid" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
}

if [ -d "$CLUSTER_STATE" ]; then
  # The kubelet first, so it restarts nothing; then every container through containerd,
  # so the shims exit and runc removes the containers' cgroups and mounts.
  stop_pidfile kubelet
  CTR=("$CLUSTER_BIN/ctr" --address "$CONTAINERD_SOCK" --namespace k8s.io --timeout 10s)
  if [ -S "$CONTAINERD_SOCK" ]; then
    for t in $("${CTR[@]}" tasks ls -q 2>/dev/null); do "${CTR[@]}" tasks kill -a -s SIGKILL "$t" >/dev/null 2>&1 || true; done
    for _ in $(seq 25); do
      [ -z "$("${CTR[@]}" tasks ls -q 2>/dev/null | head -1)" ] && break
      for t in $("${CTR[@]}" tasks ls -q 2>/dev/null); do "${CTR[@]}" tasks delete -f "$t" >/dev/null 2>&1 || true; done
      sleep 0.2
    done
  fi
  for n in coredns kube-proxy containerd kube-scheduler kube-controller-manager kube-apiserver etcd; do stop_pidfile "$n"; done
fi
# Whatever is still alive (a shim, a pod process) is killed.
for _ in 1 2 3; do
  pids="$(cluster_pids | tr '\n' ' ')"
  [ -z "${pids// }" ] && break
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
  sleep 0.5
done

# Mounts below the state directory (projected volumes, overlay rootfs, pod netns), deepest first.
if [ -d "$CLUSTER_STATE" ]; then
  for _ in 1 2 3; do
    mnts="$(awk -v s="$CLUSTER_STATE" 'index($5, s) == 1 {print $5}' /proc/self/mountinfo | sort -r)"
    [ -z "$mnts" ] && break
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done <<< "$mnts"
  done
fi

# The node's network namespace: its veth (with the host's routes through it), the pods'
# bridge, and every iptables rule kube-proxy and the CNI plugins wrote go with it.
ip netns del "$NODE_NETNS" 2>/dev/null || true
ip link del "$HOST_VETH" 2>/dev/null || true

# Cgroups below our root, deepest first (a cgroup directory is removed with rmdir).
for h in /sys/fs/cgroup/*/; do
  d="$h${CGROUP_ROOT#/}"
  [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
done

# Kernel settings the kubelet changed, and the log directories it created.
if [ -f "$CLUSTER_STATE/sysctl.before" ]; then
  while IFS= read -r kv; do sysctl -qw "$kv" >/dev/null 2>&1 || log "could not restore $kv"; done < "$CLUSTER_STATE/sysctl.before"
fi
if [ -f "$CLUSTER_STATE/logdirs.created" ]; then
  while IFS= read -r d; do rm -rf "$d"; done < "$CLUSTER_STATE/logdirs.created"
fi

before="$CLUSTER_STATE/host-iptables.before"
iptables_changed=""
if [ -f "$before" ]; then
  iptables_changed="$(diff <(iptables-save | grep -v '^[#:]') "$before" || true)"
fi
rm -rf "$CLUSTER_STATE"

# Check: nothing is left behind.
fail=0
left="$(cluster_pids | tr '\n' ' ')"
[ -z "${left// }" ] || { log "processes left: $left"; fail=1; }
if grep -q "$CLUSTER_STATE" /proc/self/mountinfo; then log "mounts left:"; grep "$CLUSTER_STATE" /proc/self/mountinfo >&2; fail=1; fi
if ip netns list | grep -qw "$NODE_NETNS"; then log "network namespace $NODE_NETNS left"; fail=1; fi
if ip link show "$HOST_VETH" >/dev/null 2>&1; then log "link $HOST_VETH left"; fail=1; fi
for h in /sys/fs/cgroup/*/; do
  [ -d "$h${CGROUP_ROOT#/}" ] && { log "cgroup $h${CGROUP_ROOT#/} left"; fail=1; }
done
[ -z "$iptables_changed" ] || { log "the host's iptables rules differ from before the cluster:"; echo "$iptables_changed" >&2; fail=1; }
[ -e "$CLUSTER_STATE" ] && { log "$CLUSTER_STATE left"; fail=1; }
[ $fail = 0 ] || exit 1
log "stopped; no processes, mounts, network namespaces, iptables rules or cgroups left"

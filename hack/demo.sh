#!/usr/bin/env bash
# `make demo`: the operator end to end on this machine, no cluster needed.
#
# Builds what is missing (redis/postgres packages, the envtest control plane,
# bin/manager, bin/gateway, bin/usage-tracker), then starts
#   - a local control plane: kube-apiserver + etcd with the CRDs, redis-server and
#     PostgreSQL on free loopback ports (hack/demo/controlplane), seeded with a
#     bakery data set: 50 tenants, 30 days of history (growing, flat, declining,
#     about to breach, over the limit) and today's catalogue rows;
#   - the sample SubscriptionPolicy (gateway run locally, tenant from the path)
#     and the 50 TenantUsage objects;
#   - bin/manager, bin/gateway and a stand-in upstream application as local processes;
# triggers a snapshot and prints `kubectl get subpol`, `kubectl get tu`, one
# forecast API response, one 402 upgrade offer and one proxied call.
#
# It then runs until Ctrl-C and cleans up after itself.
#   DEMO_EXIT=1 (or --no-wait)  exit after printing (CI)
#   DEMO_DIR=<dir>              keep kubeconfig, env and logs in <dir> (default: a temp dir, removed)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

NO_WAIT="${DEMO_EXIT:-0}"
for arg in "$@"; do
  case "$arg" in
    --no-wait) NO_WAIT=1 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument $arg (use --no-wait)" >&2; exit 2 ;;
  esac
done

if [ -t 1 ]; then B=$'\e[1m'; G=$'\e[32m'; Y=$'\e[33m'; R=$'\e[31m'; N=$'\e[0m'; else B= G= Y= R= N=; fi
START=$(date +%s)
step() { printf '\n%s==> %s%s %s(+%ss)%s\n' "$B" "$1" "$N" "$Y" "$(( $(date +%s) - START ))" "$N"; }
die() { printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }

# --- clean-up: stop exactly the processes this script started ----------------
PIDS=()
KEEP_DIR=1
if [ -z "${DEMO_DIR:-}" ]; then DEMO_DIR="$(mktemp -d "${TMPDIR:-/tmp}/subscription-demo.XXXXXX")"; KEEP_DIR=0; fi
mkdir -p "$DEMO_DIR"
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ ${#PIDS[@]} -gt 0 ]; then
    echo; echo "demo: stopping (${#PIDS[@]} processes)"
    # Reverse order: gateway, manager, upstream, then the control plane.
    for (( i=${#PIDS[@]}-1; i>=0; i-- )); do kill -TERM "${PIDS[$i]}" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    done
  fi
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 130 ] && [ "$rc" -ne 143 ] && [ -d "$DEMO_DIR" ]; then
    for log in "$DEMO_DIR"/*.log; do
      [ -f "$log" ] || continue
      echo "---- last lines of $log"; tail -n 15 "$log"
    done
  fi
  if [ "$KEEP_DIR" = 0 ]; then rm -rf "$DEMO_DIR"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_bg() { # name, command...: runs in the background, logs to $DEMO_DIR/<name>.log
  local name="$1"; shift
  "$@" >"$DEMO_DIR/$name.log" 2>&1 &
  PIDS+=("$!")
}

wait_http() { # url, what, pid: wait up to 60 s for a 2xx
  local url="$1" what="$2" pid="$3"
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || die "$what exited; see its log above"
    sleep 0.2
  done
  die "$what did not answer $url within 60 s"
}

# --- 1. build what is missing -------------------------------------------------
step "Checking redis-server, PostgreSQL, curl and jq"
hack/install-services.sh curl jq

step "Envtest control plane binaries (built from source once, about 5 min on 2 idle cores; cached in ~/.cache)"
hack/setup-envtest.sh

step "Building bin/manager, bin/gateway, bin/usage-tracker and the demo helpers"
make --no-print-directory build
CGO_ENABLED=0 go build -o bin/demo-controlplane ./hack/demo/controlplane
CGO_ENABLED=0 go build -o bin/demo-upstream ./hack/demo/upstream

# --- 2. control plane, Redis, Postgres, data set -------------------------------
step "Starting kube-apiserver + etcd, redis-server and PostgreSQL on loopback; seeding 50 tenants x 30 days"
start_bg controlplane bin/demo-controlplane --dir "$DEMO_DIR"
CP_PID="${PIDS[-1]}"
for _ in $(seq 1 900); do
  [ -f "$DEMO_DIR/ready" ] && break
  kill -0 "$CP_PID" 2>/dev/null || die "the control plane did not start"
  sleep 0.2
done
[ -f "$DEMO_DIR/ready" ] || die "the control plane was not ready within 180 s"
sed 's/^/  /' "$DEMO_DIR/controlplane.log"
# shellcheck disable=SC1091
source "$DEMO_DIR/env"
export KUBECONFIG
kubectl() { "$KUBECTL" "$@"; }

step "Installing the sample policy (gateway local, tenant from the path) and 50 TenantUsages"
# The samples as they are, except that the gateway runs here as a local process
# (no pods run on this control plane) and reads the tenant from the path.
kubectl apply -f config/samples/namespace.yaml
kubectl patch --local -o yaml --type json -f config/samples/subscriptions_v1alpha1_subscriptionpolicy.yaml \
  --patch-file hack/demo/gateway-patch.json | kubectl apply -f -
kubectl apply -f config/samples/subscriptions_v1alpha1_tenantusage.yaml
kubectl apply -f "$DEMO_DIR/tenants.yaml" | tail -n 3
echo "  ... $(kubectl get tu -n bakery-ia --no-headers | wc -l) TenantUsage objects"

# --- 3. the operator, the gateway and an upstream -----------------------------
step "Starting bin/manager, bin/gateway and the upstream application"
FORECAST_URL="http://127.0.0.1:$FORECAST_API_PORT"
GATEWAY_URL="http://127.0.0.1:$GATEWAY_PORT"
start_bg upstream bin/demo-upstream --listen "127.0.0.1:$UPSTREAM_PORT"
UP_PID="${PIDS[-1]}"
start_bg manager bin/manager --leader-elect=false --forecast-api-auth=false \
  --metrics-bind-address "127.0.0.1:$MANAGER_METRICS_PORT" \
  --health-probe-bind-address "127.0.0.1:$MANAGER_PROBE_PORT" \
  --forecast-api-bind-address "127.0.0.1:$FORECAST_API_PORT" \
  --redis-url "$REDIS_URL" --database-url "$DATABASE_URL"
MGR_PID="${PIDS[-1]}"
start_bg gateway bin/gateway --kubeconfig "$KUBECONFIG" --namespace bakery-ia --policy default \
  --listen "127.0.0.1:$GATEWAY_PORT" --forward-auth-listen "127.0.0.1:$GATEWAY_FORWARD_AUTH_PORT" \
  --metrics-listen "127.0.0.1:$GATEWAY_METRICS_PORT" \
  --redis-url "$REDIS_URL" --upstream "http://127.0.0.1:$UPSTREAM_PORT"
GW_PID="${PIDS[-1]}"
wait_http "http://127.0.0.1:$UPSTREAM_PORT/" upstream "$UP_PID"
wait_http "http://127.0.0.1:$MANAGER_PROBE_PORT/readyz" manager "$MGR_PID"
wait_http "http://127.0.0.1:$GATEWAY_METRICS_PORT/readyz" gateway "$GW_PID"
kubectl wait -n bakery-ia --for=condition=Ready subpol/default --timeout=60s

# --- 4. snapshot ---------------------------------------------------------------
step "Triggering today's snapshot (POST /api/v1/usage-forecast/track-usage)"
if [ "$(curl -s -o /dev/null -w '%{http_code}' "$FORECAST_URL/api/v1/plans" || true)" != 000 ]; then
  curl -fsS -X POST -H 'Content-Type: application/json' \
    -d '{"policy":"default","namespace":"bakery-ia"}' \
    "$FORECAST_URL/api/v1/usage-forecast/track-usage" | jq -c .
else
  echo "  ${Y}the forecast API does not answer on $FORECAST_URL; running bin/usage-tracker instead${N}"
  rc=0; bin/usage-tracker --namespace bakery-ia --policy default --redis-url "$REDIS_URL" --database-url "$DATABASE_URL" | tail -n 9 || rc=$?
  [ "$rc" -le 1 ] || die "usage-tracker failed with exit code $rc"
fi
echo "  waiting for the forecasts of $TODAY"
for _ in $(seq 1 300); do
  n="$(kubectl get tu -n bakery-ia -o jsonpath='{range .items[*]}{.status.lastSnapshotDate}{"\n"}{end}' | grep -c "^$TODAY$" || true)"
  [ "$n" -ge 50 ] && break
  sleep 0.2
done
echo "  $n of 50 tenants forecast for $TODAY"

# --- 5. show -------------------------------------------------------------------
step "kubectl get subpol -n bakery-ia"
kubectl get subpol -n bakery-ia -o wide
step "kubectl get tu -n bakery-ia --sort-by=.status.summary.daysUntilBreach"
kubectl get tu -n bakery-ia --sort-by=.status.summary.daysUntilBreach

step "Forecast API: GET /api/v1/usage-forecast?tenant_id=$STARTER_TENANT (products, trend shortened)"
curl -fsS "$FORECAST_URL/api/v1/usage-forecast?tenant_id=$STARTER_TENANT" |
  jq '.metrics |= map(select(.metric == "products") | .trend_data |= (.[-3:]))'

step "Gateway: a starter tenant calls a professional feature -> 402 with the upgrade offer"
echo "  GET $GATEWAY_URL/api/v1/tenants/$STARTER_TENANT/forecasting/analytics/advanced  (Accept-Language: es)"
code="$(curl -sS -o "$DEMO_DIR/402.json" -w '%{http_code}' -H 'Accept-Language: es' \
  "$GATEWAY_URL/api/v1/tenants/$STARTER_TENANT/forecasting/analytics/advanced")"
echo "  HTTP $code"; jq . "$DEMO_DIR/402.json"

step "Gateway: a professional tenant calls the same feature -> proxied to the upstream"
echo "  GET $GATEWAY_URL/api/v1/tenants/$PROFESSIONAL_TENANT/forecasting/analytics/advanced"
code="$(curl -sS -o "$DEMO_DIR/proxied.json" -w '%{http_code}' \
  "$GATEWAY_URL/api/v1/tenants/$PROFESSIONAL_TENANT/forecasting/analytics/advanced")"
echo "  HTTP $code"; jq -c . "$DEMO_DIR/proxied.json"

step "Usage page: the tenant's own page from the gateway, and the operators' list from the forecast API"
PAGE_URL="$GATEWAY_URL/_subscription/usage/$STARTER_TENANT"
LIST_URL="$FORECAST_URL/usage?namespace=bakery-ia"
for u in "$PAGE_URL" "$LIST_URL"; do
  out="$(curl -sS -o /dev/null -w '%{http_code} %{size_download}' -H 'Accept-Language: es' "$u")"
  echo "  GET $u  ->  HTTP ${out% *}, ${out#* } bytes of HTML (open it in a browser)"
done

ELAPSED=$(( $(date +%s) - START ))
cat <<EOF

${G}${B}The demo is running${N} (ready in ${ELAPSED}s).
  export KUBECONFIG=$KUBECONFIG
  alias kubectl=$KUBECTL
  kubectl get tu -n bakery-ia                              capacity dashboard
  forecast API   $FORECAST_URL/api/v1/usage-forecast?tenant_id=<id>   (auth off)
  track usage    curl -X POST -d '{"policy":"default","namespace":"bakery-ia"}' $FORECAST_URL/api/v1/usage-forecast/track-usage
  gateway        $GATEWAY_URL/api/v1/tenants/<id>/...     (forward-auth :$GATEWAY_FORWARD_AUTH_PORT)
  usage page     $PAGE_URL   (the tenant's own; any <id>)
  all tenants    $LIST_URL   (operators; &status=critical, &tier=starter)
  metrics        manager http://127.0.0.1:$MANAGER_METRICS_PORT/metrics   gateway http://127.0.0.1:$GATEWAY_METRICS_PORT/metrics
  Redis          $REDIS_URL
  Postgres       $DATABASE_URL
  logs           $DEMO_DIR/*.log
EOF
if [ "$NO_WAIT" = 1 ]; then exit 0; fi
echo "Press Ctrl-C to stop and clean up."
while :; do
  for pid in "$CP_PID" "$MGR_PID" "$GW_PID"; do
    kill -0 "$pid" 2>/dev/null || die "a demo process (pid $pid) exited; see the logs"
  done
  sleep 2
done

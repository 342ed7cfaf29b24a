#!/usr/bin/env bash
# Gateway benchmarks on loopback, side by side with nginx:
#   1. proxied throughput and latency: gateway vs nginx proxy_pass (one worker,
#      keepalive upstream) in front of the same upstream (a second nginx, one
#      worker, answering a fixed 200), same wrk load, alternating rounds;
#   2. the 402 path (a starter tenant calling the analytics feature).
# The gateway runs with --policy-file (no cluster), real HS256 tokens and a real
# Redis counting every proxied call. Every load run is bounded by DURATION.
#
# Needs nginx, wrk, redis-server, openssl, go:  apt-get install -y nginx wrk redis-server
# Usage: bench/gateway.sh            (env: DURATION=10s CONNS=64 ROUNDS=3 GOMAXPROCS=)
set -euo pipefail

DURATION="${DURATION:-10s}"
CONNS="${CONNS:-64}"
ROUNDS="${ROUNDS:-3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
for bin in nginx wrk redis-server openssl go python3; do
  command -v "$bin" >/dev/null || { echo "gateway.sh: $bin not found (apt-get install -y nginx wrk redis-server openssl)" >&2; exit 1; }
done

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for f in "$work"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
UP=$(free_port); NG=$(free_port); GW=$(free_port); GM=$(free_port); RP=$(free_port)

echo "building the gateway..." >&2
(cd "$root" && CGO_ENABLED=0 go build -trimpath -o "$work/gateway" ./cmd/gateway)

# The upstream: one nginx worker answering 200 with a small body.
cat > "$work/upstream.conf" <<CONF
worker_processes 1;
pid $work/upstream.pid;
error_log $work/upstream.err warn;
events { worker_connections 8192; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$UP backlog=4096;
    keepalive_requests 10000000;
    location / { default_type text/plain; return 200 "upstream ok\n"; }
  }
}
CONF
# The reference: nginx proxy_pass with a keepalive upstream, one worker.
cat > "$work/proxy.conf" <<CONF
worker_processes 1;
pid $work/proxy.pid;
error_log $work/proxy.err warn;
events { worker_connections 8192; }
http {
  access_log off;
  upstream app { server 127.0.0.1:$UP; keepalive 256; keepalive_requests 10000000; }
  server {
    listen 127.0.0.1:$NG backlog=4096;
    keepalive_requests 10000000;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
    }
  }
}
CONF
nginx -p "$work" -c "$work/upstream.conf"
nginx -p "$work" -c "$work/proxy.conf"
redis-server --bind 127.0.0.1 --port "$RP" --save "" --appendonly no >"$work/redis.log" 2>&1 &
pids+=($!)

key="bench-hs256-key-0123456789abcdef0123456789"
mkdir -p "$work/secrets/gateway-jwt"
printf %s "$key" > "$work/secrets/gateway-jwt/hs256-key"
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
token() {
  local h p s
  h=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
  p=$(printf '{"tenant_id":"%s","exp":%d}' "$1" "$(( $(date +%s) + 86400 ))" | b64url)
  s=$(printf %s "$h.$p" | openssl dgst -sha256 -hmac "$key" -binary | b64url)
  echo "$h.$p.$s"
}
ENT=$(token horno-central)
STARTER=$(token panaderia-san-pablo)

"$work/gateway" --policy-file "$root/bench/gateway/policy.yaml" --secrets-dir "$work/secrets" \
  --listen "127.0.0.1:$GW" --forward-auth-listen "" --metrics-listen "127.0.0.1:$GM" \
  --upstream "http://127.0.0.1:$UP" --redis-url "redis://127.0.0.1:$RP/0" --log-level warn \
  2>"$work/gateway.log" &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$GM/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$GM/readyz" >/dev/null || { cat "$work/gateway.log" >&2; exit 1; }

proxied="/api/v1/tenants/horno-central/orders?page=1"
gated="/api/v1/tenants/panaderia-san-pablo/forecasting/analytics/advanced"
check() { # url expected-status
  local got; got=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $3" "$1")
  [ "$got" = "$2" ] || { echo "gateway.sh: $1 answered $got, want $2" >&2; exit 1; }
}
check "http://127.0.0.1:$NG$proxied" 200 "$ENT"
check "http://127.0.0.1:$GW$proxied" 200 "$ENT"
check "http://127.0.0.1:$GW$gated" 402 "$STARTER"

# run NAME URL TOKEN -> "rps p50 p99" (ms)
run() {
  local out rps p50 p99
  out=$(wrk -t1 -c"$CONNS" -d"$DURATION" --latency -H "Authorization: Bearer $3" "$2")
  echo "$out" > "$work/wrk-$1.txt"
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  echo "$rps $(to_ms "$p50") $(to_ms "$p99")"
}
to_ms() { # wrk prints 1.23ms, 456.00us or 1.20s
  python3 -c 'import sys,re; v=sys.argv[1]; m=re.match(r"([0-9.]+)(us|ms|s)",v); f={"us":0.001,"ms":1,"s":1000}[m.group(2)]; print("%.3f"%(float(m.group(1))*f))' "$1"
}

echo "warming up..." >&2
wrk -t1 -c"$CONNS" -d2s -H "Authorization: Bearer $ENT" "http://127.0.0.1:$NG$proxied" >/dev/null
wrk -t1 -c"$CONNS" -d2s -H "Authorization: Bearer $ENT" "http://127.0.0.1:$GW$proxied" >/dev/null

read -r d_rps d_p50 d_p99 < <(run direct "http://127.0.0.1:$UP$proxied" "$ENT")
printf '| run | proxy | req/s | p50 ms | p99 ms | p99 added vs direct ms |\n|---|---|---:|---:|---:|---:|\n'
printf '| - | direct (no proxy) | %s | %s | %s | - |\n' "$d_rps" "$d_p50" "$d_p99"
ng_all=(); gw_all=(); ngp99=(); gwp99=()
for r in $(seq "$ROUNDS"); do
  read -r n_rps n_p50 n_p99 < <(run "nginx-$r" "http://127.0.0.1:$NG$proxied" "$ENT")
  printf '| %d | nginx proxy_pass | %s | %s | %s | %.3f |\n' "$r" "$n_rps" "$n_p50" "$n_p99" "$(python3 -c "print($n_p99-$d_p99)")"
  read -r g_rps g_p50 g_p99 < <(run "gateway-$r" "http://127.0.0.1:$GW$proxied" "$ENT")
  printf '| %d | gateway | %s | %s | %s | %.3f |\n' "$r" "$g_rps" "$g_p50" "$g_p99" "$(python3 -c "print($g_p99-$d_p99)")"
  ng_all+=("$n_rps"); gw_all+=("$g_rps"); ngp99+=("$n_p99"); gwp99+=("$g_p99")
done
read -r u_rps u_p50 u_p99 < <(run "402" "http://127.0.0.1:$GW$gated" "$STARTER")
printf '| - | gateway 402 path | %s | %s | %s | - |\n' "$u_rps" "$u_p50" "$u_p99"
python3 - "${ng_all[*]}" "${gw_all[*]}" "${ngp99[*]}" "${gwp99[*]}" <<'PY'
import statistics, sys
ng, gw, np, gp = ([float(x) for x in a.split()] for a in sys.argv[1:5])
print()
print(f"throughput ratio gateway/nginx (median of {len(ng)} rounds): {statistics.median(gw)/statistics.median(ng):.2f}x")
print(f"p99 median: nginx {statistics.median(np):.3f} ms, gateway {statistics.median(gp):.3f} ms")
PY
grep -q 'Non-2xx' "$work/wrk-402.txt" && echo "402 path: every answer was the 402 body ($(awk '/Non-2xx/ {print $5}' "$work/wrk-402.txt") non-2xx)"
echo "gateway_usage_counter_dropped_total: $(curl -s "http://127.0.0.1:$GM/metrics" | awk '$1=="gateway_usage_counter_dropped_total" {print $2}')"
echo "calls counted in Redis for horno-central today: $(redis-cli -p "$RP" --raw keys 'usage_daily:horno-central:*' | head -1 | xargs -r redis-cli -p "$RP" get)"

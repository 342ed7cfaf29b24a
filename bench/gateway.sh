#!/usr/bin/env bash
# Gateway benchmarks on loopback, side by side with nginx, HAProxy and Caddy:
#   1. proxied throughput and latency: gateway vs nginx proxy_pass (one worker,
#      keepalive upstream), HAProxy (Debian, one thread, http-reuse always),
#      Caddy reverse_proxy (the latest release from the Go module proxy, built
#      into a cache outside the checkout, and Debian's caddy package), all in
#      front of the same upstream (a second nginx, one worker, answering a fixed
#      200), same wrk load, alternating rounds; with each proxy's CPU time per
#      request, read from /proc;
#   2. the 402 path (a starter tenant calling the analytics feature);
#   3. the ceiling: what a Go HTTP server can do at all on this machine
#      (bench/gateway/ceiling: net/http answering a fixed 200, the leanest
#      net/http proxy handler, a plain httputil.ReverseProxy, a fasthttp proxy),
#      same upstream, same load;
#   4. latency at a fixed rate (RATE, default 5000/s; vegeta, open loop), where
#      no proxy is saturated: p99 of direct, nginx and the gateway.
# The gateway runs with --policy-file (no cluster), real HS256 tokens and a real
# Redis counting every proxied call. Every load run is bounded by DURATION.
#
# Needs nginx, wrk, redis-server, openssl, go, haproxy, caddy:
#   apt-get install -y nginx wrk redis-server haproxy caddy
# (make bench-gateway installs them when root; vegeta and the latest Caddy come
# from the Go module proxy, into $CACHE, default ~/.cache/subscription-operator/bench-bin).
# Usage: bench/gateway.sh   (env: DURATION=10s CONNS=64 ROUNDS=3 RATE=5000 GOMAXPROCS=)
set -euo pipefail

DURATION="${DURATION:-10s}"
CONNS="${CONNS:-64}"
ROUNDS="${ROUNDS:-3}"
RATE="${RATE:-5000}"
VEGETA_VERSION=v12.13.0
CACHE="${CACHE:-$HOME/.cache/subscription-operator/bench-bin}"
root="$(cd "$(dirname "$0")/.." && pwd)"
for bin in nginx wrk redis-server openssl go python3 haproxy caddy; do
  command -v "$bin" >/dev/null || { echo "gateway.sh: $bin not found (apt-get install -y nginx wrk redis-server openssl haproxy caddy)" >&2; exit 1; }
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
HP=$(free_port); CL=$(free_port); CD=$(free_port)

echo "building the gateway, the ceiling servers and vegeta..." >&2
(cd "$root" && CGO_ENABLED=0 go build -trimpath -o "$work/gateway" ./cmd/gateway)
(cd "$root/bench/gateway/ceiling" && CGO_ENABLED=0 go build -trimpath -o "$work/ceiling" .)
vegeta="$root/bin/vegeta-$VEGETA_VERSION"
if [ ! -x "$vegeta" ]; then
  mkdir -p "$root/bin"
  GOBIN="$work" go install "github.com/tsenart/vegeta/v12@$VEGETA_VERSION"
  mv "$work/vegeta" "$vegeta"
fi

# The latest Caddy, built once into $CACHE (outside the checkout).
caddy_latest="$CACHE/caddy"
if [ ! -x "$caddy_latest" ]; then
  mkdir -p "$CACHE"
  GOBIN="$CACHE" go install github.com/caddyserver/caddy/v2/cmd/caddy@latest
fi

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
# HAProxy: one thread like nginx's one worker, keep-alive to the upstream.
cat > "$work/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 8192
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend f
  bind 127.0.0.1:$HP
  default_backend b
backend b
  server up 127.0.0.1:$UP
CONF
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
HPP=$!; pids+=($HPP)
# Caddy: reverse_proxy with as many idle upstream connections as the gateway.
caddyfile() { # PORT
  cat <<CONF
{
  admin off
  auto_https off
}
:$1 {
  bind 127.0.0.1
  reverse_proxy 127.0.0.1:$UP {
    transport http {
      keepalive_idle_conns 1024
      keepalive_idle_conns_per_host 1024
    }
  }
}
CONF
}
caddyfile "$CL" > "$work/Caddyfile.latest"
caddyfile "$CD" > "$work/Caddyfile.debian"
XDG_DATA_HOME="$work" XDG_CONFIG_HOME="$work" "$caddy_latest" run --adapter caddyfile --config "$work/Caddyfile.latest" >"$work/caddy-latest.log" 2>&1 &
CLP=$!; pids+=($CLP)
XDG_DATA_HOME="$work" XDG_CONFIG_HOME="$work" caddy run --adapter caddyfile --config "$work/Caddyfile.debian" >"$work/caddy-debian.log" 2>&1 &
CDP=$!; pids+=($CDP)
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

# cpu_ticks PID: user+system CPU ticks the process has used so far.
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)

# run NAME URL TOKEN [PID] -> "rps p50 p99 cpu-us-per-request" (ms; the CPU
# column is the proxy process PID's user+system time divided by requests, "-"
# without PID)
run() {
  local out rps p50 p99 t0 t1 reqs cpu=-
  [ -n "${4:-}" ] && t0=$(cpu_ticks "$4")
  out=$(wrk -t1 -c"$CONNS" -d"$DURATION" --latency -H "Authorization: Bearer $3" "$2")
  echo "$out" > "$work/wrk-$1.txt"
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  if [ -n "${4:-}" ]; then
    t1=$(cpu_ticks "$4")
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    cpu=$(python3 -c "print('%.1f' % (($t1-$t0)/$TICK*1e6/$reqs))")
  fi
  echo "$rps $(to_ms "$p50") $(to_ms "$p99") $cpu"
}
to_ms() { # wrk prints 1.23ms, 456.00us or 1.20s
  python3 -c 'import sys,re; v=sys.argv[1]; m=re.match(r"([0-9.]+)(us|ms|s)",v); f={"us":0.001,"ms":1,"s":1000}[m.group(2)]; print("%.3f"%(float(m.group(1))*f))' "$1"
}

echo "warming up..." >&2
wrk -t1 -c"$CONNS" -d2s -H "Authorization: Bearer $ENT" "http://127.0.0.1:$NG$proxied" >/dev/null
wrk -t1 -c"$CONNS" -d2s -H "Authorization: Bearer $ENT" "http://127.0.0.1:$GW$proxied" >/dev/null

NGW=$(pgrep -P "$(cat "$work/proxy.pid")" | head -1) # the proxy's worker process
GWP=${pids[-1]}
caddy_v=$(go version -m "$caddy_latest" | awk '$1=="mod" {print $3}'); caddy_d=$(caddy version | awk '{print $1}')
haproxy_v=$(haproxy -v | awk 'NR==1 {print $3}')
for port in $HP $CL $CD; do
  for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$port$proxied" && break; sleep 0.1; done
  check "http://127.0.0.1:$port$proxied" 200 "$ENT"
done
read -r d_rps d_p50 d_p99 _ < <(run direct "http://127.0.0.1:$UP$proxied" "$ENT")
printf '| run | proxy | req/s | p50 ms | p99 ms | p99 added vs direct ms | proxy CPU µs/request |\n|---|---|---:|---:|---:|---:|---:|\n'
printf '| - | direct (no proxy) | %s | %s | %s | - | - |\n' "$d_rps" "$d_p50" "$d_p99"
ng_all=(); gw_all=(); ngp99=(); gwp99=(); others=(); gw_cpu_all=()
for r in $(seq "$ROUNDS"); do
  read -r n_rps n_p50 n_p99 n_cpu < <(run "nginx-$r" "http://127.0.0.1:$NG$proxied" "$ENT" "$NGW")
  printf '| %d | nginx proxy_pass | %s | %s | %s | %.3f | %s |\n' "$r" "$n_rps" "$n_p50" "$n_p99" "$(python3 -c "print($n_p99-$d_p99)")" "$n_cpu"
  read -r g_rps g_p50 g_p99 g_cpu < <(run "gateway-$r" "http://127.0.0.1:$GW$proxied" "$ENT" "$GWP")
  printf '| %d | gateway | %s | %s | %s | %.3f | %s |\n' "$r" "$g_rps" "$g_p50" "$g_p99" "$(python3 -c "print($g_p99-$d_p99)")" "$g_cpu"
  ng_all+=("$n_rps"); gw_all+=("$g_rps"); ngp99+=("$n_p99"); gwp99+=("$g_p99")
  for o in "haproxy $haproxy_v:$HP:$HPP" "caddy $caddy_v (Go module proxy):$CL:$CLP" "caddy $caddy_d (Debian):$CD:$CDP"; do
    IFS=: read -r oname oport opid <<<"$o"
    read -r o_rps o_p50 o_p99 o_cpu < <(run "other-$oport-$r" "http://127.0.0.1:$oport$proxied" "$ENT" "$opid")
    printf '| %d | %s | %s | %s | %s | %.3f | %s |\n' "$r" "$oname" "$o_rps" "$o_p50" "$o_p99" "$(python3 -c "print($o_p99-$d_p99)")" "$o_cpu"
    others+=("$oname|$o_rps|$o_cpu")
  done
  gw_cpu_all+=("$g_cpu")
done
read -r u_rps u_p50 u_p99 u_cpu < <(run "402" "http://127.0.0.1:$GW$gated" "$STARTER" "$GWP")
printf '| - | gateway 402 path | %s | %s | %s | - | %s |\n' "$u_rps" "$u_p50" "$u_p99" "$u_cpu"

# 3. The ceiling of a Go HTTP stack on this machine, same upstream and load.
printf '\n| ceiling (bench/gateway/ceiling) | req/s | p50 ms | p99 ms | CPU µs/request | vs nginx proxy_pass |\n|---|---:|---:|---:|---:|---:|\n'
ng_med=$(python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "${ng_all[@]}")
for mode in fixed nethttp httputil fasthttp; do
  CP=$(free_port)
  "$work/ceiling" -mode "$mode" -listen "127.0.0.1:$CP" -upstream "127.0.0.1:$UP" 2>"$work/ceiling-$mode.log" &
  cpid=$!
  for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$CP$proxied" && break; sleep 0.1; done
  read -r c_rps c_p50 c_p99 c_cpu < <(run "ceiling-$mode" "http://127.0.0.1:$CP$proxied" "$ENT" "$cpid")
  kill "$cpid"; wait "$cpid" 2>/dev/null || true
  case $mode in
    fixed) what="net/http, fixed 200, no upstream" ;;
    nethttp) what="net/http, leanest proxy handler" ;;
    httputil) what="plain httputil.ReverseProxy, default transport" ;;
    fasthttp) what="fasthttp server + HostClient proxy" ;;
  esac
  printf '| %s | %s | %s | %s | %s | %.2fx |\n' "$what" "$c_rps" "$c_p50" "$c_p99" "$c_cpu" "$(python3 -c "print($c_rps/$ng_med)")"
done

# 4. Latency at a fixed rate, open loop: no proxy is saturated, so the p99 is
# the proxy's own added latency rather than queueing behind a full CPU.
vp99() { # URL TOKEN -> p99 ms, and a failure when any request failed
  local rep
  rep=$(printf 'GET %s\nAuthorization: Bearer %s\n' "$1" "$2" |
    "$vegeta" attack -rate="$RATE" -duration="$DURATION" -max-connections="$CONNS" -timeout=5s |
    "$vegeta" report -type=json)
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); ok=r["success"]==1; print("%.3f %.3f %s" % (r["latencies"]["50th"]/1e6, r["latencies"]["99th"]/1e6, "ok" if ok else "FAILED(%s)" % r["status_codes"]))' "$rep"
}
printf '\n| at %s req/s (vegeta, open loop) | p50 ms | p99 ms | p99 added vs direct ms | all 200 |\n|---|---:|---:|---:|---|\n' "$RATE"
read -r fd50 fd99 fdok < <(vp99 "http://127.0.0.1:$UP$proxied" "$ENT")
printf '| direct | %s | %s | - | %s |\n' "$fd50" "$fd99" "$fdok"
read -r fn50 fn99 fnok < <(vp99 "http://127.0.0.1:$NG$proxied" "$ENT")
printf '| nginx proxy_pass | %s | %s | %.3f | %s |\n' "$fn50" "$fn99" "$(python3 -c "print($fn99-$fd99)")" "$fnok"
read -r fg50 fg99 fgok < <(vp99 "http://127.0.0.1:$GW$proxied" "$ENT")
printf '| gateway | %s | %s | %.3f | %s |\n' "$fg50" "$fg99" "$(python3 -c "print($fg99-$fd99)")" "$fgok"
python3 - "${ng_all[*]}" "${gw_all[*]}" "${ngp99[*]}" "${gwp99[*]}" <<'PY'
import statistics, sys
ng, gw, np, gp = ([float(x) for x in a.split()] for a in sys.argv[1:5])
print()
print(f"throughput ratio gateway/nginx (median of {len(ng)} rounds): {statistics.median(gw)/statistics.median(ng):.2f}x")
print(f"p99 median: nginx {statistics.median(np):.3f} ms, gateway {statistics.median(gp):.3f} ms")
PY
python3 - "${gw_all[*]}" "${gw_cpu_all[*]}" "${others[@]}" <<'PY'
import statistics, sys
gw = statistics.median(float(x) for x in sys.argv[1].split())
gwc = statistics.median(float(x) for x in sys.argv[2].split())
by = {}
for o in sys.argv[3:]:
    name, rps, cpu = o.split("|")
    by.setdefault(name, []).append((float(rps), float(cpu)))
for name, v in by.items():
    rps = statistics.median(x[0] for x in v); cpu = statistics.median(x[1] for x in v)
    print(f"gateway vs {name}: throughput {gw/rps:.2f}x, CPU per request {gwc:.1f} vs {cpu:.1f} µs")
PY
grep -q 'Non-2xx' "$work/wrk-402.txt" && echo "402 path: every answer was the 402 body ($(awk '/Non-2xx/ {print $5}' "$work/wrk-402.txt") non-2xx)"
echo "gateway_usage_counter_dropped_total: $(curl -s "http://127.0.0.1:$GM/metrics" | awk '$1=="gateway_usage_counter_dropped_total" {print $2}')"
echo "calls counted in Redis for horno-central today: $(redis-cli -p "$RP" --raw keys 'usage_daily:horno-central:*' | head -1 | xargs -r redis-cli -p "$RP" get)"

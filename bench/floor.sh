#!/usr/bin/env bash
# The kernel's floor under a full handshake (issue 16, item 2): what one loopback TCP connection
# with one tiny plain-HTTP request costs a server that does almost nothing else. nginx (one
# worker on core 0, access log off, `return 200`) against wrk with `Connection: close` (core 1);
# prints nginx's CPU time per connection. The crypto bound of a handshake (cargo bench -p mtls
# --bench handshake_crypto) plus this floor is what a TLS server on this machine cannot go under.
#
#   bench/floor.sh            # needs nginx and wrk (installed if missing, as root)
set -euo pipefail
SECONDS_MEASURED=${SECONDS_MEASURED:-6}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
install_pkg nginx nginx-light nginx
install_pkg wrk wrk
TMP=$(mktemp -d /tmp/gw-floor.XXXXXX)
read -r PORT < <(free_ports 1)
cat >"$TMP/nginx.conf" <<NGINX
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server { listen 127.0.0.1:$PORT; location / { return 200 "ok\n"; } }
}
NGINX
NGINX_BIN=$(command -v nginx)
taskset -c 0 "$NGINX_BIN" -c "$TMP/nginx.conf" -p "$TMP"
trap 'kill "$(cat "$TMP/nginx.pid")" 2>/dev/null || true' EXIT
sleep 0.5
worker=$(pgrep -P "$(cat "$TMP/nginx.pid")")
t0=$(cpu_ticks "$worker")
out=$(taskset -c 1 wrk -t1 -c16 -d"${SECONDS_MEASURED}s" -H "Connection: close" "http://127.0.0.1:$PORT/")
t1=$(cpu_ticks "$worker")
n=$(awk '/requests in/ {print $1}' <<<"$out")
hz=$(getconf CLK_TCK)
echo "$out" | grep -E "requests in|Requests/sec|Socket errors" || true
awk -v t="$((t1 - t0))" -v n="$n" -v hz="$hz" \
    'BEGIN { printf "nginx CPU per plain TCP connection (accept, one request, close): %.1f us\n", t * 1e6 / hz / n }'

#!/usr/bin/env bash
# Soak test (issue 14): the release gateway under mixed traffic (proxy, alert SOAP, SAS search,
# bad certificates, slow clients) at half the measured peak for DURATION, with /metrics never
# scraped (SCRAPE=0) or scraped every SCRAPE seconds; reports unexpected errors and RSS drift
# and exits 0 on PASS, 1 on FAIL, 2 when the run was too short to judge the drift (see the
# warm-up in bench/README.md, "Soak").
#
#   DURATION=30m SCRAPE=0 bench/soak.sh
#   DURATION=30m SCRAPE=15 bench/soak.sh
#
# Everything listens on free loopback ports chosen at start (never the demo's 8443, 9901,
# 18080, 18443), with a configuration of its own written to a temp dir, kept with the logs.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PKI="$ROOT/certs-test/pki"
TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench}
DURATION=${DURATION:-30m}
SCRAPE=${SCRAPE:-0}
PEAK=${PEAK:-20s}
WORKERS=${WORKERS:-16}
RATE_FRACTION=${RATE_FRACTION:-0.5}
SLOW_CLIENTS=${SLOW_CLIENTS:-4}
MIX=${MIX:-proxy=50,alert=25,sas=20,badcert=5}
WARMUP=${WARMUP:-}          # default: 10 % of DURATION, at most 2m
MAX_DRIFT=${MAX_DRIFT:-5}
LOG_LEVEL=${LOG_LEVEL:-info} # info: one access line per request, as in production
HEADER_TIMEOUT=5s
GW_CPU=0 LOAD_CPU=1

TMP=$(mktemp -d /tmp/gw-soak.XXXXXX)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    echo "config, logs and output kept in $TMP" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

# --- 1. build ---------------------------------------------------------------------------------
log "building gateway and loadgen (release, target dir $TARGET_DIR)"
(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release -q -p gateway -p loadgen)
GATEWAY="$TARGET_DIR/release/gateway"
SOAK="$TARGET_DIR/release/soak"
describe_gateway gateway mtls adapters soap state

# --- 2. free loopback ports, the configuration ---------------------------------------------
read -r UP_PORT GW_PORT ADMIN_PORT < <(free_ports 3)

cat >"$TMP/gateway.yaml" <<EOF
# Written by bench/soak.sh: the demo's edge listener (optional client auth, the test PKI's CRL),
# its SAS, alert and internal routes, on free loopback ports.
listeners:
  - name: edge
    bind: 127.0.0.1:$GW_PORT
    tls:
      cert: $PKI/server.pem
      key: $PKI/server.key
      client_auth:
        mode: optional
        trust_anchors: [$PKI/root-ca.cer, $PKI/intermediate-ca.cer]
        revocation:
          scope: leaf_only
          crl:
            sources: [$PKI/crl/intermediate.crl]
            on_stale: hard
          ocsp:
            mode: off
    handshake_timeout: 10s
    header_read_timeout: $HEADER_TIMEOUT
    max_connections: 1024
clients:
  sas-recette:
    cn: sas-agregateur-recette
    ou: "499700234190004"
    environment: recette
upstreams:
  demo:
    url: http://127.0.0.1:$UP_PORT
    connect_timeout: 1s
    request_timeout: 10s
routes:
  - name: internal-echo
    path_prefix: /internal
    handler: proxy
    upstream: demo
    allow_any_verified_client: true
    max_body_size: 1MiB
  - name: sas-recette-fhir
    path_prefix: /sas/recette/fhir
    methods: [GET, POST, PUT]
    handler: sas_fhir
    upstream: demo
    allowed_clients: [sas-recette]
    max_body_size: 64KiB
    sas_fhir:
      deadline: 3s
  - name: aspone-alert
    path_prefix: /aspone/alert
    methods: [GET, POST]
    handler: aspone_alert
    upstream: demo
    allow_any_verified_client: true
    max_body_size: 256KiB
    aspone_alert:
      partners:
        - username: portal-a
          secret_env: SOAK_ALERT_SECRET
admin:
  bind: 127.0.0.1:$ADMIN_PORT
state:
  backend: memory
logging:
  format: json
  level: $LOG_LEVEL
shutdown:
  grace_period: 2s
EOF
export SOAK_ALERT_SECRET=partner-a-secret # the demo upstream's partner portal-a
"$GATEWAY" check-config "$TMP/gateway.yaml" >/dev/null

# --- 3. start the upstream and the gateway ---------------------------------------------------
wait_port() {
    local i
    for i in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    log "nothing listens on port $1"; return 1
}

taskset -c $LOAD_CPU "$SOAK" upstream --bind "127.0.0.1:$UP_PORT" >"$TMP/upstream.log" 2>&1 &
PIDS+=($!)
TOKIO_WORKER_THREADS=1 taskset -c $GW_CPU "$GATEWAY" run --config "$TMP/gateway.yaml" \
    >"$TMP/gateway.log" 2>&1 &
GW_PID=$!
PIDS+=("$GW_PID")
wait_port "$UP_PORT"
wait_port "$GW_PORT"
wait_port "$ADMIN_PORT"
log "upstream :$UP_PORT (core $LOAD_CPU), gateway $GW_DESC :$GW_PORT admin :$ADMIN_PORT" \
    "(pid $GW_PID, TOKIO_WORKER_THREADS=1, core $GW_CPU), soak client core $LOAD_CPU"
echo "Date: $(date -u +%Y-%m-%dT%H:%MZ)  Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "Gateway: $GW_DESC, release, TOKIO_WORKER_THREADS=1 on core $GW_CPU; client and upstream on core $LOAD_CPU; log level $LOG_LEVEL"
echo "DURATION=$DURATION SCRAPE=$SCRAPE PEAK=$PEAK WORKERS=$WORKERS RATE_FRACTION=$RATE_FRACTION SLOW_CLIENTS=$SLOW_CLIENTS MIX=$MIX"
echo "Load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- 4. soak ---------------------------------------------------------------------------------
args=(run --target "127.0.0.1:$GW_PORT" --admin "127.0.0.1:$ADMIN_PORT" --gateway-pid "$GW_PID"
    --duration "$DURATION" --scrape "$SCRAPE" --peak-duration "$PEAK" --workers "$WORKERS"
    --rate-fraction "$RATE_FRACTION" --slow-clients "$SLOW_CLIENTS" --mix "$MIX"
    --header-timeout "$HEADER_TIMEOUT" --max-drift "$MAX_DRIFT" --clk-tck "$(getconf CLK_TCK)"
    --pki "$PKI")
if [[ -n $WARMUP ]]; then args+=(--warmup "$WARMUP"); fi
set +e
taskset -c $LOAD_CPU "$SOAK" "${args[@]}" | tee "$TMP/soak.out"
rc=${PIPESTATUS[0]}
set -e
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- 5. the gateway's side -------------------------------------------------------------------
gw_state=$(awk '/^State:/ {print $2}' "/proc/$GW_PID/status" 2>/dev/null || true)
if [[ -z $gw_state || $gw_state == Z ]]; then # gone, or exited and not yet reaped
    echo "the gateway is no longer running (see $TMP/gateway.log)"
    rc=1
fi
gw_log="$TMP/gateway.log"
echo "Gateway log ($(du -h "$gw_log" | cut -f1)): $(grep -c '"level":"WARN"' "$gw_log" || true) WARN," \
    "$(grep -c '"level":"ERROR"' "$gw_log" || true) ERROR lines"
if grep -q '"level":"\(WARN\|ERROR\)"' "$gw_log"; then
    echo "Distinct WARN/ERROR messages (count, level, message):"
    grep '"level":"\(WARN\|ERROR\)"' "$gw_log" | jq -r '"\(.level) \(.message)"' 2>/dev/null |
        sort | uniq -c | sort -rn | head -10
fi
if [[ $LOG_LEVEL == info* ]]; then
    # Cross-check with the client's counts (the port probes of wait_port add one "eof").
    echo "Gateway's view: handshake failures by reason:" \
        "$(grep '"TLS handshake failed"' "$gw_log" | grep -o '"reason":"[^"]*"' | sort | uniq -c | xargs)," \
        "closed for header timeout: $(grep -c 'request headers not received in time' "$gw_log" || true)," \
        "access lines by status: $(grep -o '"status":[0-9]*' "$gw_log" | sort | uniq -c | xargs)"
fi
# An info-level log of a 30-minute run is about a gigabyte: keep it compressed.
if [[ $(stat -c %s "$gw_log") -gt 50000000 ]]; then gzip -1 "$gw_log"; fi
exit "$rc"

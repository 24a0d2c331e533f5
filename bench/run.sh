#!/usr/bin/env bash
# Gateway versus nginx: full mTLS handshakes/s and keep-alive proxied requests/s (1 KiB and
# 100 KiB POST bodies) with p50/p99 latency and the proxy's CPU time per operation.
#
# Usage: bench/run.sh            (as root: installs nginx-light if missing)
# Knobs (environment): BENCH_DURATION (6s), BENCH_REPS (3), BENCH_CONNECTIONS (16),
#   BENCH_HS_CONCURRENCY (16), BENCH_ACCESS_LOG (on|off, both peers), CARGO_TARGET_DIR,
#   BENCH_REVOCATION (off|on: each peer gets a second listener that checks a 100,000-serial CRL
#   of the intermediate plus the root's CRL, and OCSP for the leaf against one `openssl ocsp`
#   responder, answered from their caches after the smoke test; figure `handshakes-rev`, and
#   BENCH_FIGURES defaults to `handshakes handshakes-rev`, so one run gives the cost),
#   BENCH_FIGURES (handshakes req-1k req-100k).
#
# Layout on a 2-core machine: the proxy under test on core 0 (taskset -c 0), the load generator
# and the upstream on core 1. The gateway gets TOKIO_WORKER_THREADS=1, nginx worker_processes 1.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PKI="$ROOT/certs-test/pki"
TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench}
DURATION=${BENCH_DURATION:-6s}
REPS=${BENCH_REPS:-3}
CONNS=${BENCH_CONNECTIONS:-16}
HS_CONC=${BENCH_HS_CONCURRENCY:-16}
ACCESS_LOG=${BENCH_ACCESS_LOG:-on}
REVOCATION=${BENCH_REVOCATION:-off}
if [[ $REVOCATION == on ]]; then FIGURES=${BENCH_FIGURES:-handshakes handshakes-rev}; else FIGURES=${BENCH_FIGURES:-handshakes req-1k req-100k}; fi
UP_PORT=18090 GW_PORT=18443 NGX_PORT=18444 ADMIN_PORT=19901 OCSP_PORT=18889
GW_REV_PORT=18445 NGX_REV_PORT=18446
PROXY_CPU=0 LOAD_CPU=1

TMP=$(mktemp -d /tmp/gw-bench.XXXXXX)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [[ -f "$TMP/nginx.pid" ]]; then kill "$(cat "$TMP/nginx.pid")" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    echo "logs and raw results kept in $TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

# --- 1. nginx ------------------------------------------------------------------------------
if ! command -v nginx >/dev/null; then
    log "installing nginx"
    apt-get update -qq
    pkg=nginx
    if apt-cache show nginx-light >/dev/null 2>&1; then pkg=nginx-light; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
fi
NGINX=$(command -v nginx)

# --- 2. build ------------------------------------------------------------------------------
# BENCH_GATEWAY_REV=<commit> builds the gateway from that commit (exported with git archive)
# instead of the working tree, e.g. while the working tree is mid-edit and does not compile.
log "building loadgen and gateway (release, target dir $TARGET_DIR)"
(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release -q -p loadgen)
export_gateway
(cd "$GW_SRC" && CARGO_TARGET_DIR="$GW_TARGET" cargo build --release -q -p gateway)
describe_gateway gateway mtls
LOADGEN="$TARGET_DIR/release/loadgen"
GATEWAY="$GW_TARGET/release/gateway"

# --- 2b. revocation material (BENCH_REVOCATION=on) -------------------------------------------
GW_REVOCATION="" NGX_REVOCATION=""
if [[ $REVOCATION == on ]]; then
    log "writing a 100,000-serial CRL and starting openssl ocsp on :$OCSP_PORT"
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release -q -p mtls --example write_big_crl)
    "$TARGET_DIR/release/examples/write_big_crl" "$TMP/big.crl" 100000 >&2
    # nginx (OpenSSL CRL_CHECK_ALL) wants a CRL for every CA of the chain, in PEM.
    openssl crl -inform DER -in "$TMP/big.crl" -out "$TMP/crls.pem"
    openssl crl -inform DER -in "$PKI/crl/root.crl" >>"$TMP/crls.pem"
    openssl ocsp -index "$PKI/ocsp/index.txt" -port "$OCSP_PORT" -rsigner "$PKI/ocsp/responder.pem" \
        -rkey "$PKI/ocsp/responder.key" -CA "$PKI/intermediate-ca.pem" -nmin 60 \
        >"$TMP/ocsp.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do grep -qi "waiting for OCSP" "$TMP/ocsp.log" && break; sleep 0.1; done
    GW_REVOCATION="
        revocation:
          scope: whole_chain
          combine: both
          crl:
            sources: [$TMP/big.crl, $PKI/crl/root.crl]
          ocsp:
            mode: hard
            responder: http://127.0.0.1:$OCSP_PORT
            timeout: 2s"
    NGX_REVOCATION="ssl_crl $TMP/crls.pem;
        ssl_ocsp leaf;
        ssl_ocsp_responder http://127.0.0.1:$OCSP_PORT;
        ssl_ocsp_cache shared:ocsp:10m;"
fi

# --- 3. configs ----------------------------------------------------------------------------
gw_listener() { # name port client-auth-extra
cat <<EOF
  - name: $1
    bind: 127.0.0.1:$2
    tls:
      cert: $PKI/server.pem
      key: $PKI/server.key
      # Like nginx's ssl_session_cache off + ssl_session_tickets off: no tickets issued.
      session_cache_size: 0
      client_auth:
        mode: required
        trust_anchors: [$PKI/ca-bundle.pem]$3
    handshake_timeout: 10s
    max_connections: 4096
    # The load generator is one address; nginx has no per-address cap either.
    max_connections_per_address: 4096
EOF
}
gw_route() { # name listener
cat <<EOF
  - name: $1
    listener: $2
    path_prefix: /sas
    methods: [GET, POST]
    handler: proxy
    upstream: bench
    allowed_clients: [sas-recette]
    max_body_size: 1MiB
    timeout: 30s
EOF
}
gw_level=info
if [[ $ACCESS_LOG == off ]]; then gw_level=warn; fi
cat >"$TMP/gateway.yaml" <<EOF
listeners:
$(gw_listener bench $GW_PORT "")
$(if [[ $REVOCATION == on ]]; then gw_listener bench-rev $GW_REV_PORT "$GW_REVOCATION"; fi)
clients:
  sas-recette:
    cn: sas-agregateur-recette
    ou: "499700234190004"
    environment: recette
upstreams:
  bench:
    url: http://127.0.0.1:$UP_PORT
    connect_timeout: 1s
    request_timeout: 30s
    pool:
      max_idle_per_host: 64
      idle_timeout: 90s
routes:
$(gw_route sas-bench bench)
$(if [[ $REVOCATION == on ]]; then gw_route sas-bench-rev bench-rev; fi)
admin:
  bind: 127.0.0.1:$ADMIN_PORT
state:
  backend: memory
logging:
  format: json
  level: $gw_level
shutdown:
  grace_period: 1s
EOF

ngx_server() { # port extra-directives
cat <<EOF
    server {
        listen 127.0.0.1:$1 ssl;
        ssl_certificate $PKI/server.pem;
        ssl_certificate_key $PKI/server.key;
        ssl_client_certificate $PKI/ca-bundle.pem;
        ssl_verify_client on;
        ssl_verify_depth 2;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache off;
        ssl_session_tickets off;
        $2
        location /sas {
            # The same CN + OU pinning as the gateway's route.
            if (\$ssl_client_s_dn !~ "^CN=sas-agregateur-recette,OU=499700234190004,") { return 403; }
            proxy_pass http://bench;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # Roughly the identity headers the gateway adds.
            proxy_set_header X-Client-Verified \$ssl_client_verify;
            proxy_set_header X-Client-Subject-DN \$ssl_client_s_dn;
            proxy_set_header X-Client-Issuer-DN \$ssl_client_i_dn;
            proxy_set_header X-Client-Serial \$ssl_client_serial;
            proxy_set_header X-Client-Not-After \$ssl_client_v_end;
            proxy_set_header X-Request-Id \$request_id;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header X-Forwarded-Host \$host;
        }
    }
EOF
}
ngx_access="access_log $TMP/nginx-access.log;"
if [[ $ACCESS_LOG == off ]]; then ngx_access="access_log off;"; fi
cat >"$TMP/nginx.conf" <<EOF
worker_processes 1;
daemon on;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 4096; }
http {
    $ngx_access
    client_body_temp_path $TMP/client_body;
    proxy_temp_path $TMP/proxy_temp;
    # 100 KiB bodies stay in memory (default 16k spills them to a temp file).
    client_body_buffer_size 128k;
    client_max_body_size 1m;
    # Defaults are 1000: the connection would be closed (and re-handshaked) every 1000 requests.
    keepalive_requests 1000000;
    upstream bench {
        server 127.0.0.1:$UP_PORT;
        keepalive 64;
        keepalive_requests 1000000;
    }
$(ngx_server $NGX_PORT "")
$(if [[ $REVOCATION == on ]]; then ngx_server $NGX_REV_PORT "$NGX_REVOCATION"; fi)
}
EOF
mkdir -p "$TMP/client_body" "$TMP/proxy_temp"
"$NGINX" -t -q -c "$TMP/nginx.conf" -p "$TMP"

# --- 4. start everything ---------------------------------------------------------------------
wait_port() {
    local i
    for i in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    log "nothing listens on port $1"; return 1
}

taskset -c $LOAD_CPU "$LOADGEN" upstream --bind 127.0.0.1:$UP_PORT >"$TMP/upstream.log" 2>&1 &
PIDS+=($!)
TOKIO_WORKER_THREADS=1 taskset -c $PROXY_CPU "$GATEWAY" run --config "$TMP/gateway.yaml" \
    >"$TMP/gateway.log" 2>&1 &
GW_PID=$!
PIDS+=($GW_PID)
taskset -c $PROXY_CPU "$NGINX" -c "$TMP/nginx.conf" -p "$TMP"
wait_port $UP_PORT
wait_port $GW_PORT
wait_port $NGX_PORT
if [[ $REVOCATION == on ]]; then wait_port $GW_REV_PORT; wait_port $NGX_REV_PORT; fi
NGX_MASTER=$(cat "$TMP/nginx.pid")
NGX_PIDS="$NGX_MASTER $(pgrep -P "$NGX_MASTER" | tr '\n' ' ')"
log "upstream :$UP_PORT, gateway :$GW_PORT (pid $GW_PID, TOKIO_WORKER_THREADS=1, core $PROXY_CPU)," \
    "nginx :$NGX_PORT (pids $NGX_PIDS, worker_processes 1, core $PROXY_CPU), loadgen core $LOAD_CPU"

# --- 5. measure ------------------------------------------------------------------------------
# Sum of utime+stime (clock ticks) of the given pids.
cpu_ticks() {
    local t=0 p
    for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
    echo "$t"
}
TLS_ARGS=(--ca "$PKI/ca-bundle.pem" --cert "$PKI/clients/sas-recette.pem"
    --key "$PKI/clients/sas-recette.key" --server-name localhost)
RESULTS="$TMP/results.jsonl"
: >"$RESULTS"

run_one() { # peer figure rep
    local peer=$1 fig=$2 rep=$3 port pids args before after out line t0 t1
    if [[ $peer == gateway ]]; then port=$GW_PORT pids=$GW_PID; else port=$NGX_PORT pids=$NGX_PIDS; fi
    if [[ $fig == handshakes-rev ]]; then
        if [[ $peer == gateway ]]; then port=$GW_REV_PORT; else port=$NGX_REV_PORT; fi
    fi
    case $fig in
        handshakes | handshakes-rev) args=(handshakes --concurrency "$HS_CONC" --no-verify-server) ;;
        req-1k) args=(requests --connections "$CONNS" --body-size 1024) ;;
        req-100k) args=(requests --connections "$CONNS" --body-size 102400) ;;
    esac
    # shellcheck disable=SC2086
    before=$(cpu_ticks $pids) t0=$(date +%s%N)
    out=$(taskset -c $LOAD_CPU "$LOADGEN" "${args[@]}" --target "127.0.0.1:$port" --path /sas/bench \
        --duration "$DURATION" --label "$peer" "${TLS_ARGS[@]}")
    # shellcheck disable=SC2086
    after=$(cpu_ticks $pids) t1=$(date +%s%N)
    echo "$out" >>"$TMP/loadgen.out"
    line=$(head -n1 <<<"$out")
    echo "$line" | jq -c --arg peer "$peer" --arg fig "$fig" --argjson rep "$rep" \
        --argjson ticks $((after - before)) --argjson hz "$(getconf CLK_TCK)" \
        --argjson wall_ns $((t1 - t0)) \
        '. + {peer: $peer, figure: $fig, rep: $rep, proxy_cpu_s: ($ticks / $hz), wall_s: ($wall_ns / 1e9)}' >>"$RESULTS"
    tail -n1 <<<"$out" >&2
}

log "smoke test"
SMOKE_PORTS="$GW_PORT:gateway $NGX_PORT:nginx"
if [[ $REVOCATION == on ]]; then SMOKE_PORTS="$SMOKE_PORTS $GW_REV_PORT:gateway-rev $NGX_REV_PORT:nginx-rev"; fi
for smoke in $SMOKE_PORTS; do
    port=${smoke%%:*} peer=${smoke#*:}
    out=$(taskset -c $LOAD_CPU "$LOADGEN" requests --connections 2 --body-size 1024 --duration 300ms \
        --warmup 0s --target "127.0.0.1:$port" --path /sas/bench "${TLS_ARGS[@]}")
    out=$(head -n1 <<<"$out")
    if [[ $(echo "$out" | jq .errors) != 0 || $(echo "$out" | jq .ops) == 0 ]]; then
        log "smoke test failed on $peer: $out"; exit 1
    fi
done

if [[ $REVOCATION == on ]]; then
    # Proof that both peers check: the test PKI's revoked certificate is revoked for the OCSP
    # responder (not in the big CRL). nginx answers 400, the gateway a revocation problem.
    rev=(--cert "$PKI/clients/revoked.pem" --key "$PKI/clients/revoked.key" --cacert "$PKI/ca-bundle.pem")
    gw=$(curl -s "${rev[@]}" "https://localhost:$GW_REV_PORT/sas/bench" --resolve "localhost:$GW_REV_PORT:127.0.0.1" || true)
    ngx=$(curl -s -o /dev/null -w '%{http_code}' "${rev[@]}" "https://localhost:$NGX_REV_PORT/sas/bench" \
        --resolve "localhost:$NGX_REV_PORT:127.0.0.1" || true)
    if [[ $gw != *client-certificate-revoked* || $ngx != 400 ]]; then
        log "revocation smoke test failed: gateway said '$gw', nginx $ngx"; exit 1
    fi
    log "revoked certificate refused by both; gateway CRLs: $(curl -s "http://127.0.0.1:$ADMIN_PORT/revocation" | jq -c '[.["bench-rev"].crls[] | {issuer, entries}]')"
fi

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "measuring: $REPS reps x figures ($FIGURES) x 2 peers, $DURATION each (+1s warm-up for requests)"
for rep in $(seq "$REPS"); do
    for fig in $FIGURES; do
        for peer in gateway nginx; do run_one "$peer" "$fig" "$rep"; done
    done
done

# --- 6. report -------------------------------------------------------------------------------
echo
echo "Date: $(date -u +%Y-%m-%dT%H:%MZ)  Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "nginx: $("$NGINX" -v 2>&1 | cut -d/ -f2), gateway: $GW_DESC (TOKIO_WORKER_THREADS=1)." \
    "Proxy on core $PROXY_CPU, loadgen+upstream on core $LOAD_CPU. Access logs: $ACCESS_LOG. Revocation: $REVOCATION."
echo "Load average before/after the measurements: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews rates; CPU per op is less sensitive)."
echo "Medians of $REPS runs of $DURATION; handshakes: concurrency $HS_CONC; requests: $CONNS keep-alive connections."
python3 "$ROOT/bench/summary.py" "$RESULTS"

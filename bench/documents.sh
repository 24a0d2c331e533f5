#!/usr/bin/env bash
# Large documents: a 100 MiB upload, then its download, straight to the demo core, through the
# gateway's `documents` route (Content-Digest checked while streaming both ways, daily volume
# quota, hash-chained trail), through a plain `proxy` route of the same gateway (no policies),
# and through nginx (mTLS, streaming both ways, no digest check: nginx has none). Reports MiB/s
# (medians), the ratios to the direct figure and between the proxies, and the proxy's CPU time
# per GiB moved (utime + stime from /proc/PID/stat).
#
# Usage: bench/documents.sh      (as root: installs the Debian `nginx` package if missing)
# Knobs (environment): BENCH_DOC_SIZE (bytes, 104857600), BENCH_REPS (5), CARGO_TARGET_DIR
#   (/work/target-bench), BENCH_GATEWAY_REV (build the gateway and the core from that commit,
#   like run.sh; the client is the working tree's),
#   BENCH_CORE_TMP (where the core stores documents: /dev/shm, so that its fsync of each upload
#   costs nothing and the figures are about the proxies, not the disk; `/tmp` for a real disk).
#
# Layout on a 2-core machine, as in run.sh: the proxy under test on core 0 (taskset -c 0; the
# gateway with TOKIO_WORKER_THREADS=1, nginx with worker_processes 1), the client and the core
# on core 1. Both proxies run throughout; the peers are measured interleaved, one transfer at a
# time, each on a fresh connection (a full mTLS handshake: well under 1 % of a 100 MiB transfer).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PKI="$ROOT/certs-test/pki"
TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench}
SIZE=${BENCH_DOC_SIZE:-104857600}
REPS=${BENCH_REPS:-5}
CORE_TMP=${BENCH_CORE_TMP:-/dev/shm}
CORE_PORT=18095 GW_PORT=18447 NGX_PORT=18448 ADMIN_PORT=19902
PROXY_CPU=0 LOAD_CPU=1
export BENCH_TRAIL_KEY=documents-bench-trail-key-0123456789abcdef

TMP=$(mktemp -d /tmp/gw-bench-docs.XXXXXX)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [[ -f "$TMP/nginx.pid" ]]; then kill "$(cat "$TMP/nginx.pid")" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    rm -rf "$CORE_DIR"
    echo "logs and raw results kept in $TMP" >&2
}
CORE_DIR=$(mktemp -d "$CORE_TMP/gw-bench-core.XXXXXX")
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

# --- 1. nginx ------------------------------------------------------------------------------
if ! command -v nginx >/dev/null; then
    log "installing nginx"
    # Keep the package's own service from starting (port 80) in containers without systemd.
    policy=""
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        policy=/usr/sbin/policy-rc.d
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
    if [[ -n $policy ]]; then rm -f "$policy"; fi
fi
NGINX=$(command -v nginx)

# --- 2. build ------------------------------------------------------------------------------
# BENCH_GATEWAY_REV=<commit> builds the gateway and the demo core from that commit (exported
# with git archive, as in run.sh) instead of the working tree, e.g. while the working tree is
# mid-edit and does not compile; the client (bench/loadgen) is then the working tree's, built
# inside the export.
log "building the documents client/core (loadgen) and the gateway (release, target dir $TARGET_DIR)"
export_gateway with-bench
(cd "$GW_SRC" && CARGO_TARGET_DIR="$GW_TARGET" cargo build --release -q -p gateway)
(cd "$GW_SRC" && CARGO_TARGET_DIR="$GW_TARGET" cargo build --release -q -p loadgen --bin documents)
describe_gateway gateway mtls integrity demo-upstream
DOCS="$GW_TARGET/release/documents"
GATEWAY="$GW_TARGET/release/gateway"

# --- 3. configs ----------------------------------------------------------------------------
cat >"$TMP/gateway.yaml" <<EOF
listeners:
  - name: bench
    bind: 127.0.0.1:$GW_PORT
    tls:
      cert: $PKI/server.pem
      key: $PKI/server.key
      session_cache_size: 0
      client_auth:
        mode: required
        trust_anchors: [$PKI/ca-bundle.pem]
clients:
  internal-app:
    cn: internal-app.test
    ou: INTERNAL-TEST
upstreams:
  core:
    url: http://127.0.0.1:$CORE_PORT
    connect_timeout: 1s
    request_timeout: 120s
routes:
  # What is measured: the documents route with every policy of config/demo.yaml's.
  - name: documents
    path_prefix: /documents
    methods: [GET, HEAD, POST, PUT, DELETE]
    handler: documents
    upstream: core
    strip_prefix: true
    allowed_clients: [internal-app]
    max_body_size: 1GiB
    timeout: 120s
    digest:
      require: true
    quota:
      daily_volume: 1000GiB
    trail: documents
  # The same proxying without the policies: what the digest, quota and trail cost.
  - name: plain
    path_prefix: /plain
    handler: proxy
    upstream: core
    strip_prefix: true
    allowed_clients: [internal-app]
    max_body_size: 1GiB
    timeout: 120s
trails:
  documents:
    file: "$TMP/trail-{instance}.jsonl"
    key_env: BENCH_TRAIL_KEY
    instance: bench
admin:
  bind: 127.0.0.1:$ADMIN_PORT
state:
  backend: memory
logging:
  format: json
  level: info
shutdown:
  grace_period: 1s
EOF

cat >"$TMP/nginx.conf" <<EOF
worker_processes 1;
daemon on;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log $TMP/nginx-access.log;
    client_body_temp_path $TMP/client_body;
    proxy_temp_path $TMP/proxy_temp;
    client_max_body_size 1g;
    upstream core {
        server 127.0.0.1:$CORE_PORT;
        keepalive 16;
    }
    server {
        listen 127.0.0.1:$NGX_PORT ssl;
        ssl_certificate $PKI/server.pem;
        ssl_certificate_key $PKI/server.key;
        ssl_client_certificate $PKI/ca-bundle.pem;
        ssl_verify_client on;
        ssl_verify_depth 2;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache off;
        ssl_session_tickets off;
        location /documents/ {
            # The same CN + OU pinning as the gateway's route.
            if (\$ssl_client_s_dn !~ "^CN=internal-app.test,OU=INTERNAL-TEST,") { return 403; }
            proxy_pass http://core/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # Stream both ways, like the gateway (the defaults spool bodies to temp files).
            proxy_request_buffering off;
            proxy_buffering off;
            # Read (and so write) 64 KiB at a time, like the gateway's and the core's frames: with
            # the defaults (16k, 4k) nginx spent a third more CPU per GiB up, two thirds down.
            client_body_buffer_size 64k;
            proxy_buffer_size 64k;
            proxy_buffers 4 64k;
            proxy_read_timeout 120s;
            proxy_send_timeout 120s;
            # Roughly the identity headers the gateway adds.
            proxy_set_header X-Client-Verified \$ssl_client_verify;
            proxy_set_header X-Client-Subject-DN \$ssl_client_s_dn;
            proxy_set_header X-Client-Issuer-DN \$ssl_client_i_dn;
            proxy_set_header X-Client-Serial \$ssl_client_serial;
            proxy_set_header X-Request-Id \$request_id;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto https;
        }
    }
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

TMPDIR=$CORE_DIR taskset -c $LOAD_CPU "$DOCS" core --bind 127.0.0.1:$CORE_PORT >"$TMP/core.log" 2>&1 &
CORE_PID=$!
PIDS+=($CORE_PID)
TOKIO_WORKER_THREADS=1 taskset -c $PROXY_CPU "$GATEWAY" run --config "$TMP/gateway.yaml" \
    >"$TMP/gateway.log" 2>&1 &
GW_PID=$!
PIDS+=($GW_PID)
taskset -c $PROXY_CPU "$NGINX" -c "$TMP/nginx.conf" -p "$TMP"
wait_port $CORE_PORT
wait_port $GW_PORT
wait_port $NGX_PORT
NGX_MASTER=$(cat "$TMP/nginx.pid")
NGX_PIDS="$NGX_MASTER $(pgrep -P "$NGX_MASTER" | tr '\n' ' ')"
log "core :$CORE_PORT (pid $CORE_PID, store in $CORE_DIR), gateway :$GW_PORT (pid $GW_PID)," \
    "nginx :$NGX_PORT (pids $NGX_PIDS), proxies on core $PROXY_CPU, client and core on core $LOAD_CPU"

# --- 5. measure ------------------------------------------------------------------------------
HZ=$(getconf CLK_TCK)
TLS=(--tls --pki "$PKI" --client internal-app)
EXCHANGE=exchanges/bench/documents
peer_args() { # peer -> arguments of `documents run`
    local pid
    case $1 in
        direct) echo "--target 127.0.0.1:$CORE_PORT --path /$EXCHANGE" ;;
        gateway) echo "--target 127.0.0.1:$GW_PORT --path /documents/$EXCHANGE ${TLS[*]} --watch-pid $GW_PID" ;;
        gateway-plain) echo "--target 127.0.0.1:$GW_PORT --path /plain/$EXCHANGE ${TLS[*]} --watch-pid $GW_PID" ;;
        nginx)
            echo -n "--target 127.0.0.1:$NGX_PORT --path /documents/$EXCHANGE ${TLS[*]}"
            for pid in $NGX_PIDS; do echo -n " --watch-pid $pid"; done
            echo ;;
    esac
}
PEERS="direct gateway gateway-plain nginx"

log "smoke test: 1 MiB through each peer, and a wrong digest through the gateway"
for peer in $PEERS; do
    # shellcheck disable=SC2046
    taskset -c $LOAD_CPU "$DOCS" run $(peer_args "$peer") --size 1048576 --label "$peer" --clk-tck "$HZ" >/dev/null
done
# shellcheck disable=SC2046
wrong=$(taskset -c $LOAD_CPU "$DOCS" run $(peer_args gateway) --size 1048576 --wrong-digest)
if [[ $(jq -r .type <<<"$wrong") != urn:gateway:problem:digest-mismatch ]]; then
    log "the gateway did not refuse a wrong digest: $wrong"; exit 1
fi
log "wrong digest through the gateway: $wrong"

RESULTS="$TMP/results.jsonl"
: >"$RESULTS"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "measuring: $REPS reps x 4 peers, $SIZE bytes up then down"
for rep in $(seq "$REPS"); do
    for peer in $PEERS; do
        # shellcheck disable=SC2046
        taskset -c $LOAD_CPU "$DOCS" run $(peer_args "$peer") --size "$SIZE" --label "$peer" \
            --clk-tck "$HZ" | jq -c --argjson rep "$rep" '. + {rep: $rep}' | tee -a "$RESULTS" >&2
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# The trail: one record per exchange of the documents route, its chain intact.
TRAIL_CHECK=$("$GATEWAY" audit verify --key-env BENCH_TRAIL_KEY "$TMP/trail-bench.jsonl" 2>&1 || true)
TRAIL_LINES=$(wc -l <"$TMP/trail-bench.jsonl")
GW_RSS=$(awk '/VmHWM/ {print $2 " " $3}' "/proc/$GW_PID/status")

# --- 6. report -------------------------------------------------------------------------------
echo
echo "Date: $(date -u +%Y-%m-%dT%H:%MZ)  Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "nginx: $("$NGINX" -v 2>&1 | cut -d/ -f2), gateway: $GW_DESC (TOKIO_WORKER_THREADS=1)." \
    "Proxy on core $PROXY_CPU, client + core on core $LOAD_CPU; core store in $CORE_TMP."
echo "Load average before/after: $LOAD_BEFORE / $LOAD_AFTER. Medians of $REPS runs of $SIZE bytes, up then down, each on a new connection."
echo "Gateway trail: $TRAIL_LINES records, \`gateway audit verify\`: $TRAIL_CHECK. Gateway peak RSS: $GW_RSS."
echo
python3 - "$RESULTS" <<'EOF'
import json, statistics, sys
from collections import defaultdict

runs = defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    runs[r["label"]].append(r)
GIB = 1 << 30

def med(peer, key):
    vals = [r[key] for r in runs[peer]]
    return statistics.median(vals) if vals else float("nan")

peers = [("direct", "direct to the core (HTTP)"), ("gateway", "gateway, documents route (digest + quota + trail)"),
         ("gateway-plain", "gateway, plain proxy route"), ("nginx", "nginx (streaming proxy, no digest check)")]
def cpu_per_gib(peer, d):
    # Summed over the runs: /proc/PID/stat counts in clock ticks (10 ms), a tenth of one run's.
    rs = runs[peer]
    return sum(r[f"{d}_proxy_cpu_s"] for r in rs) / (sum(r["bytes"] for r in rs) / GIB)

print("| peer | direction | MiB/s | vs direct | proxy CPU s per GiB | proxy core busy |")
print("|---|---|---:|---:|---:|---:|")
for d in ("upload", "download"):
    direct = med("direct", f"{d}_mib_s")
    for peer, name in peers:
        if peer not in runs:
            continue
        rate = med(peer, f"{d}_mib_s")
        if peer == "direct":
            print(f"| {name} | {d} | {rate:.0f} | 1.00 | — | — |")
            continue
        busy = statistics.median(r[f"{d}_proxy_cpu_s"] / r[f"{d}_s"] for r in runs[peer])
        print(f"| {name} | {d} | {rate:.0f} | {rate / direct:.2f} | {cpu_per_gib(peer, d):.2f} | {busy:.0%} |")
print()
for d in ("upload", "download"):
    g, p, n = (med(x, f"{d}_mib_s") for x in ("gateway", "gateway-plain", "nginx"))
    gc, pc, nc = (cpu_per_gib(x, d) for x in ("gateway", "gateway-plain", "nginx"))
    print(f"{d}: gateway/nginx throughput {g / n:.2f}, CPU per GiB {gc / nc:.2f}; "
          f"documents route / plain route throughput {g / p:.2f}, CPU per GiB {gc / pc:.2f}")
EOF

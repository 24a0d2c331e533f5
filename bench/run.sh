#!/usr/bin/env bash
# Gateway versus nginx and HAProxy: mTLS handshakes/s (full, and resumed with revocation on),
# keep-alive proxied requests/s (HTTP/1.1 1 KiB and 100 KiB POST bodies, HTTP/2 1 KiB) with
# p50/p99 latency and the proxy's CPU time per operation, and memory per idle mTLS connection.
#
# Usage: bench/run.sh            (as root: installs nginx-light and haproxy if missing)
# Knobs (environment): BENCH_DURATION (6s), BENCH_REPS (3), BENCH_CONNECTIONS (16),
#   BENCH_HS_CONCURRENCY (16), BENCH_H2_CONNECTIONS (16), BENCH_H2_STREAMS (64),
#   BENCH_IDLE_CONNECTIONS (10000), BENCH_UPSTREAM_POOL (h2 connections x streams), BENCH_ACCESS_LOG (on|off, all peers), CARGO_TARGET_DIR,
#   BENCH_GATEWAY_REV (build the gateway from a commit, see lib.sh),
#   BENCH_REVOCATION (off|on: each peer gets a second listener that checks a 100,000-entry CRL
#   of the intermediate plus the root's CRL, and OCSP for the leaf against one `openssl ocsp`
#   responder, answered from their caches after the smoke test (HAProxy 2.6: CRL only, it has
#   no client OCSP); figure `handshakes-rev`, and BENCH_FIGURES defaults to
#   `handshakes handshakes-rev`, so one run gives the cost),
#   BENCH_FIGURES (default: all but handshakes-rev, i.e. handshakes handshakes-resumed req-1k
#   req-100k h2-1k idle-h1 idle-h2 handshakes-openssl req-1k-openssl: one run, one table).
# Figures:
#   handshakes          full mTLS handshakes (no resumption anywhere), one GET each;
#   handshakes-rev      the same on the revocation listeners (BENCH_REVOCATION=on);
#   handshakes-resumed  resumed handshakes (loadgen --resume) on a third listener with a stateful
#                       session cache and revocation on (CRLs + OCSP), as in production; the
#                       script exits 3 (after the table) if a peer resumed less than 90 % of the
#                       handshakes after each loadgen worker's first;
#   req-1k, req-100k    keep-alive HTTP/1.1 POSTs, BENCH_CONNECTIONS connections;
#   h2-1k               HTTP/2 POSTs of 1 KiB, BENCH_H2_CONNECTIONS x BENCH_H2_STREAMS streams;
#   idle-h1, idle-h2    RSS (and PSS) per idle keep-alive mTLS connection, HTTP/1.1 and HTTP/2:
#                       on a fresh proxy process per run, BENCH_IDLE_CONNECTIONS connections
#                       opened (one request each), held, closed; memory before, while open, and
#                       3 s after closing.
#   *-openssl           handshakes and req-1k with an OpenSSL client: bench/openssl_client.sh.
# Peer configs (resumption, revocation, logging of each): bench/peers.sh.
#
# Layout on a 2-core machine: the proxy under test on core 0 (taskset -c 0), the load generator
# and the upstream on core 1. The gateway gets TOKIO_WORKER_THREADS=1, nginx worker_processes 1,
# haproxy nbthread 1. Per repetition and figure: gateway, nginx, haproxy (interleaved).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PKI="$ROOT/certs-test/pki"
TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench}
DURATION=${BENCH_DURATION:-6s}
REPS=${BENCH_REPS:-3}
CONNS=${BENCH_CONNECTIONS:-16}
HS_CONC=${BENCH_HS_CONCURRENCY:-16}
H2_CONNS=${BENCH_H2_CONNECTIONS:-16}
H2_STREAMS=${BENCH_H2_STREAMS:-64}
IDLE_N=${BENCH_IDLE_CONNECTIONS:-10000}
# Idle upstream connections each peer keeps (gateway pool.max_idle_per_host, nginx keepalive,
# haproxy pool-max-conn): enough for the 1,024 HTTP/2 streams in flight, so that no peer opens
# and closes upstream connections during the h2 figure (a production config would size it so).
UP_POOL=${BENCH_UPSTREAM_POOL:-$((H2_CONNS * H2_STREAMS))}
ACCESS_LOG=${BENCH_ACCESS_LOG:-on}
REVOCATION=${BENCH_REVOCATION:-off}
ALL_FIGURES="handshakes handshakes-resumed req-1k req-100k h2-1k idle-h1 idle-h2 handshakes-openssl req-1k-openssl"
if [[ $REVOCATION == on ]]; then FIGURES=${BENCH_FIGURES:-handshakes handshakes-rev}; else FIGURES=${BENCH_FIGURES:-$ALL_FIGURES}; fi
has_fig() { [[ " $FIGURES " == *" $1 "* ]]; }
for fig in $FIGURES; do
    if [[ " $ALL_FIGURES handshakes-rev " != *" $fig "* ]]; then
        echo "unknown figure '$fig' (known: $ALL_FIGURES handshakes-rev)" >&2; exit 64
    fi
done
if has_fig handshakes-rev; then REVOCATION=on; fi
PEERS="gateway nginx haproxy"
PROXY_CPU=0 LOAD_CPU=1

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/peers.sh
source "$ROOT/bench/peers.sh"
# shellcheck source=bench/openssl_client.sh
source "$ROOT/bench/openssl_client.sh"

# Every idle connection is a socket in loadgen and in the proxy: raise the fd limit (inherited
# by all children) as far as the hard limit allows.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
MAX_CONNS=$((IDLE_N + 1000 > 20000 ? IDLE_N + 1000 : 20000))
NGX_WORKER_CONNS=$((IDLE_N + 1000 > 4096 ? IDLE_N + 1000 : 4096))
if { has_fig idle-h1 || has_fig idle-h2; } && ((NOFILE < IDLE_N + 1000)); then
    echo "open files limit $NOFILE is too low for $IDLE_N idle connections (BENCH_IDLE_CONNECTIONS)" >&2; exit 1
fi

# Ports: free ones (another run of a bench may be going on).
read -r UP_PORT ADMIN_PORT OCSP_PORT GW_PORT NGX_PORT HAP_PORT GW_REV_PORT NGX_REV_PORT HAP_REV_PORT \
    GW_RES_PORT NGX_RES_PORT HAP_RES_PORT GW_IDLE_PORT NGX_IDLE_PORT HAP_IDLE_PORT IDLE_ADMIN_PORT \
    <<<"$(free_ports 16)"

TMP=$(mktemp -d /tmp/gw-bench.XXXXXX)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "$TMP/nginx.pid" "$TMP/nginx-idle.pid"; do
        if [[ -f $pid ]]; then kill "$(cat "$pid")" 2>/dev/null || true; fi
    done
    wait 2>/dev/null || true
    echo "logs and raw results kept in $TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. nginx and haproxy ---------------------------------------------------------------------
install_pkg nginx nginx-light nginx
install_pkg haproxy haproxy
NGINX=$(command -v nginx)
HAPROXY=$(command -v haproxy)

# --- 2. build ------------------------------------------------------------------------------
# BENCH_GATEWAY_REV=<commit> builds the gateway from that commit (exported with git archive)
# instead of the working tree, e.g. while the working tree is mid-edit and does not compile.
log "building loadgen and gateway (release, target dir $TARGET_DIR)"
(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release -q -p loadgen)
# shellcheck disable=SC2119 # no arguments: the gateway alone, not with-bench
export_gateway
(cd "$GW_SRC" && CARGO_TARGET_DIR="$GW_TARGET" cargo build --release -q -p gateway)
describe_gateway gateway mtls
LOADGEN="$TARGET_DIR/release/loadgen"
GATEWAY="$GW_TARGET/release/gateway"
# The crypto bound, measured in this run after each repetition of `handshakes` (bench/bound.sh).
if has_fig handshakes; then BOUND_EXE=$(CARGO_TARGET_DIR="$TARGET_DIR" "$ROOT/bench/bound.sh" build); fi

# The newer figures need loadgen modes: fail now rather than after minutes of measurements.
missing=()
if has_fig handshakes-resumed && ! "$LOADGEN" handshakes --help 2>&1 | grep -q -- --resume; then
    missing+=("handshakes-resumed: loadgen handshakes --resume"); fi
if has_fig h2-1k && ! "$LOADGEN" requests --help 2>&1 | grep -q -- --streams; then
    missing+=("h2-1k: loadgen requests --http2 --streams"); fi
for fig in idle-h1 idle-h2; do
    if has_fig $fig && ! "$LOADGEN" idle --help 2>&1 | grep -q -- --connections; then
        missing+=("$fig: loadgen idle"); fi
done
if ((${#missing[@]})); then
    log "this loadgen lacks: ${missing[*]} (drop the figures from BENCH_FIGURES)"; exit 1
fi

# --- 3. revocation material and configs (bench/peers.sh) ---------------------------------------
# handshakes-resumed has revocation on, so it needs the CRLs and the OCSP responder too.
if [[ $REVOCATION == on ]] || has_fig handshakes-resumed; then write_revocation_material; fi
write_gateway_config "$TMP/gateway.yaml" "$GW_PORT" "$ADMIN_PORT" full
write_gateway_config "$TMP/gateway-idle.yaml" "$GW_IDLE_PORT" "$IDLE_ADMIN_PORT" idle
write_nginx_config nginx "$NGX_PORT" full
write_nginx_config nginx-idle "$NGX_IDLE_PORT" idle
for conf in nginx nginx-idle; do "$NGINX" -t -q -c "$TMP/$conf.conf" -p "$TMP"; rm -f "$TMP/$conf.pid"; done
write_haproxy_configs
for conf in haproxy haproxy-idle; do "$HAPROXY" -c -q -f "$TMP/$conf.cfg"; done
if has_fig handshakes-resumed; then "$HAPROXY" -c -q -f "$TMP/haproxy-resumed.cfg"; fi

# --- 4. start everything ---------------------------------------------------------------------
wait_port() {
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    log "nothing listens on port $1"; return 1
}

taskset -c $LOAD_CPU "$LOADGEN" upstream --bind 127.0.0.1:"$UP_PORT" >"$TMP/upstream.log" 2>&1 &
PIDS+=($!)
TOKIO_WORKER_THREADS=1 taskset -c $PROXY_CPU "$GATEWAY" run --config "$TMP/gateway.yaml" \
    >"$TMP/gateway.log" 2>&1 &
GW_PID=$!
PIDS+=("$GW_PID")
taskset -c $PROXY_CPU "$NGINX" -c "$TMP/nginx.conf" -p "$TMP"
# haproxy in the foreground (-db: no daemon, no master process), one process: its pid is $!.
# stdout is its log; OPENSSL_CONF: no TLS 1.3 tickets (see peers.sh).
OPENSSL_CONF="$TMP/openssl-no-tickets.cnf" taskset -c $PROXY_CPU "$HAPROXY" -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy-access.log" 2>"$TMP/haproxy.err" &
HAP_PID=$!
PIDS+=("$HAP_PID")
HAP_RES_PID=""
if has_fig handshakes-resumed; then
    taskset -c $PROXY_CPU "$HAPROXY" -db -f "$TMP/haproxy-resumed.cfg" \
        >"$TMP/haproxy-resumed-access.log" 2>"$TMP/haproxy-resumed.err" &
    HAP_RES_PID=$!
    PIDS+=("$HAP_RES_PID")
fi
KINDS="main"
if [[ $REVOCATION == on ]]; then KINDS="$KINDS rev"; fi
if has_fig handshakes-resumed; then KINDS="$KINDS res"; fi
declare -A PORT=([gateway.main]=$GW_PORT [nginx.main]=$NGX_PORT [haproxy.main]=$HAP_PORT
    [gateway.idle]=$GW_IDLE_PORT [nginx.idle]=$NGX_IDLE_PORT [haproxy.idle]=$HAP_IDLE_PORT
    [gateway.rev]=$GW_REV_PORT [nginx.rev]=$NGX_REV_PORT [haproxy.rev]=$HAP_REV_PORT
    [gateway.res]=$GW_RES_PORT [nginx.res]=$NGX_RES_PORT [haproxy.res]=$HAP_RES_PORT)
wait_port "$UP_PORT"
for kind in $KINDS; do for peer in $PEERS; do wait_port "${PORT[$peer.$kind]}"; done; done
NGX_PIDS=$(nginx_pids "$TMP/nginx.pid")
# The processes whose CPU time is measured, per peer and listener kind (idle figures: fresh ones).
declare -A PROC=([gateway.main]=$GW_PID [gateway.rev]=$GW_PID [gateway.res]=$GW_PID
    [nginx.main]=$NGX_PIDS [nginx.rev]=$NGX_PIDS [nginx.res]=$NGX_PIDS
    [haproxy.main]=$HAP_PID [haproxy.rev]=$HAP_PID [haproxy.res]=$HAP_RES_PID)
log "upstream :$UP_PORT, gateway :$GW_PORT (pid $GW_PID, TOKIO_WORKER_THREADS=1)," \
    "nginx :$NGX_PORT (pids $NGX_PIDS, worker_processes 1), haproxy :$HAP_PORT (pid $HAP_PID" \
    "${HAP_RES_PID:+, resumed listener pid $HAP_RES_PID}, nbthread 1) on core $PROXY_CPU; loadgen core $LOAD_CPU"

# --- 5. checks -------------------------------------------------------------------------------
TLS_ARGS=(--ca "$PKI/ca-bundle.pem" --cert "$PKI/clients/sas-recette.pem"
    --key "$PKI/clients/sas-recette.key" --server-name localhost)
kind_of() { # figure → listener kind
    case $1 in handshakes-rev) echo rev ;; handshakes-resumed) echo res ;; *) echo main ;; esac
}

log "smoke test"
for kind in $KINDS; do
    for peer in $PEERS; do
        modes=("requests --connections 2")
        if [[ $kind == main ]] && { has_fig h2-1k || has_fig idle-h2; }; then
            modes+=("requests --http2 --streams 4 --connections 1"); fi
        for mode in "${modes[@]}"; do
            # shellcheck disable=SC2086
            out=$(taskset -c $LOAD_CPU "$LOADGEN" $mode --body-size 1024 --duration 300ms --warmup 0s \
                --target "127.0.0.1:${PORT[$peer.$kind]}" --path /sas/bench "${TLS_ARGS[@]}")
            out=$(head -n1 <<<"$out")
            if [[ $(jq .errors <<<"$out") != 0 || $(jq .ops <<<"$out") == 0 ]]; then
                log "smoke test failed on $peer ($kind listener, $mode): $out"; exit 1
            fi
        done
    done
done

# Resumption as configured (peers.sh): openssl s_client connects twice with one session; counts
# the tickets of the first handshake and whether the second resumed.
session_check() { # port → "tickets reused"
    local sess="$TMP/session.$1" req='GET /sas/bench HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
    local args=(-connect "127.0.0.1:$1" -servername localhost -cert "$PKI/clients/sas-recette.pem"
        -key "$PKI/clients/sas-recette.key" -CAfile "$PKI/ca-bundle.pem" -ign_eof)
    local first tickets reused=no
    rm -f "$sess"
    # shellcheck disable=SC2059
    first=$(printf "$req" | timeout 10 openssl s_client "${args[@]}" -msg -sess_out "$sess" 2>&1 || true)
    tickets=$(grep -c 'NewSessionTicket' <<<"$first" || true)
    # shellcheck disable=SC2059
    if [[ -s $sess ]] && printf "$req" | timeout 10 openssl s_client "${args[@]}" -sess_in "$sess" 2>&1 |
        grep -q '^Reused'; then reused=yes; fi
    echo "$tickets $reused"
}
for kind in $KINDS; do
    summary=""
    for peer in $PEERS; do
        read -r tickets reused <<<"$(session_check "${PORT[$peer.$kind]}")"
        summary="$summary $peer: $tickets tickets, resumed $reused;"
        if [[ ($kind == res && $reused != yes) || ($kind != res && ($reused != no || $tickets != 0)) ]]; then
            log "resumption check failed on the $kind listeners:$summary"; exit 1
        fi
    done
    log "resumption on the $kind listeners:$summary"
done

# Revocation: the test PKI's revoked.pem is in the big CRL (and revoked for the OCSP responder):
# refused by all three: the gateway and haproxy at the handshake (CRL), nginx with a 400.
# ocsp-revoked.pem, revoked for the responder only, proves that the gateway (a revocation problem
# after the handshake) and nginx (400) ask it; haproxy (no client OCSP) lets it through (200).
# curl's code is 000 when the handshake fails; the same listeners accepted sas-recette above.
revocation_check() { # kind cert-prefix expected-codes (gateway nginx haproxy; gateway 403 = a revocation problem)
    local kind=$1 cert=(--cert "$2.pem" --key "$2.key" --cacert "$PKI/ca-bundle.pem") peer port code codes=""
    for peer in $PEERS; do
        port=${PORT[$peer.$kind]}
        code=$(curl -s -o "$TMP/revocation-check.body" -w '%{http_code}' "${cert[@]}" \
            "https://localhost:$port/sas/bench" --resolve "localhost:$port:127.0.0.1" || true)
        if [[ $peer == gateway && $code == 403 ]] && ! grep -q client-certificate-revoked "$TMP/revocation-check.body"; then
            code="403-not-revocation"; fi
        codes="$codes $code"
    done
    if [[ $codes != " $3" ]]; then
        log "revocation check failed ($kind listeners, $(basename "$2")): gateway nginx haproxy answered$codes, expected $3"
        exit 1
    fi
    log "$kind listeners, $(basename "$2"): gateway nginx haproxy answered$codes (000: handshake refused)"
}
for kind in $KINDS; do
    [[ $kind == main ]] && continue
    revocation_check "$kind" "$PKI/clients/revoked" "000 400 000"
    revocation_check "$kind" "$TMP/ocsp-revoked" "403 400 200"
done
if [[ $KINDS != main ]]; then
    gw_listener=bench-rev
    if [[ $REVOCATION != on ]]; then gw_listener=bench-resumed; fi
    log "gateway CRLs: $(curl -s "http://127.0.0.1:$ADMIN_PORT/revocation" |
        jq -c --arg l "$gw_listener" '[.[$l].crls[] | {issuer, entries}]')"
fi

openssl_client_setup # the OpenSSL client figures' TLS client and checks (bench/openssl_client.sh)

# --- 6. measure ------------------------------------------------------------------------------
RESULTS="$TMP/results.jsonl"
: >"$RESULTS"

run_one() { # peer figure rep
    local peer=$1 fig=$2 rep=$3 kind pids args before after out line t0 t1 frac
    kind=$(kind_of "$fig")
    pids=${PROC[$peer.$kind]}
    case $fig in
        handshakes | handshakes-rev) args=(handshakes --concurrency "$HS_CONC" --no-verify-server) ;;
        handshakes-resumed) args=(handshakes --resume --concurrency "$HS_CONC" --no-verify-server) ;;
        req-1k) args=(requests --connections "$CONNS" --body-size 1024) ;;
        req-100k) args=(requests --connections "$CONNS" --body-size 102400) ;;
        h2-1k) args=(requests --http2 --streams "$H2_STREAMS" --connections "$H2_CONNS" --body-size 1024) ;;
    esac
    # shellcheck disable=SC2086
    before=$(cpu_ticks $pids) t0=$(date +%s%N)
    out=$(taskset -c $LOAD_CPU "$LOADGEN" "${args[@]}" --target "127.0.0.1:${PORT[$peer.$kind]}" \
        --path /sas/bench --duration "$DURATION" --label "$peer" "${TLS_ARGS[@]}")
    # shellcheck disable=SC2086
    after=$(cpu_ticks $pids) t1=$(date +%s%N)
    echo "$out" >>"$TMP/loadgen.out"
    line=$(head -n1 <<<"$out")
    jq -c --arg peer "$peer" --arg fig "$fig" --argjson rep "$rep" \
        --argjson ticks $((after - before)) --argjson hz "$(getconf CLK_TCK)" \
        --argjson wall_ns $((t1 - t0)) \
        '. + {peer: $peer, figure: $fig, rep: $rep, proxy_cpu_s: ($ticks / $hz), wall_s: ($wall_ns / 1e9)}' \
        <<<"$line" >>"$RESULTS"
    tail -n1 <<<"$out" >&2
    if [[ $fig == handshakes-resumed ]]; then
        # Of the handshakes after each worker's first (which has no session to resume).
        frac=$(jq '(.resumed // .resumed_handshakes) as $r | (.full // .full_handshakes) as $f
            | ($r + $f - ([$f, .concurrency // 0] | min)) as $t | if $t > 0 then $r / $t else 0 end' <<<"$line")
        if jq -e '. < 0.9' <<<"$frac" >/dev/null; then
            log "!!!!!! $peer resumed only $(jq '. * 100 | floor' <<<"$frac") % of its handshakes (< 90 %): not a resumption figure"
        fi
    fi
}

# wait_line file key pid seconds: the first line of file with "key", while pid lives.
wait_line() {
    local deadline=$((SECONDS + $4)) line
    while ((SECONDS < deadline)); do
        line=$(grep -m1 "\"$2\"" "$1" || true)
        if [[ -n $line ]]; then echo "$line"; return 0; fi
        if ! kill -0 "$3" 2>/dev/null; then
            line=$(grep -m1 "\"$2\"" "$1" || true)
            [[ -n $line ]] && echo "$line"
            [[ -n $line ]]; return
        fi
        sleep 0.2
    done
    return 1
}
# Memory of idle connections. Each run gets a fresh proxy process with the main listener's
# settings (an allocator keeps what earlier figures freed, which would hide the growth): started
# on core 0, warmed up with 300 ms of requests (2 connections), sampled (baseline). Then loadgen
# idle opens IDLE_N connections (one request each), prints a "ready" line and holds them until its
# stdin (a fifo, held open here) reaches EOF; then it closes them and prints a "closed" line.
run_idle() { # peer figure rep
    local peer=$1 fig=$2 rep=$3 proto=() base open closed ready gone lpid hold out
    local port=${PORT[$peer.idle]}
    if [[ $fig == idle-h2 ]]; then proto=(--http2); fi
    start_idle_peer "$peer"
    wait_port "$port"
    out=$(taskset -c $LOAD_CPU "$LOADGEN" requests "${proto[@]}" --connections 2 --duration 300ms --warmup 0s \
        --target "127.0.0.1:$port" --path /sas/bench "${TLS_ARGS[@]}" | head -n1)
    if [[ $(jq .errors <<<"$out") != 0 ]]; then log "$fig on $peer: warm-up failed: $out"; exit 1; fi
    sleep 1
    # shellcheck disable=SC2086
    base=$(mem_sample $IDLE_PIDS)
    rm -f "$TMP/idle.in" "$TMP/idle.out"
    mkfifo "$TMP/idle.in"
    taskset -c $LOAD_CPU "$LOADGEN" idle --connections "$IDLE_N" "${proto[@]}" --concurrency 64 \
        --target "127.0.0.1:$port" --path /sas/bench --label "$peer" "${TLS_ARGS[@]}" \
        <"$TMP/idle.in" >"$TMP/idle.out" 2>>"$TMP/idle.err" &
    lpid=$!
    exec {hold}>"$TMP/idle.in"
    if ! ready=$(wait_line "$TMP/idle.out" ready "$lpid" 600); then
        exec {hold}>&-
        log "$fig on $peer: loadgen idle never got ready: $(tail -n3 "$TMP/idle.err")"; exit 1
    fi
    sleep 2
    # shellcheck disable=SC2086
    open=$(mem_sample $IDLE_PIDS)
    exec {hold}>&-
    if ! gone=$(wait_line "$TMP/idle.out" closed "$lpid" 120); then
        log "$fig on $peer: loadgen idle did not close: $(tail -n3 "$TMP/idle.err")"; exit 1
    fi
    wait "$lpid"
    sleep 3
    # shellcheck disable=SC2086
    closed=$(mem_sample $IDLE_PIDS)
    # shellcheck disable=SC2086
    stop_idle_peer $IDLE_PIDS
    cat "$TMP/idle.out" >>"$TMP/loadgen.out"
    jq -n -c --arg peer "$peer" --arg fig "$fig" --argjson rep "$rep" --argjson n "$IDLE_N" \
        --argjson ready "$ready" --argjson gone "$gone" --argjson base "$base" --argjson open "$open" \
        --argjson closed "$closed" \
        '{peer: $peer, figure: $fig, rep: $rep, connections: $n} + $ready + $gone
         + {mem_base: $base, mem_open: $open, mem_closed: $closed}' >>"$RESULTS"
    jq -r '"# \(.figure) \(.peer): \(.ready) ready in \(.seconds) s (errors \(.errors)), RSS KiB before"
        + " \(.mem_base.rss_kib), open \(.mem_open.rss_kib), closed \(.mem_closed.rss_kib)"' <<<"$(tail -n1 "$RESULTS")" >&2
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "measuring: $REPS reps x figures ($FIGURES) x 3 peers, $DURATION each (+1s warm-up for requests)"
for rep in $(seq "$REPS"); do
    for fig in $FIGURES; do
        for peer in $PEERS; do
            case $fig in
                idle-*) run_idle "$peer" "$fig" "$rep" ;;
                *-openssl) run_openssl "$peer" "$fig" "$rep" ;;
                *) run_one "$peer" "$fig" "$rep" ;;
            esac
        done
        if [[ $fig == handshakes ]]; then
            "$ROOT/bench/bound.sh" measure "$BOUND_EXE" "$PROXY_CPU" |
                jq -c --argjson rep "$rep" '. + {figure: "bound", peer: "-", rep: $rep}' >>"$RESULTS"
            log "crypto bound: $(tail -n1 "$RESULTS" | jq .bound_us) µs"
        fi
    done
done

# --- 7. report -------------------------------------------------------------------------------
echo
echo "Date: $(date -u +%Y-%m-%dT%H:%MZ)  Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "gateway: $GW_DESC (TOKIO_WORKER_THREADS=1), nginx: $("$NGINX" -v 2>&1 | cut -d/ -f2) (worker_processes 1)," \
    "haproxy: $("$HAPROXY" -v | head -n1 | cut -d' ' -f3) (nbthread 1), all on OpenSSL/rustls defaults, TLS 1.2+1.3, X25519 offered." \
    "Proxy on core $PROXY_CPU, loadgen+upstream on core $LOAD_CPU. Access logs: $ACCESS_LOG. Revocation listeners: $REVOCATION."
echo "Load average before/after the measurements: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews rates; CPU per op is less sensitive)."
echo "Medians of $REPS runs of $DURATION; handshakes: concurrency $HS_CONC, no resumption (no session cache, no tickets on any peer);" \
    "HTTP/1.1 requests: $CONNS keep-alive connections; HTTP/2: $H2_CONNS connections x $H2_STREAMS streams; upstream HTTP/1.1 keep-alive."
if has_fig handshakes-resumed; then
    echo "Resumed handshakes: stateful session cache (gateway session_cache_size 20000, nginx ssl_session_cache shared:SSL:10m," \
        "haproxy tune.ssl.cachesize 20000; no stateless tickets), revocation on: 100k CRL + root CRL, and OCSP (gateway, nginx)."
fi
if [[ $KINDS != main ]]; then
    echo "HAProxy 2.6 does not check client certificates by OCSP: its revocation listeners check the CRLs only."
fi
if has_fig idle-h1 || has_fig idle-h2; then
    echo "Idle: per run a fresh proxy process (main listener's settings), warmed up by 300 ms of requests; then $IDLE_N" \
        "mTLS keep-alive connections from one address (one request each); RSS/PSS of the proxy's processes (nginx:" \
        "master+worker) 2 s after all are open minus before, per connection; after close: 3 s after they are closed."
fi
openssl_client_describe
python3 "$ROOT/bench/summary.py" "$RESULTS"

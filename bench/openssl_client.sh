# shellcheck shell=bash
# Sourced by bench/run.sh: the figures measured with an OpenSSL client instead of loadgen (rustls),
# so that the goals of issue 16 can be checked "with both clients". wrk and h2load cannot present
# a client certificate, hence:
#   handshakes-openssl  BENCH_OPENSSL_PROCS (default BENCH_HS_CONCURRENCY) `openssl s_time -new
#                       -tls1_3 -www /sas/bench` processes in parallel on the load core, each one
#                       connection at a time: full TLS 1.3 handshake with the client certificate,
#                       `GET /sas/bench HTTP/1.0` (no Host, no SNI), read to EOF, close. No server
#                       verification (s_time's default, like loadgen --no-verify-server). s_time
#                       ignores HTTP statuses: the peer's access log must show one 200 per connection.
#   req-1k-openssl      BENCH_CONNECTIONS keep-alive connections of 1 KiB POSTs, one in flight on
#                       each, from BENCH_OPENSSL_REQ_CLIENT:
#                       ab       (default) ApacheBench -k -E: OpenSSL itself, client certificate,
#                                HTTP/1.0 keep-alive, no server verification;
#                       haproxy  wrk (plain HTTP/1.1, Lua POST) into a local HAProxy whose backend
#                                is `ssl crt ... ca-file ... verify required`, http-reuse never;
#                       stunnel  wrk into stunnel4 in client mode (verifyChain, checkHost).
#                       Each keeps exactly one TLS connection to the peer per client connection
#                       (checked with ss before measuring).
# Why ab by default: in short runs on this 2-core machine the OpenSSL side cost, per request, about
# 17-26 µs with ab, 37-69 µs with wrk + haproxy and 61-100 µs with wrk + stunnel (a second TCP hop,
# and stunnel's thread per connection): ab leaves the most of the load core for driving the proxy.
# With stunnel the proxy core stayed 36-56 % busy (bench/README.md).
# s_time is not cheap either (1.8-2.5 ms of client CPU per handshake, OpenSSL 3.0): the proxy
# core stays well below busy whatever the number of processes; compare CPU per handshake.
#
# Knobs: BENCH_OPENSSL_PROCS, BENCH_OPENSSL_REQ_CLIENT (ab|haproxy|stunnel). Durations:
# BENCH_DURATION rounded up to whole seconds, no warm-up.
# Uses run.sh's globals and helpers: ROOT PKI TMP PEERS PORT PROC LOAD_CPU DURATION CONNS HS_CONC
# RESULTS ACCESS_LOG PIDS HAPROXY, log install_pkg has_fig wait_port cpu_ticks free_ports.

OSSL_PROCS=${BENCH_OPENSSL_PROCS:-$HS_CONC}
OSSL_REQ_CLIENT=${BENCH_OPENSSL_REQ_CLIENT:-ab}
OSSL_CERT=(-cert "$PKI/clients/sas-recette.pem" -key "$PKI/clients/sas-recette.key" -CAfile "$PKI/ca-bundle.pem")
declare -A OSSL_PORT=()

req_client_name() {
    case $OSSL_REQ_CLIENT in ab) echo "ab -k" ;; *) echo "wrk + $OSSL_REQ_CLIENT" ;; esac
}
ossl_wanted() { has_fig handshakes-openssl || has_fig req-1k-openssl; }

# s_time, ab and wrk take whole seconds: BENCH_DURATION (6s, 1.5s, 300ms, 1m) rounded up, at least 1.
ossl_seconds() {
    awk -v d="$DURATION" 'BEGIN {
        f = d ~ /ms$/ ? 0.001 : d ~ /m$/ ? 60 : 1; v = d + 0; s = v * f
        n = int(s); if (n < s) n++; print (n < 1 ? 1 : n) }'
}

# utime+stime (clock ticks) of this shell's waited-for children: s_time, ab, wrk are short-lived
# children, gone before /proc could be read, and their time lands here once they are reaped.
child_ticks() { awk '{print $16 + $17}' "/proc/$$/stat"; }

# --- the TLS client under wrk ------------------------------------------------------------------
write_stunnel_config() {
    local peer
    cat <<EOF
foreground = yes
pid =
debug = 3
output = $TMP/stunnel.log
EOF
    for peer in $PEERS; do
        # One TLS connection per accepted TCP connection; TCP_NODELAY is stunnel's default on
        # both sides. cert holds the leaf and the intermediate, sent as loadgen sends them.
        cat <<EOF
[$peer]
client = yes
accept = 127.0.0.1:${OSSL_PORT[$peer]}
connect = 127.0.0.1:${PORT[$peer.main]}
cert = $PKI/clients/sas-recette.pem
key = $PKI/clients/sas-recette.key
CAfile = $PKI/ca-bundle.pem
verifyChain = yes
checkHost = localhost
sni = localhost
EOF
    done
}
write_haproxy_client_config() {
    local peer
    cat "$PKI/clients/sas-recette.pem" "$PKI/clients/sas-recette.key" >"$TMP/haproxy-client.pem"
    cat <<EOF
global
    nbthread 1
    maxconn 1000
defaults
    mode http
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
    # One server connection per wrk connection, kept for its lifetime and never shared: the peer
    # sees exactly BENCH_CONNECTIONS keep-alive TLS connections, as with loadgen.
    http-reuse never
EOF
    for peer in $PEERS; do
        cat <<EOF
frontend $peer
    bind 127.0.0.1:${OSSL_PORT[$peer]}
    default_backend $peer
backend $peer
    # no-ssl-reuse: no resumption attempts (the peers have resumption off anyway).
    server $peer 127.0.0.1:${PORT[$peer.main]} ssl crt $TMP/haproxy-client.pem ca-file $PKI/ca-bundle.pem verify required verifyhost localhost sni str(localhost) no-ssl-reuse
EOF
    done
}

# openssl_client_setup: after the peers are up. Installs the client's packages, starts the TLS
# client of wrk (haproxy, stunnel) on the load core, and checks that both figures measure what
# they claim.
openssl_client_setup() {
    ossl_wanted || return 0
    OSSL_SECS=$(ossl_seconds)
    OSSL_CLIENT_PID=""
    local peer ports
    has_fig req-1k-openssl || { openssl_client_check; return 0; }
    case $OSSL_REQ_CLIENT in
        ab)
            install_pkg ab apache2-utils
            # -E wants the chain and the key in one file; loadgen's body (1 KiB).
            cat "$PKI/clients/sas-recette.pem" "$PKI/clients/sas-recette.key" >"$TMP/ab-client.pem"
            head -c 1024 /dev/zero | tr '\0' x >"$TMP/body-1k" ;;
        haproxy | stunnel)
            install_pkg wrk wrk
            read -r -a ports <<<"$(free_ports 3)"
            for peer in $PEERS; do OSSL_PORT[$peer]=${ports[0]}; ports=("${ports[@]:1}"); done
            # loadgen's body and content type; Host as loadgen's (its --server-name).
            cat >"$TMP/wrk-post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = string.rep("x", 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Host"] = "localhost"
-- One JSON line for run.sh; latencies are wrk's per-request histogram (microseconds).
done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format('{"ops":%d,"seconds":%.3f,"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,'
        .. '"errors":%d,"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"non_2xx":%d}\n',
        summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
        latency:percentile(99) / 1e3, latency.max / 1e3,
        e.connect + e.read + e.write + e.timeout + e.status, e.connect, e.read, e.write, e.timeout, e.status))
end
EOF
            if [[ $OSSL_REQ_CLIENT == stunnel ]]; then
                install_pkg stunnel4 stunnel4
                write_stunnel_config >"$TMP/stunnel.conf"
                taskset -c "$LOAD_CPU" stunnel4 "$TMP/stunnel.conf" >"$TMP/stunnel.out" 2>&1 &
            else
                write_haproxy_client_config >"$TMP/haproxy-client.cfg"
                "$HAPROXY" -c -q -f "$TMP/haproxy-client.cfg"
                taskset -c "$LOAD_CPU" "$HAPROXY" -db -f "$TMP/haproxy-client.cfg" >"$TMP/haproxy-client.out" 2>&1 &
            fi
            OSSL_CLIENT_PID=$!
            PIDS+=("$OSSL_CLIENT_PID")
            for peer in $PEERS; do wait_port "${OSSL_PORT[$peer]}"; done ;;
        *) log "BENCH_OPENSSL_REQ_CLIENT: ab, haproxy or stunnel, not '$OSSL_REQ_CLIENT'"; exit 64 ;;
    esac
    openssl_client_check
}

# req_load peer seconds: BENCH_CONNECTIONS keep-alive connections of 1 KiB POSTs to the peer for
# that long, from the load core; prints one JSON line (ops seconds p50_ms p99_ms max_ms errors...).
req_load() {
    local peer=$1 secs=$2 out rc=0
    if [[ $OSSL_REQ_CLIENT == ab ]]; then
        # -n: ab's -t alone stops at 50,000 requests, and ab allocates 32 bytes per request of -n
        # up front: room for 100,000/s. -k: HTTP/1.0 with Connection: Keep-Alive.
        out=$(taskset -c "$LOAD_CPU" ab -q -k -c "$CONNS" -t "$secs" -n $((secs * 100000)) -E "$TMP/ab-client.pem" \
            -p "$TMP/body-1k" -T application/octet-stream -H 'Host: localhost' -e "$TMP/ab.csv" \
            "https://127.0.0.1:${PORT[$peer.main]}/sas/bench" 2>&1) || rc=$?
        echo "$out" >>"$TMP/req-openssl.out"
        ab_json "$out" "$TMP/ab.csv" "$rc"
    else
        out=$(taskset -c "$LOAD_CPU" wrk -t1 -c "$CONNS" -d "${secs}s" --latency -s "$TMP/wrk-post.lua" \
            "http://127.0.0.1:${OSSL_PORT[$peer]}/sas/bench" 2>&1) || true
        echo "$out" >>"$TMP/req-openssl.out"
        grep '^{' <<<"$out" || echo '{"ops":0,"seconds":1,"errors":-1}'
    fi
}
# ab_json output csv exit-status: ab's report as the JSON line of wrk's done() above. Latencies
# from ab's percentile CSV (-e, ms); reconnects: requests that were not on a kept-alive connection.
ab_json() {
    local p50 p99 max
    p50=$(awk -F, '$1 == 50 {print $2}' "$2" 2>/dev/null || true)
    p99=$(awk -F, '$1 == 99 {print $2}' "$2" 2>/dev/null || true)
    max=$(awk -F, '$1 == 100 {print $2}' "$2" 2>/dev/null || true)
    awk -v rc="$3" -v p50="${p50:-null}" -v p99="${p99:-null}" -v max="${max:-null}" '
        /^Complete requests:/ {ops = $3}
        /^Failed requests:/ {failed = $3}
        /^Non-2xx responses:/ {non2xx = $3}
        /^Write errors:/ {werr = $3}
        /^Keep-Alive requests:/ {ka = $3}
        /^Time taken for tests:/ {secs = $5}
        /^SSL\/TLS Protocol:/ {tls = $3}
        END {
            printf "{\"ops\":%d,\"seconds\":%s,\"p50_ms\":%s,\"p99_ms\":%s,\"max_ms\":%s,\"errors\":%d,\"failed\":%d,", \
                ops, secs ? secs : 1, p50, p99, max, failed + non2xx + werr + (rc != 0), failed
            printf "\"non_2xx\":%d,\"write_errors\":%d,\"reconnects\":%d,\"tls\":\"%s\",\"exit\":%d}\n", \
                non2xx, werr, ops - ka, tls, rc
        }' <<<"$1"
}

# The peer's access log, and what a 200 for the path looks like in it.
access_log_of() {
    case $1 in
        gateway) echo "$TMP/gateway.log" ;; nginx) echo "$TMP/nginx-access.log" ;; haproxy) echo "$TMP/haproxy-access.log" ;;
    esac
}
access_200_re() {
    case $1 in
        gateway) echo '"status":200[,}]' ;; nginx) echo '" 200 [0-9]+ ' ;; haproxy) echo '[0-9]+ 200 [0-9]+ ' ;;
    esac
}

openssl_client_check() {
    local peer peer_port out n wpid suites=""
    if has_fig handshakes-openssl; then
        # s_time's exact request (HTTP/1.0, no Host, no SNI: -connect is an address) with its
        # certificate options: a new TLS 1.3 session, answered 200 by the upstream ("ok 0"),
        # and closed by the peer (s_time reads to EOF: a peer keeping the connection open would
        # stall it; timeout catches that).
        for peer in $PEERS; do
            peer_port=${PORT[$peer.main]}
            out=$(printf 'GET /sas/bench HTTP/1.0\r\n\r\n' | timeout 10 openssl s_client -connect "127.0.0.1:$peer_port" \
                -tls1_3 "${OSSL_CERT[@]}" -ign_eof 2>&1 || echo "s_client failed or timed out")
            if ! grep -q '^New, TLSv1.3' <<<"$out" || ! grep -q '^HTTP/1.[01] 200' <<<"$out" ||
                ! grep -q '^ok 0' <<<"$out" || grep -q 'timed out' <<<"$out"; then
                log "handshakes-openssl check failed on $peer: $(grep -E '^(New|HTTP|ok|s_client)|error' <<<"$out" | head -5)"
                exit 1
            fi
            suites="$suites $peer $(sed -n 's/^New, TLSv1.3, Cipher is //p' <<<"$out" | head -n1);"
        done
        log "handshakes-openssl: s_time's request (new TLS 1.3 session, HTTP/1.0, client certificate) answered 200" \
            "and the connection closed by all three;$suites"
    fi
    if has_fig req-1k-openssl; then
        # 2 s of load: 0 errors, all requests on kept-alive connections, and exactly one TLS
        # connection to the peer per client connection (ab's own, or haproxy's/stunnel's for wrk's).
        for peer in $PEERS; do
            peer_port=${PORT[$peer.main]}
            req_load "$peer" 2 >"$TMP/req-check.json" &
            wpid=$!
            sleep 1
            n=$(ss -Htn state established "( dport = :$peer_port )" | wc -l)
            wait "$wpid" || true
            out=$(cat "$TMP/req-check.json")
            if [[ $(jq .errors <<<"$out") != 0 || $(jq .ops <<<"$out") == 0 || $(jq '.reconnects // 0' <<<"$out") != 0 ||
                $n != "$CONNS" ]]; then
                log "req-1k-openssl check failed on $peer ($(req_client_name)): $n TLS connections to it (want $CONNS), client: $out"
                exit 1
            fi
        done
        log "req-1k-openssl: $(req_client_name): 0 errors, $CONNS TLS connections to each peer"
    fi
}

# --- measurements --------------------------------------------------------------------------------
run_openssl() { # peer figure rep
    case $2 in handshakes-openssl) run_handshakes_openssl "$1" "$3" ;; req-1k-openssl) run_req_openssl "$1" "$3" ;; esac
}
run_handshakes_openssl() { # peer rep
    local peer=$1 rep=$2 peer_port=${PORT[$1.main]} pids=${PROC[$1.main]} dir="$TMP/s_time" logf re
    local i f before after c0 c1 t0 t1 sp=() failed=0 n_conns=0 resumed=0 bytes=0 n marks
    local log_200=null log_other=null errors
    logf=$(access_log_of "$peer") re=$(access_200_re "$peer")
    mkdir -p "$dir"
    rm -f "$dir"/*
    local size0=0
    if [[ $ACCESS_LOG == on ]]; then size0=$(stat -c %s "$logf"); fi
    # shellcheck disable=SC2086
    before=$(cpu_ticks $pids) c0=$(child_ticks) t0=$(date +%s%N)
    for i in $(seq "$OSSL_PROCS"); do
        taskset -c "$LOAD_CPU" openssl s_time -connect "127.0.0.1:$peer_port" -new -tls1_3 -www /sas/bench \
            "${OSSL_CERT[@]}" -time "$OSSL_SECS" >"$dir/$i.out" 2>"$dir/$i.err" &
        sp+=($!)
    done
    for i in "${sp[@]}"; do wait "$i" || failed=$((failed + 1)); done
    # shellcheck disable=SC2086
    after=$(cpu_ticks $pids) c1=$(child_ticks) t1=$(date +%s%N)
    # s_time prints one character per connection: 'r' resumed, '*' a new TLS 1.3 (or 1.2) session
    # (-tls1_3: 1.3 only); it stops at the first failed connection, with a non-zero status.
    for f in "$dir"/*.out; do
        marks=$(grep -E '^[*rt]+$' "$f" | tr -d '\n' || true)
        n_conns=$((n_conns + ${#marks}))
        n=${marks//[^r]/}
        resumed=$((resumed + ${#n}))
        n=$(sed -n 's/.*bytes read \([0-9]*\)$/\1/p' "$f")
        bytes=$((bytes + ${n:-0}))
    done
    # Each counted connection got its response: the peer logged a 200 for the path (the access
    # log is the only trace at nginx and haproxy; s_time ignores HTTP statuses).
    if [[ $ACCESS_LOG == on ]]; then
        sleep 0.3 # the gateway's log writer flushes every 5 ms
        log_200=$(tail -c +$((size0 + 1)) "$logf" | grep '/sas/bench' | grep -cE "$re" || true)
        log_other=$(tail -c +$((size0 + 1)) "$logf" | grep '/sas/bench' | grep -cvE "$re" || true)
    fi
    errors=$failed
    if [[ $log_200 != null ]]; then errors=$((errors + log_other + (log_200 < n_conns ? n_conns - log_200 : 0))); fi
    cat "$dir"/*.err >>"$TMP/s_time.err"
    jq -n -c --arg peer "$peer" --argjson rep "$rep" --argjson n_conns "$n_conns" --argjson resumed "$resumed" \
        --argjson errors "$errors" --argjson failed "$failed" --argjson procs "$OSSL_PROCS" \
        --argjson bytes "$bytes" --argjson log_200 "$log_200" --argjson log_other "$log_other" \
        --argjson ticks $((after - before)) --argjson cticks $((c1 - c0)) --argjson hz "$(getconf CLK_TCK)" \
        --argjson wall_ns $((t1 - t0)) \
        '{label: $peer, peer: $peer, figure: "handshakes-openssl", rep: $rep, client: "openssl s_time",
          ops: $n_conns, full: ($n_conns - $resumed), resumed: $resumed, errors: $errors,
          failed_processes: $failed, processes: $procs, log_200: $log_200, log_other: $log_other,
          bytes_per_conn: (if $n_conns > 0 then $bytes / $n_conns else 0 end),
          rate_per_s: ($n_conns / ($wall_ns / 1e9)), proxy_cpu_s: ($ticks / $hz),
          client_cpu_s: ($cticks / $hz), wall_s: ($wall_ns / 1e9)}' >>"$RESULTS"
    ossl_report
}

run_req_openssl() { # peer rep
    local peer=$1 rep=$2 pids=${PROC[$1.main]} before after c0 c1 k0=0 k1=0 t0 t1 line
    # shellcheck disable=SC2086
    before=$(cpu_ticks $pids) c0=$(child_ticks) t0=$(date +%s%N)
    if [[ -n $OSSL_CLIENT_PID ]]; then k0=$(cpu_ticks "$OSSL_CLIENT_PID"); fi
    line=$(req_load "$peer" "$OSSL_SECS")
    # shellcheck disable=SC2086
    after=$(cpu_ticks $pids) c1=$(child_ticks) t1=$(date +%s%N)
    if [[ -n $OSSL_CLIENT_PID ]]; then k1=$(cpu_ticks "$OSSL_CLIENT_PID"); fi
    # client_cpu_s: ab, or wrk and its TLS client: the OpenSSL side of the load core (the upstream
    # shares that core too).
    jq -c --arg peer "$peer" --argjson rep "$rep" --arg client "$(req_client_name)" \
        --argjson ticks $((after - before)) --argjson cticks $((c1 - c0 + k1 - k0)) \
        --argjson hz "$(getconf CLK_TCK)" --argjson wall_ns $((t1 - t0)) --argjson n_conns "$CONNS" \
        '. + {label: $peer, peer: $peer, figure: "req-1k-openssl", rep: $rep, client: $client,
          connections: $n_conns, rate_per_s: (.ops / .seconds), proxy_cpu_s: ($ticks / $hz),
          client_cpu_s: ($cticks / $hz), wall_s: ($wall_ns / 1e9)}' <<<"$line" >>"$RESULTS"
    ossl_report
}

# One line per run on stderr, and a warning when the client, not the proxy, set the pace.
ossl_report() {
    local line
    line=$(tail -n1 "$RESULTS")
    jq -r '"# \(.figure) \(.peer) (\(.client)): \(.rate_per_s | floor)/s, errors \(.errors), proxy core busy "
        + "\(.proxy_cpu_s / .wall_s * 100 | floor) %, OpenSSL client CPU \(.client_cpu_s / .wall_s * 100 | floor) % of the run"' <<<"$line" >&2
    if jq -e '.proxy_cpu_s / .wall_s < 0.9' <<<"$line" >/dev/null; then
        log "!!!!!! $(jq -r '"\(.figure) \(.peer): the proxy core was busy only \(.proxy_cpu_s / .wall_s * 100 | floor) %, so it did not"
            + " set the rate (load core: \(.client) \(.client_cpu_s / .wall_s * 100 | floor) %, plus the upstream and any other work); compare CPU per op"' <<<"$line")"
    fi
}

openssl_client_describe() {
    local req
    ossl_wanted || return 0
    case $OSSL_REQ_CLIENT in
        ab) req="ab -k -c $CONNS (OpenSSL; HTTP/1.0 keep-alive, client certificate, no server verification)" ;;
        *) req="wrk -t1 -c $CONNS into $OSSL_REQ_CLIENT (OpenSSL; client certificate, server verified; one TLS connection to the peer per wrk connection)" ;;
    esac
    echo "OpenSSL client figures, ${OSSL_SECS} s runs, no warm-up, all on core $LOAD_CPU with the upstream: handshakes-openssl:" \
        "$OSSL_PROCS openssl s_time -new -tls1_3 -www processes (HTTP/1.0 GET, one connection at a time each, no server" \
        "verification); req-1k-openssl: $req."
}

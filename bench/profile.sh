#!/usr/bin/env bash
# Where the gateway's CPU goes (issue 16): the release gateway on core 0 (one worker thread,
# access log at info), a load from core 1, `perf record -e cpu-clock` on the gateway for
# SECONDS_PROFILED, then the samples grouped by what they do, and the top symbols.
#   handshakes: full mTLS handshakes (no resumption, one GET each), 16 at a time;
#   requests:   keep-alive POSTs of 1 KiB on 16 mTLS connections (the small-request path);
#   h2:         POSTs of 1 KiB on 16 HTTP/2 mTLS connections x 64 streams (HTTP/1.1 upstream).
# Hardware counters are not available on this VM; cpu-clock sampling is. perf.data is kept.
# CALL_GRAPH=dwarf,16384 follows calls through libc (memcpy, malloc) at a larger perf.data.
#
#   bench/profile.sh handshakes|requests|h2      # needs perf (linux-perf), taskset
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench}
SECONDS_PROFILED=${SECONDS_PROFILED:-10}
MODE=${1:-handshakes}
case $MODE in
    handshakes) LOAD=(handshakes --concurrency 16 --no-verify-server) ;;
    requests) LOAD=(requests --connections 16 --body-size 1024 --warmup 0s) ;;
    h2) LOAD=(requests --http2 --connections 16 --streams 64 --body-size 1024 --warmup 0s) ;;
    *) echo "usage: $0 handshakes|requests|h2" >&2; exit 2 ;;
esac
PKI="$ROOT/certs-test/pki"
TMP=$(mktemp -d /tmp/gw-profile.XXXXXX)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
PIDS=()
# shellcheck disable=SC2154 # p is the loop's own variable, assigned when the trap runs
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; echo "perf.data and logs in $TMP" >&2' EXIT

log "building the gateway and loadgen (release, debug info kept)"
export_gateway with-bench
(cd "$GW_SRC" && CARGO_TARGET_DIR="$GW_TARGET" cargo build --release -q -p gateway -p loadgen)
describe_gateway gateway mtls
B="$GW_TARGET/release"
read -r GW_PORT UP_PORT ADMIN_PORT < <(free_ports 3)
single_listener_config "$GW_PORT" "$UP_PORT" "$ADMIN_PORT" >"$TMP/gateway.yaml"
taskset -c 1 "$B/loadgen" upstream --bind "127.0.0.1:$UP_PORT" >"$TMP/upstream.log" 2>&1 &
PIDS+=($!)
TOKIO_WORKER_THREADS=1 taskset -c 0 "$B/gateway" run --config "$TMP/gateway.yaml" >"$TMP/gateway.log" 2>&1 &
GW=$!
PIDS+=("$GW")
sleep 1.5
taskset -c 1 "$B/loadgen" "${LOAD[@]}" --target "127.0.0.1:$GW_PORT" \
    --path /sas/bench --duration "$((SECONDS_PROFILED + 4))s" --ca "$PKI/ca-bundle.pem" \
    --cert "$PKI/clients/sas-recette.pem" --key "$PKI/clients/sas-recette.key" \
    --server-name localhost >"$TMP/load.out" 2>&1 &
LG=$!
sleep 2
perf record -q -e cpu-clock -F 1999 --call-graph "${CALL_GRAPH:-fp}" -o "$TMP/perf.data" -p "$GW" -- sleep "$SECONDS_PROFILED" 2>/dev/null
wait "$LG"

echo "Gateway: $GW_DESC (release, one worker thread on core 0; loadgen on core 1)."
tail -n1 "$TMP/load.out"
echo
echo "| where | share of the gateway's CPU |"
echo "|---|---:|"
perf report -i "$TMP/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null |
    grep -E '^\s+[0-9.]+%' | awk '{
        p = $1; sub("%", "", p); dso = $2; sym = $4
        c = "the rest of the gateway (rustls state machine, hyper, tokio, routing, access log)"
        if (dso ~ /kernel/) c = "kernel (TCP accept/close, syscalls, scheduling)"
        else if (sym ~ /rsaz|bn_|BN_|RSA|mont|mod_exp|extract_multiplier/) c = "RSA-2048 (aws-lc bignum)"
        else if (sym ~ /x25519|curve25519/) c = "X25519"
        else if (sym ~ /sha512|sha256|SHA|hmac|HMAC/) c = "SHA-2 / HMAC (transcript, HKDF)"
        else if (sym ~ /aes|gcm|GCM|AES/) c = "AES-GCM"
        else if (dso ~ /libc/) c = "libc (malloc, memcpy)"
        else if (sym ~ /webpki|(^|[^a-z])der::|x509|untrusted/) c = "webpki / certificate parsing"
        else if (sym ~ /rustls/) c = "rustls"
        share[c] += p
    } END { for (k in share) printf "| %s | %.1f %% |\n", k, share[k] }' | sort -t'|' -k3 -rn
echo
echo "Top symbols (self time):"
perf report -i "$TMP/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null |
    grep -E '^\s+[0-9.]+%' | head -n "${TOP:-30}"

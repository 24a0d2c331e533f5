#!/usr/bin/env bash
# Two gateway binaries, alternated on the same load: did a change move the CPU per request? On
# this shared 2-core machine the speed drifts by 20-40 % within minutes, more than most changes
# move a figure; alternating short runs and taking the median of the pairs' ratios cancels most
# of the drift. Keep-alive POSTs of 1 KiB on 16 mTLS connections (loadgen), each binary on core 0
# with one worker thread, loadgen and the upstream on core 1, access log on (JSON, to a file).
#
#   bench/ab.sh OLD_BINARY NEW_BINARY        # ROUNDS (10), SECS (3), MODE (h1 | h2: 16 x 64 streams)
# Build an old commit with e.g.: git archive REV | tar -x -C /tmp/old && (cd /tmp/old &&
#   CARGO_TARGET_DIR=/work/target-old cargo build --release -p gateway)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OLD=$1 NEW=$2
ROUNDS=${ROUNDS:-10} SECS=${SECS:-3} MODE=${MODE:-h1}
PKI="$ROOT/certs-test/pki"
TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench}
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
LOADGEN=$TARGET_DIR/release/loadgen
log "building loadgen (release, target dir $TARGET_DIR)"
(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release -q -p loadgen)
TMP=$(mktemp -d /tmp/gw-ab.XXXXXX)
read -r UP < <(free_ports 1)
taskset -c 1 "$LOADGEN" upstream --bind "127.0.0.1:$UP" >"$TMP/upstream.log" 2>&1 &
UP_PID=$!
trap 'kill "$UP_PID" 2>/dev/null || true' EXIT
HZ=$(getconf CLK_TCK)
if [[ $MODE == h2 ]]; then LOAD=(--http2 --connections 16 --streams 64); else LOAD=(--connections 16); fi
for round in $(seq 1 "$ROUNDS"); do
    for which in old new; do
        if [[ $which == old ]]; then bin=$OLD; else bin=$NEW; fi
        read -r port < <(free_ports 1)
        single_listener_config "$port" "$UP" >"$TMP/gateway.yaml"
        TOKIO_WORKER_THREADS=1 taskset -c 0 "$bin" run --config "$TMP/gateway.yaml" >"$TMP/gateway-$which.log" 2>&1 &
        gw=$!
        sleep 1
        taskset -c 1 "$LOADGEN" requests "${LOAD[@]}" --body-size 1024 --warmup 1s --duration "${SECS}s" \
            --target "127.0.0.1:$port" --path /sas/bench --ca "$PKI/ca-bundle.pem" \
            --cert "$PKI/clients/sas-recette.pem" --key "$PKI/clients/sas-recette.key" \
            --server-name localhost >"$TMP/load.json" 2>/dev/null &
        lg=$!
        # The measured window only: after loadgen's warm-up, for its duration.
        sleep 1.1
        t0=$(cpu_ticks "$gw")
        sleep "$SECS"
        t1=$(cpu_ticks "$gw")
        wait "$lg"
        kill "$gw"
        wait "$gw" 2>/dev/null || true
        jq -c --arg which "$which" --argjson round "$round" --argjson ticks "$((t1 - t0))" \
            --argjson hz "$HZ" --argjson secs "$SECS" \
            '{round: $round, which: $which, rate: .rate_per_s, errors: .errors,
              cpu_us_per_req: ($ticks * 1e6 / $hz / (.rate_per_s * $secs))}' \
            <(head -n1 "$TMP/load.json") | tee -a "$TMP/results.jsonl"
    done
done
jq -s -r 'def r3: . * 1000 | round / 1000;
    group_by(.round) | map(.[1].cpu_us_per_req / .[0].cpu_us_per_req) | sort
    | (if length % 2 == 0 then (.[length / 2 - 1] + .[length / 2]) / 2 else .[length / 2 | floor] end) as $median
    | "new/old CPU per request: median \($median | r3), range \(.[0] | r3)-\(.[-1] | r3) over \(length) pairs, \(map(select(. < 1)) | length) below 1"' \
    "$TMP/results.jsonl"

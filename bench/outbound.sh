#!/usr/bin/env bash
# Outbound calls with a client identity (issue 11): outbound handshakes per second with a file
# identity versus a CPS card through the fake agent at 0 ms and at 300 ms per signature, and the
# latency of an unrelated inbound route (a plain proxy route) measured meanwhile, with and
# without the slow agent's load. See bench/README.md, "Outbound calls with a client identity".
#
# Usage: bench/outbound.sh         (no root needed; ~1.5 minutes after the build)
# Knobs (environment): CARGO_TARGET_DIR (/work/target-bench), BENCH_OUT_SECONDS (15 per phase),
#   BENCH_OUT_CALLERS (16), BENCH_OUT_AGENT_DELAY_MS (300), BENCH_OUT_PHASES
#   (idle,file,file13,agent0,agent-slow), BENCH_GATEWAY_REV (build the gateway from that
#   commit, as in run.sh; the bench is the working tree's, built inside the export).
#
# Layout on a 2-core machine, as in run.sh: the gateway on core 0 (taskset, TOKIO_WORKER_THREADS=1),
# the `outbound` process (callers, partner, fake agent, plain upstream, probe) on core 1. The
# partner closes every connection after its answer and keeps no TLS session, so every outbound
# call is a new full handshake (the partner counts them). Ports are picked free.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PKI="$ROOT/certs-test/pki"
TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench}
PROXY_CPU=0 LOAD_CPU=1

TMP=$(mktemp -d /tmp/gw-bench-outbound.XXXXXX)
cleanup() {
    # The gateway is the `outbound` process's child; if that process died, kill its gateway.
    if [[ -f "$TMP/gateway.pid" ]]; then kill "$(cat "$TMP/gateway.pid")" 2>/dev/null || true; fi
    echo "logs and raw results kept in $TMP" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

# --- 1. build ------------------------------------------------------------------------------
log "building the gateway and loadgen's outbound (release, target dir $TARGET_DIR)"
export_gateway with-bench
(cd "$GW_SRC" && CARGO_TARGET_DIR="$GW_TARGET" cargo build --release -q -p gateway)
(cd "$GW_SRC" && CARGO_TARGET_DIR="$GW_TARGET" cargo build --release -q -p loadgen --bin outbound)
describe_gateway gateway mtls demo-upstream

# --- 2. run ----------------------------------------------------------------------------------
log "running (gateway on core $PROXY_CPU, outbound process on core $LOAD_CPU)"
echo "Date: $(date -u +%Y-%m-%dT%H:%MZ)  Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "Gateway: $GW_DESC (release)."
cd "$ROOT"
taskset -c $LOAD_CPU "$GW_TARGET/release/outbound" \
    --gateway "$GW_TARGET/release/gateway" --gateway-cpu $PROXY_CPU --gateway-threads 1 \
    --dir "$TMP" --pki "$PKI" --clk-tck "$(getconf CLK_TCK)" \
    --seconds "${BENCH_OUT_SECONDS:-15}" --callers "${BENCH_OUT_CALLERS:-16}" \
    --agent-delay-ms "${BENCH_OUT_AGENT_DELAY_MS:-300}" \
    --phases "${BENCH_OUT_PHASES:-idle,file,file13,agent0,agent-slow}" | tee "$TMP/results.txt"

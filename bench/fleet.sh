#!/usr/bin/env bash
# Fleet (issue 13): the alert route's SOAP calls per second on one gateway instance, then on two
# instances sharing one Redis, pinned to CPU 0 and CPUs 0 and 1; whether the shared state bounds
# the fleet (Redis' CPU and commands per call are reported with each figure).
#
#   bench/fleet.sh                      # 16 connections, 10 s a figure
#   BENCH_FLEET_SECONDS=20 BENCH_FLEET_CONNECTIONS=32 bench/fleet.sh
#
# Options (environment): CARGO_TARGET_DIR (/work/target-bench), BENCH_GATEWAY_REV (build the
# gateway from that commit, as in run.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench}
SECONDS_EACH=${BENCH_FLEET_SECONDS:-10}
CONNECTIONS=${BENCH_FLEET_CONNECTIONS:-16}
TMP=$(mktemp -d /tmp/gw-fleet.XXXXXX)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

command -v redis-server >/dev/null || { echo "needs redis-server (apt install redis-server)" >&2; exit 1; }
log "building the gateway and loadgen's fleet (release, target dir $TARGET_DIR)"
export_gateway with-bench
(cd "$GW_SRC" && CARGO_TARGET_DIR="$GW_TARGET" cargo build --release -q -p gateway)
(cd "$GW_SRC" && CARGO_TARGET_DIR="$GW_TARGET" cargo build --release -q -p loadgen --bin fleet)
describe_gateway gateway mtls state adapters soap

echo "Date: $(date -u +%Y-%m-%dT%H:%MZ)  Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "Gateway: $GW_DESC (release, one worker thread each), $(redis-server --version | cut -d' ' -f3)."
"$GW_TARGET/release/fleet" --gateway "$GW_TARGET/release/gateway" --pki "$ROOT/certs-test/pki" \
    --connections "$CONNECTIONS" --seconds "$SECONDS_EACH" --dir "$TMP"
echo "(configurations and gateway logs in $TMP)" >&2

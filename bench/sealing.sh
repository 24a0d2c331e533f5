#!/usr/bin/env bash
# The sealing service (issue 12): the time the gateway adds per sealed document (signature check
# + PDF checks + queue, and the RFC 3161 timestamp) on the demo sealer, and the fairness of the
# queue for 20 callers against one token. See bench/README.md, "Sealing service".
#
# Usage: bench/sealing.sh          (no root needed; ~2 minutes after the build)
# Knobs (environment): CARGO_TARGET_DIR (/work/target-bench), BENCH_SEAL_DELAY_MS (100),
#   BENCH_SEAL_DOCUMENTS (100), BENCH_SEAL_PDF_SIZE (102400), BENCH_SEAL_CALLERS (20),
#   BENCH_SEAL_SECONDS (30), BENCH_SEAL_TSA (on|off: a TSA made of `openssl ts -reply`),
#   BENCH_GATEWAY_REV (build the gateway from that commit, as in run.sh).
#
# Layout on a 2-core machine, as in run.sh: the gateway on core 0 (taskset, TOKIO_WORKER_THREADS=1),
# the `sealing` process (callers, the demo sealer, the TSA) on core 1. Ports are picked free.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PKI="$ROOT/certs-test/pki"
TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench}
TSA=${BENCH_SEAL_TSA:-on}
PROXY_CPU=0 LOAD_CPU=1

TMP=$(mktemp -d /tmp/gw-bench-seal.XXXXXX)
cleanup() {
    # The gateway is the `sealing` process's child; if that process died, kill its gateway.
    if [[ -f "$TMP/gateway.pid" ]]; then kill "$(cat "$TMP/gateway.pid")" 2>/dev/null || true; fi
    echo "logs and raw results kept in $TMP" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

# --- 1. build ------------------------------------------------------------------------------
log "building the gateway and loadgen's sealing (release, target dir $TARGET_DIR)"
# BENCH_GATEWAY_REV=<commit>: the gateway (and the crates the bench links: demo-upstream, httpsig,
# mtls) from that commit, exported with git archive as in run.sh and documents.sh; the bench
# (bench/loadgen) is the working tree's, built inside the export.
export_gateway with-bench
(cd "$GW_SRC" && CARGO_TARGET_DIR="$GW_TARGET" cargo build --release -q -p gateway)
(cd "$GW_SRC" && CARGO_TARGET_DIR="$GW_TARGET" cargo build --release -q -p loadgen --bin sealing)
describe_gateway gateway mtls httpsig tsp demo-upstream

# --- 2. a TSA: a P-256 root and a TSA certificate (critical timeStamping EKU) --------------
TSA_ARGS=()
if [[ $TSA == on ]]; then
    log "making a TSA (openssl ts -reply per request) in $TMP/tsa"
    mkdir -p "$TMP/tsa"
    (
        cd "$TMP/tsa"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
            -out ca.pem -days 30 -subj "/CN=bench TSA root" 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tsa.key \
            -out tsa.csr -subj "/CN=bench TSA" 2>/dev/null
        printf 'extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\n' >ext.cnf
        openssl x509 -req -in tsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
            -extfile ext.cnf -out tsa.pem 2>/dev/null
        echo 01 >serial
        cat >ts.cnf <<EOF
[ tsa ]
default_tsa = tsa_default
[ tsa_default ]
dir = $TMP/tsa
serial = \$dir/serial
crypto_device = builtin
signer_cert = \$dir/tsa.pem
signer_key = \$dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha512
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
EOF
    )
    TSA_ARGS=(--tsa-dir "$TMP/tsa")
fi

# --- 3. run ----------------------------------------------------------------------------------
log "running (gateway on core $PROXY_CPU, sealing process on core $LOAD_CPU)"
echo "Date: $(date -u +%Y-%m-%dT%H:%MZ)  Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "Gateway: $GW_DESC (release). TSA: $TSA."
cd "$ROOT"
taskset -c $LOAD_CPU "$GW_TARGET/release/sealing" \
    --gateway "$GW_TARGET/release/gateway" --gateway-cpu $PROXY_CPU --gateway-threads 1 \
    --dir "$TMP" --pki "$PKI" --clk-tck "$(getconf CLK_TCK)" \
    --delay-ms "${BENCH_SEAL_DELAY_MS:-100}" --documents "${BENCH_SEAL_DOCUMENTS:-100}" \
    --pdf-size "${BENCH_SEAL_PDF_SIZE:-102400}" --callers "${BENCH_SEAL_CALLERS:-20}" \
    --seconds "${BENCH_SEAL_SECONDS:-30}" "${TSA_ARGS[@]}" | tee "$TMP/results.txt"

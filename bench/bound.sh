#!/usr/bin/env bash
# The crypto bound of one full mutual-TLS 1.3 handshake on this machine, now (issue 16, item 2):
# the server's RSA-2048 signature, X25519, the client chain's and CertificateVerify's
# verifications, timed by `mtls/benches/handshake_crypto.rs` (criterion) on one core.
#
# Why a script of its own: this machine's speed drifts by 20–30 % between runs and within one
# (bench/README.md), so a bound measured in another session says little about a handshake rate
# measured tonight. bench/run.sh measures it once per repetition of the `handshakes` figure, on
# the proxies' core, right after the three peers ran, and reports the bound next to each peer's
# CPU per handshake.
#
# Usage:
#   bench/bound.sh build            builds the bench binary (release), prints its path
#   bench/bound.sh measure EXE CPU  runs it pinned to CPU, prints one JSON line:
#                                   {"bound_us": …, "parts_us": {"<bench name>": median µs, …}}
# Knobs: CARGO_TARGET_DIR (/work/target-bench), BOUND_WARMUP (1 s), BOUND_MEASURE (2 s).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench}

case ${1:-} in
    build)
        (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo bench -q -p mtls --bench handshake_crypto \
            --no-run --message-format=json) |
            jq -r 'select(.reason == "compiler-artifact" and .target.name == "handshake_crypto"
                and .executable != null) | .executable' | tail -n1
        ;;
    measure)
        exe=${2:?usage: bound.sh measure EXE CPU} cpu=${3:?usage: bound.sh measure EXE CPU}
        home=$(mktemp -d)
        trap 'rm -rf "$home"' EXIT
        # criterion writes its estimates under CRITERION_HOME; the medians are read from there,
        # not from its console output. `--noplot`: no gnuplot run on the measured core.
        # Its progress lines go to a file, shown only if it fails.
        if ! (cd "$ROOT/mtls" && CRITERION_HOME="$home" taskset -c "$cpu" "$exe" --bench --noplot \
            --warm-up-time "${BOUND_WARMUP:-1}" --measurement-time "${BOUND_MEASURE:-2}" \
            >"$home/out.log" 2>&1); then
            tail -n 20 "$home/out.log" >&2
            exit 1
        fi
        python3 - "$home" <<'EOF'
import json, pathlib, sys
parts = {}
for est in pathlib.Path(sys.argv[1]).glob("**/new/estimates.json"):
    title = json.loads((est.parent / "benchmark.json").read_text())["title"]
    parts[title] = json.loads(est.read_text())["median"]["point_estimate"] / 1000
if len(parts) != 4:
    sys.exit(f"bound.sh: expected 4 criterion benchmarks, found {sorted(parts)}")
print(json.dumps({"bound_us": sum(parts.values()), "parts_us": parts}))
EOF
        ;;
    *)
        echo "usage: bench/bound.sh build | measure EXE CPU" >&2
        exit 64
        ;;
esac

#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each, JOBS at a time, each in one
# libFuzzer process, and prints a table of executions and findings; exits 1 if any target
# found a crash (saved under artifacts/<target>/, replayed as fuzz/README.md says).
#
#   fuzz/run.sh                          # every target, 600 s each, 2 at a time
#   SECONDS_EACH=60 fuzz/run.sh envelope request_path
#   NICE=19 fuzz/run.sh                  # in the idle time of a machine doing something else
#   SANITIZER=none fuzz/run.sh           # libFuzzer's coverage only, several times the executions/s
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); the nightly flags it passes are unlocked on the
# stable toolchain with RUSTC_BOOTSTRAP=1 (the stable toolchain ships the sanitizer runtimes).
set -euo pipefail
cd "$(dirname "$0")"

SECONDS_EACH=${SECONDS_EACH:-600}
JOBS=${JOBS:-2}
NICE=${NICE:-0}
# The targets are safe Rust: AddressSanitizer only watches the dependencies' unsafe code, at a
# fraction of the speed. `address` (the default) for the long runs of a release, `none` to
# cover more inputs in the same time.
SANITIZER=${SANITIZER:-address}
TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-fuzz}
LOGS=${LOGS:-logs}
export RUSTC_BOOTSTRAP=1

# Options per target: the XML ones get the dictionary and room for real envelopes.
options() {
    case $1 in
        envelope | security_header) echo "-dict=xml.dict -max_len=16384" ;;
        trail_verify) echo "-max_len=8192" ;;
        config_yaml | tsp_response) echo "-max_len=16384" ;;
        *) echo "-max_len=4096" ;;
    esac
}

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi
mkdir -p "$LOGS"
nice -n "$NICE" cargo fuzz build --target-dir "$TARGET_DIR" --sanitizer "$SANITIZER"

run() {
    local t=$1
    mkdir -p "corpus/$t"
    # shellcheck disable=SC2046
    nice -n "$NICE" cargo fuzz run --target-dir "$TARGET_DIR" --sanitizer "$SANITIZER" "$t" \
        "corpus/$t" "seeds/$t" -- \
        -max_total_time="$SECONDS_EACH" -print_final_stats=1 $(options "$t") \
        >"$LOGS/$t.log" 2>&1
}

pids=()
status=()
for t in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 1; done
    echo "== $t (${SECONDS_EACH}s)" >&2
    run "$t" &
    pids+=($!)
done
for i in "${!pids[@]}"; do
    if wait "${pids[$i]}"; then status[i]=0; else status[i]=1; fi
done

total=0
failed=0
printf 'sanitizer: %s\n\n' "$SANITIZER"
printf '| target | seconds | executions | exec/s | corpus | findings |\n|---|---|---|---|---|---|\n'
for i in "${!targets[@]}"; do
    t=${targets[$i]}
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$LOGS/$t.log" | grep -o '[0-9]*$' | tail -1)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$LOGS/$t.log" | grep -o '[0-9]*$' | tail -1)
    corpus=$(find "corpus/$t" -type f | wc -l)
    finding=none
    if [ "${status[$i]}" != 0 ]; then
        finding="crash: see $LOGS/$t.log and artifacts/$t/"
        failed=1
    fi
    printf '| `%s` | %s | %s | %s | %s | %s |\n' "$t" "$SECONDS_EACH" "${execs:-?}" "${rate:-?}" "$corpus" "$finding"
    total=$((total + ${execs:-0}))
done
printf '\n%s executions in all\n' "$total"
exit "$failed"

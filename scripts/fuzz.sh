#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for SECONDS each (default 600: a long offline run;
# CI runs `scripts/fuzz.sh 15` as the `fuzz` suite of scripts/test.sh). Starts from the
# committed seeds in fuzz/corpus/TARGET and grows fuzz/corpus-run/TARGET (not committed),
# so repeated long runs build on each other. A crash, a failed check, a timeout (5 s per
# input) or a leak fails the target; libFuzzer saves the input in fuzz/artifacts/TARGET/.
# Prints executions per target and a closing "N passed, N failed" line.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
# TCSMS_FUZZ_SEED=N fixes libFuzzer's seed (the test suite's short run uses one, so a CI
# failure is a reproducible finding, not a roll of the dice; long runs stay random).
# Needs: the nightly toolchain and cargo-fuzz (.ci/run installs both).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/fuzz"
seconds="${1:-600}"
shift $(( $# > 0 ? 1 : 0 ))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)

logs="$root/target/fuzz-logs"
mkdir -p "$logs"
# fuzz/ is outside the root workspace, so the rust suite's format check does not see it.
cargo fmt --check || { echo "fuzz/ is not formatted (cd fuzz && cargo fmt)"; echo "0 passed, ${#targets[@]} failed"; exit 1; }
echo "building the fuzz targets (cargo +nightly fuzz build)"
if ! cargo +nightly fuzz build >"$logs/build.log" 2>&1; then
    tail -n 30 "$logs/build.log"
    echo "0 passed, ${#targets[@]} failed"
    exit 1
fi

passed=0
failed=0
for target in "${targets[@]}"; do
    mkdir -p "corpus-run/$target" "corpus/$target"
    log="$logs/$target.log"
    started=$(date +%s)
    LSAN_OPTIONS="suppressions=$root/fuzz/lsan.supp:print_suppressions=0" \
        cargo +nightly fuzz run "$target" "corpus-run/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
        ${TCSMS_FUZZ_SEED:+-seed="$TCSMS_FUZZ_SEED"} >"$log" 2>&1
    rc=$?
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    elapsed=$(( $(date +%s) - started ))
    rate=$(( ${runs:-0} / (elapsed > 0 ? elapsed : 1) ))
    corpus_size="$(find "corpus-run/$target" -type f | wc -l)"
    if [ $rc -eq 0 ] && [ -n "$runs" ]; then
        passed=$((passed + 1))
        printf 'fuzz %-24s ok      %12s executions in %4ss (%s/s), corpus %s\n' "$target" "$runs" "$elapsed" "$rate" "$corpus_size"
    else
        failed=$((failed + 1))
        printf 'fuzz %-24s FAILED  %12s executions in %4ss (log: %s)\n' "$target" "${runs:-?}" "$elapsed" "${log#$root/}"
        grep -E 'panicked at|ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|SUMMARY|Test unit written' "$log" | head -n 8 | sed 's/^/    /'
    fi
done
rm -f /dev/shm/tcsms-fuzz-credentials-* "${TMPDIR:-/tmp}"/tcsms-fuzz-credentials-*
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]

#!/usr/bin/env bash
# Runs every test of tcsms: Rust (unit, client, emulator), the header check, C (under
# valgrind, also as C++ and statically linked), the official Python SDK against the
# emulator, the Python binding and the Go binding. Prints one line per suite and a
# closing "N passed, N failed" line; exits non-zero if any suite failed.
#
# Usage: scripts/test.sh [suite...]   suites: rust header c official-sdk python go fuzz sanitize
# (fuzz: every cargo-fuzz target for TCSMS_FUZZ_SECONDS, default 20, each, scripts/fuzz.sh;
# sanitize: ASan+LSan Rust tests, ASan+UBSan C suite, TSan threaded tests, scripts/sanitize.sh)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export TCSMS_ROOT="$root"
export TCSMS_EMULATOR="$root/target/release/tcsms-emulator"
export CARGO_TERM_COLOR=never

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(rust header c official-sdk python go fuzz sanitize)

log_dir="$root/target/test-logs"
mkdir -p "$log_dir"

step() { printf '\n==> %s\n' "$*"; }

run_rust() {
    cargo fmt --check &&
        cargo clippy --release --locked --all-targets -- -D warnings &&
        cargo build --release --locked && cargo test --release --locked
}

run_header() {
    # The committed header must be what the build generates.
    TCSMS_CHECK_HEADER=1 cargo build --release --locked --lib || return 1
    if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
        git -C "$root" diff --exit-code -- include/tcsms.h || { echo "include/tcsms.h differs from the committed one"; return 1; }
    fi
}

run_c() { bash bindings/c/run-tests.sh; }

run_official_sdk() {
    python3 -m pip install -q -r tests/official_sdk/requirements.txt &&
        python3 -m pytest -q tests/official_sdk
}

run_python() { bash bindings/python/run-tests.sh; }

run_go() { bash bindings/go/run-tests.sh; }

run_fuzz() { nice -n 10 bash scripts/fuzz.sh "${TCSMS_FUZZ_SECONDS:-20}"; }

run_sanitize() { nice -n 10 bash scripts/sanitize.sh; }

passed=0
failed=0
failed_names=()
# Everything below needs the release library and emulator.
step "building the library and the emulator (cargo build --release)"
if ! cargo build --release --locked; then
    echo "build failed"
    echo "0 passed, ${#suites[@]} failed"
    exit 1
fi
for suite in "${suites[@]}"; do
    fn="run_${suite//-/_}"
    if ! declare -F "$fn" >/dev/null; then
        echo "unknown suite: $suite (known: rust header c official-sdk python go fuzz sanitize)"
        exit 2
    fi
    step "suite: $suite (log: target/test-logs/$suite.log)"
    started=$(date +%s)
    if "$fn" 2>&1 | tee "$log_dir/$suite.log"; then
        passed=$((passed + 1))
        printf 'suite %s: passed in %ss\n' "$suite" "$(( $(date +%s) - started ))"
    else
        failed=$((failed + 1))
        failed_names+=("$suite")
        printf 'suite %s: FAILED in %ss\n' "$suite" "$(( $(date +%s) - started ))"
    fi
done
echo
[ $failed -eq 0 ] || echo "failed suites: ${failed_names[*]}"
echo "suites: $passed passed, $failed failed"
[ $failed -eq 0 ]

#!/usr/bin/env bash
# Runs every test of tcsms: Rust (unit, client, emulator), the header check, C (under
# valgrind, also as C++ and statically linked), the official Python SDK against the
# emulator, the Python binding, the Go binding and the installed artifacts (install:
# scripts/install.sh into a temporary prefix, then a C, CMake, Python-wheel and Go
# consumer outside the checkout). Prints one line per suite and a
# closing "N passed, N failed" line; exits non-zero if any suite failed.
#
# Usage: scripts/test.sh [suite...]   suites: header rust c official-sdk python go install fuzz sanitize
# (fuzz: every cargo-fuzz target for TCSMS_FUZZ_SECONDS, default 15, each, scripts/fuzz.sh;
# sanitize: ASan+LSan Rust tests, ASan+UBSan C suite, TSan threaded tests, scripts/sanitize.sh)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export TCSMS_ROOT="$root"
export TCSMS_EMULATOR="$root/target/release/tcsms-emulator"
export CARGO_TERM_COLOR=never

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(header rust c official-sdk python go install fuzz sanitize)

log_dir="$root/target/test-logs"
mkdir -p "$log_dir"

step() { printf '\n==> %s\n' "$*"; }

# The library crate links no server: the emulator's tokio and hyper stay in its own crate.
library_has_no_server() {
    local deps
    deps="$(cargo tree --locked -p tcsms -e normal,build --prefix none)" || return 1
    if grep -E '^(tokio|hyper|hyper-util|http-body-util) ' <<<"$deps"; then
        echo "cargo tree -p tcsms lists a server dependency (above)"
        return 1
    fi
    echo "cargo tree -p tcsms: $(sort -u <<<"$deps" | wc -l) crates, no tokio or hyper"
}

run_rust() {
    cargo fmt --check && library_has_no_server &&
        cargo clippy --release --locked --workspace --all-targets -- -D warnings &&
        cargo run --release --locked -p xtask -- check && cargo test --release --locked -p xtask &&
        cargo build --release --locked && cargo test --release --locked
}

run_header() {
    # The committed header must be what cbindgen generates (build.rs never rewrites it).
    bash scripts/header.sh --check
}

run_c() { bash bindings/c/run-tests.sh; }

run_official_sdk() {
    python3 -m pip install -q -r tests/official_sdk/requirements.txt &&
        python3 -m pytest -q tests/official_sdk
}

# The package's types are checked too (mypy pinned in .ci/run).
run_python() {
    bash bindings/python/run-tests.sh &&
        python3 -m mypy --strict --cache-dir target/mypy-cache bindings/python/src/tcsms
}

run_go() { bash bindings/go/run-tests.sh; }

run_install() { bash packaging/tests/run.sh; }

run_fuzz() { TCSMS_FUZZ_SEED="${TCSMS_FUZZ_SEED:-1}" nice -n 10 bash scripts/fuzz.sh "${TCSMS_FUZZ_SECONDS:-15}"; }

run_sanitize() { nice -n 10 bash scripts/sanitize.sh; }

passed=0
failed=0
failed_names=()
# The header check runs first, before anything else is built; every other suite needs the
# release library and emulator, built once before the first of them.
for i in "${!suites[@]}"; do
    if [ "${suites[$i]}" = header ] && [ "$i" -ne 0 ]; then
        suites=(header "${suites[@]:0:$i}" "${suites[@]:$((i + 1))}")
    fi
done
built=0
build_once() {
    [ $built -eq 0 ] || return 0
    step "building the library and the emulator (cargo build --release)"
    cargo build --release --locked || { echo "build failed"; echo "0 passed, ${#suites[@]} failed"; exit 1; }
    built=1
}
for suite in "${suites[@]}"; do
    fn="run_${suite//-/_}"
    if ! declare -F "$fn" >/dev/null; then
        echo "unknown suite: $suite (known: header rust c official-sdk python go install fuzz sanitize)"
        exit 2
    fi
    [ "$suite" = header ] || build_once
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

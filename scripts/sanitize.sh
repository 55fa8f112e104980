#!/usr/bin/env bash
# Runs the tests under sanitizers (issue 10 item 3), each in its own target directory so
# the release build is never clobbered:
#   asan  the Rust library's tests (unit, tests/client_transport.rs, tests/stress.rs at a
#         smaller size) under nightly -Zsanitizer=address; LeakSanitizer is on, and a leak
#         fails the run                                              (target/asan)
#   c     the C suite (bindings/c/tests/test_tcsms.c) built with
#         -fsanitize=address,undefined against the release library; any report fails it
#                                                                   (bindings/c/build)
#   tsan  the multi-threaded Rust tests (the pool, the stress test, the completion queue
#         and its event loop) under -Zsanitizer=thread, with the standard library
#         rebuilt instrumented (-Zbuild-std, needs rust-src)            (target/tsan)
# No suppressions. Prints one line per part and a closing "N passed, N failed" line.
#
# Usage: scripts/sanitize.sh [asan|c|tsan...]   (default: all three)
# Needs: nightly with rust-src (installed here if missing), gcc, the release build
# (cargo build --release: the emulator and libtcsms.so).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(asan c tsan)
host="$(rustc +nightly -vV | sed -n 's/^host: //p')"
logs="$root/target/sanitize-logs"
mkdir -p "$logs"
export TCSMS_ROOT="$root"
export TCSMS_EMULATOR="${TCSMS_EMULATOR:-$root/target/release/tcsms-emulator}"
export CARGO_TERM_COLOR=never
# The stress test at a size that stays quick with the sanitizers' slowdown.
export TCSMS_STRESS_THREADS="${TCSMS_STRESS_THREADS:-16}"
export TCSMS_STRESS_CALLS="${TCSMS_STRESS_CALLS:-200}"
export TCSMS_STRESS_CYCLES="${TCSMS_STRESS_CYCLES:-200}"
# Under the sanitizers resident memory is theirs (ASan keeps freed blocks in a quarantine of up
# to 256 MiB, and both map shadow memory as the heap is touched), so the stress test's RSS
# bound is lifted here; leaks are LeakSanitizer's job in these runs. Descriptors stay checked.
export TCSMS_STRESS_RSS_MIB="${TCSMS_STRESS_RSS_MIB:-4096}"
# The same for tests/hostile_memory.rs's peak-memory bound (the rust suite checks it exactly).
export TCSMS_HOSTILE_RSS_SLACK_MIB="${TCSMS_HOSTILE_RSS_SLACK_MIB:-4096}"
# tests/ratelimit_store.rs's floor on the share of the shared budget 4 x 8 senders use: the
# rust suite holds 95 %; instrumented senders on a busy 2-core machine may reach less. The
# ceiling (no more than the budget, no RequestLimitExceeded) stays as strict.
export TCSMS_RL_STORE_MIN_SHARE="${TCSMS_RL_STORE_MIN_SHARE:-0.75}"

run_asan() {
    RUSTFLAGS="-Zsanitizer=address" \
        ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1" \
        cargo +nightly test --locked --target "$host" --target-dir target/asan -p tcsms --lib --tests
}

run_c() {
    local build="$root/bindings/c/build" bin="$root/bindings/c/build/test_tcsms_asan"
    mkdir -p "$build"
    gcc -std=c11 -Wall -Wextra -Werror -g -O1 -fno-omit-frame-pointer \
        -fsanitize=address,undefined -fno-sanitize-recover=all \
        -I"$root/include" "$root/bindings/c/tests/test_tcsms.c" -o "$bin" \
        -L"$root/target/release" -ltcsms -Wl,-rpath,"$root/target/release" -lpthread || return 1
    ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1" \
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
        TCSMS_TEST_SLACK_MS="${TCSMS_TEST_SLACK_MS:-300}" "$bin"
}

run_tsan() {
    rustup component list --toolchain nightly --installed | grep -q '^rust-src' ||
        rustup component add rust-src --toolchain nightly || return 1
    # TSan runs the stress test smaller still (it is 5-15x slower); 8 threads share the pool.
    RUSTFLAGS="-Zsanitizer=thread -Cforce-frame-pointers=yes" \
        TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" \
        TCSMS_STRESS_THREADS=8 TCSMS_STRESS_CALLS=100 TCSMS_STRESS_CYCLES=50 \
        cargo +nightly test --locked -Zbuild-std --target "$host" --target-dir target/tsan -p tcsms \
        --test client_transport --test stress --test completion --test event_loop
}

passed=0
failed=0
for part in "${parts[@]}"; do
    fn="run_$part"
    declare -F "$fn" >/dev/null || { echo "unknown part: $part (known: asan c tsan)"; exit 2; }
    started=$(date +%s)
    if "$fn" >"$logs/$part.log" 2>&1; then
        passed=$((passed + 1))
        printf 'sanitize %-5s ok      in %4ss\n' "$part" "$(( $(date +%s) - started ))"
    else
        failed=$((failed + 1))
        printf 'sanitize %-5s FAILED  in %4ss (log: %s)\n' "$part" "$(( $(date +%s) - started ))" "${logs#$root/}/$part.log"
        grep -E '^(ERROR|SUMMARY|WARNING): |runtime error|panicked at|^test .* FAILED|^FAIL ' "$logs/$part.log" |
            head -n 12 | cut -c1-200 | sed 's/^/    /'
    fi
    grep -E '^test result:|^[0-9]+ passed, [0-9]+ failed$' "$logs/$part.log" | sed 's/^/    /'
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]

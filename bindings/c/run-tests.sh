#!/usr/bin/env bash
# Builds and tests the C side of tcsms:
#   - cargo build --release (library + emulator), unless TCSMS_NO_BUILD=1
#   - installs into bindings/c/build/stage with scripts/install.sh (unstripped, so that
#     valgrind's suppressions can name the Rust frames)
#   - compiles the example and the tests as C11 and as C++17 (-Wall -Wextra -Werror),
#     dynamically (tcsms.pc) and once statically (tcsms-static.pc)
#   - runs the C and C++ tests under valgrind (leaks: definite/indirect/possible fail),
#     the static test without valgrind, the example against the emulator, and the
#     exports check
# Prints a summary; exits non-zero if anything failed.
#
# Environment: TCSMS_NO_BUILD=1 (skip cargo), TCSMS_TEST_OFFLINE=1 (skip the emulator
# cases), TCSMS_EMULATOR (emulator binary), NO_VALGRIND=1 (run without valgrind).
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$here/build"
export TCSMS_ROOT="$root"
emulator="${TCSMS_EMULATOR:-$root/target/release/tcsms-emulator}"
export TCSMS_EMULATOR="$emulator"
libdir="$root/target/release"

CC="${CC:-gcc}"
CXX="${CXX:-g++}"
CWARN="-std=c11 -Wall -Wextra -Werror -pedantic -g"
CXXWARN="-x c++ -std=c++17 -Wall -Wextra -Werror -g"
VALGRIND=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible
          --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=1
          --suppressions="$here/tests/valgrind.supp" --num-callers=40)

mkdir -p "$build"
results=()
failures=0
start_all=$(date +%s)

# step NAME COMMAND...: runs a step, logs to build/NAME.log, records ok/FAIL.
step() {
    local name="$1"; shift
    local log="$build/$name.log"
    local t0=$(date +%s)
    echo "=== $name: $*"
    if "$@" > "$log" 2>&1; then
        results+=("ok    $name ($(( $(date +%s) - t0 )) s)")
    else
        results+=("FAIL  $name ($(( $(date +%s) - t0 )) s, see ${log#$root/})")
        failures=$((failures + 1))
        tail -n 30 "$log" | sed 's/^/    /'
    fi
}

# 1. The library (and the emulator, which is a binary of the same crate).
if [ "${TCSMS_NO_BUILD:-0}" != 1 ]; then
    step cargo-build bash -c "cd '$root' && cargo build --release"
    if [ ! -f "$libdir/libtcsms.so" ] || [ ! -f "$libdir/libtcsms.a" ]; then
        step cargo-build-lib bash -c "cd '$root' && cargo build --release --lib"
    fi
fi
if [ ! -f "$libdir/libtcsms.so" ]; then
    echo "libtcsms.so not found in $libdir"; exit 1
fi

# 2. Install into a staging prefix (scripts/install.sh): the tests link the installed
#    library through its generated pkg-config files (tcsms.pc; tcsms-static.pc for libtcsms.a).
#    The host toolchain's build (--native, target/release): it keeps the symbol table that
#    valgrind's suppressions name (the portable build is tested by the install suite).
stage="$build/stage"
install_args=(-q --native --no-strip --prefix "$stage")
[ "${TCSMS_NO_BUILD:-0}" = 1 ] && install_args+=(--no-build)
"$root/scripts/install.sh" "${install_args[@]}" || { echo "scripts/install.sh failed"; exit 1; }
libdir="$stage/lib"
export PKG_CONFIG_PATH="$stage/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
pc_cflags="$(pkg-config --cflags tcsms)"
pc_libs="$(pkg-config --libs tcsms)"
pc_static_libs="$(pkg-config --libs tcsms-static)"
rpath="-Wl,-rpath,$libdir"

# 3. Compile.
step compile-example-c   $CC  $CWARN   $pc_cflags "$here/examples/report_conversion.c" -o "$build/report_conversion" $pc_libs $rpath
step compile-example-cxx $CXX $CXXWARN $pc_cflags "$here/examples/report_conversion.c" -o "$build/report_conversion_cpp" $pc_libs $rpath
step compile-test-c      $CC  $CWARN   $pc_cflags "$here/tests/test_tcsms.c" -o "$build/test_tcsms" $pc_libs $rpath -lpthread
step compile-test-cxx    $CXX $CXXWARN $pc_cflags "$here/tests/test_tcsms.c" -o "$build/test_tcsms_cpp" $pc_libs $rpath -lpthread
step compile-test-production $CC $CWARN $pc_cflags "$here/tests/test_production.c" -o "$build/test_production" $pc_libs $rpath -lpthread
step compile-test-static $CC  $CWARN   $pc_cflags "$here/tests/test_tcsms.c" -o "$build/test_tcsms_static" $pc_static_libs
step compile-test-secrets $CC $CWARN  $pc_cflags "$here/tests/test_secrets.c" -o "$build/test_secrets" $pc_libs $rpath -lpthread
step compile-test-queue  $CC  $CWARN   $pc_cflags "$here/tests/test_queue.c" -o "$build/test_queue" $pc_libs $rpath
step compile-test-events $CC $CWARN $pc_cflags "$here/tests/test_events.c" -o "$build/test_events" $pc_libs $rpath -lpthread
step compile-test-role $CC $CWARN $pc_cflags "$here/tests/test_role.c" -o "$build/test_role" $pc_libs $rpath -lpthread
step static-has-no-libtcsms-so bash -c "! ldd '$build/test_tcsms_static' | grep -q libtcsms"

# 4. Run the tests.
run_test() { # run_test BINARY [valgrind]
    local bin="$1"
    if [ "${2:-}" = valgrind ] && [ "${NO_VALGRIND:-0}" != 1 ]; then
        TCSMS_TEST_SLACK_MS="${TCSMS_TEST_SLACK_MS:-500}" "${VALGRIND[@]}" "$bin"
    else
        "$bin"
    fi
}
[ -x "$build/test_tcsms" ] && step test-c-valgrind run_test "$build/test_tcsms" valgrind
[ -x "$build/test_tcsms_cpp" ] && step test-cxx-valgrind run_test "$build/test_tcsms_cpp" valgrind
[ -x "$build/test_tcsms_static" ] && step test-c-static run_test "$build/test_tcsms_static"
[ -x "$build/test_production" ] && step test-production-valgrind run_test "$build/test_production" valgrind
[ -x "$build/test_secrets" ] && step test-secrets-valgrind run_test "$build/test_secrets" valgrind
[ -x "$build/test_queue" ] && step test-queue-valgrind run_test "$build/test_queue" valgrind
[ -x "$build/test_events" ] && step test-events-valgrind run_test "$build/test_events" valgrind
[ -x "$build/test_role" ] && step test-role-valgrind run_test "$build/test_role" valgrind

# 4b. Callback parsing: its tests (C and C++, valgrind) and the receiver example, which must
#     answer a sample delivery body with exactly the documented acknowledgement.
step compile-test-callback-c   $CC  $CWARN   $pc_cflags "$here/tests/test_callback.c" -o "$build/test_callback" $pc_libs $rpath
step compile-test-callback-cxx $CXX $CXXWARN $pc_cflags "$here/tests/test_callback.c" -o "$build/test_callback_cpp" $pc_libs $rpath
step compile-example-callback  $CC  $CWARN   $pc_cflags "$here/examples/callback_receiver.c" -o "$build/callback_receiver" $pc_libs $rpath
[ -x "$build/test_callback" ] && step test-callback-valgrind run_test "$build/test_callback" valgrind
[ -x "$build/test_callback_cpp" ] && step test-callback-cxx-valgrind run_test "$build/test_callback_cpp" valgrind
receiver_acks() {
    local sample='[{"user_receive_time":"2015-10-17 08:03:04","nationcode":"86","mobile":"13900000001","report_status":"SUCCESS","errmsg":"DELIVRD","description":"ok","sid":"x1"}]'
    local vg=("${VALGRIND[@]}"); [ "${NO_VALGRIND:-0}" = 1 ] && vg=()
    local ack; ack="$(printf '%s' "$sample" | "${vg[@]}" "$build/callback_receiver")" || return 1
    echo "ack: $ack"; [ "$ack" = '{"result": 0, "errmsg": "OK"}' ] || return 1
    ack="$(printf '[{"mobile":' | "${vg[@]}" "$build/callback_receiver")"; local rc=$?
    echo "truncated: rc $rc, ack: $ack"; [ "$rc" = 1 ] && [[ "$ack" == '{"result": 1, '* ]]
}
[ -x "$build/callback_receiver" ] && step example-callback-receiver receiver_acks

# 4c. tcsms_json_get: its tests (C and C++, valgrind).
step compile-test-json-c   $CC  $CWARN   $pc_cflags "$here/tests/test_json.c" -o "$build/test_json" $pc_libs $rpath
step compile-test-json-cxx $CXX $CXXWARN $pc_cflags "$here/tests/test_json.c" -o "$build/test_json_cpp" $pc_libs $rpath
[ -x "$build/test_json" ] && step test-json-valgrind run_test "$build/test_json" valgrind
[ -x "$build/test_json_cpp" ] && step test-json-cxx-valgrind run_test "$build/test_json_cpp" valgrind

# start_emulator EMULATOR OUT: starts EMULATOR on a free port, its output in OUT, and sets
# the caller's `pid` and `endpoint` (declare them local); fails, the emulator stopped,
# when it does not say where it listens within 10 s.
start_emulator() {
    local i
    endpoint=""
    # Emptied here, not only by the background shell's redirection, which may come after
    # the first read below: a previous run's "listening on" must never be read.
    : > "$2"
    "$1" --listen 127.0.0.1:0 > "$2" 2>/dev/null &
    pid=$!
    for i in $(seq 100); do
        endpoint="$(sed -n '1s/^listening on //p' "$2")"
        [ -n "$endpoint" ] && return 0
        sleep 0.1
    done
    echo "emulator did not start"; kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; return 1
}

# 5. The example, against a fresh emulator (under valgrind too).
run_example() { # run_example BINARY
    local pid endpoint
    start_emulator "$emulator" "$build/emulator-$(basename "$1").out" || return 1
    local rc=0
    if [ "${NO_VALGRIND:-0}" != 1 ]; then
        "${VALGRIND[@]}" "$1" "$endpoint" AKIDtcsmsdemo00000000000000000000000 tcsmsdemosecretkey00000000000000 || rc=$?
    else
        "$1" "$endpoint" AKIDtcsmsdemo00000000000000000000000 tcsmsdemosecretkey00000000000000 || rc=$?
    fi
    # The same through the environment, as the demo runs it.
    TCSMS_ENDPOINT="$endpoint" TENCENTCLOUD_SECRET_ID=AKIDtcsmsdemo00000000000000000000000 \
        TENCENTCLOUD_SECRET_KEY=tcsmsdemosecretkey00000000000000 "$1" || rc=$?
    kill "$pid"; wait "$pid" 2>/dev/null
    return "$rc"
}
if [ "${TCSMS_TEST_OFFLINE:-0}" = 1 ]; then
    results+=("skip  example (TCSMS_TEST_OFFLINE=1)")
elif [ ! -x "$emulator" ]; then
    results+=("FAIL  example (no emulator at $emulator)"); failures=$((failures + 1))
else
    [ -x "$build/report_conversion" ] && step example-c run_example "$build/report_conversion"
    [ -x "$build/report_conversion_cpp" ] && step example-cxx run_example "$build/report_conversion_cpp"
fi

# 5b. The README's C quick start (bindings/c/examples/quickstart.c), built as the README
#     says from the installed prefix (pkg-config, rpath from its libdir) and run against the
#     prefix's emulator through TCSMS_ENDPOINT, under valgrind.
quickstart() {
    local flags libdir pid endpoint rc=0
    flags="$(pkg-config --cflags --libs tcsms)" && libdir="$(pkg-config --variable=libdir tcsms)" || return 1
    $CC $CWARN "$here/examples/quickstart.c" $flags -Wl,-rpath,"$libdir" -o "$build/quickstart" || return 1
    ldd "$build/quickstart" | grep -F "$libdir/libtcsms.so" || { echo "not linked against $libdir"; return 1; }
    start_emulator "$stage/bin/tcsms-emulator" "$build/emulator-quickstart.out" || return 1
    local vg=("${VALGRIND[@]}"); [ "${NO_VALGRIND:-0}" = 1 ] && vg=()
    env -u TENCENTCLOUD_SECRET_ID -u TENCENTCLOUD_SECRET_KEY TCSMS_ENDPOINT="$endpoint" \
        "${vg[@]}" "$build/quickstart" > "$build/quickstart.out" || rc=$?
    kill "$pid"; wait "$pid" 2>/dev/null
    cat "$build/quickstart.out"
    [ "$rc" = 0 ] && grep -qE '^sent, SerialNo [0-9]+:[0-9]+$' "$build/quickstart.out" &&
        grep -qx 'conversion reported: ok' "$build/quickstart.out"
}
if [ "${TCSMS_TEST_OFFLINE:-0}" = 1 ]; then
    results+=("skip  quickstart (TCSMS_TEST_OFFLINE=1)")
else
    step quickstart quickstart
fi

# 6. Exported symbols.
step exports "$here/tests/check_exports.sh" "$libdir/libtcsms.so.1" "$stage/include/tcsms.h"

echo
echo "=== summary (${SECONDS} s; logs in ${build#$root/}/)"
for r in "${results[@]}"; do
    echo "  $r"
    case "$r" in ok*test-*|FAIL*test-*)
        name="$(echo "$r" | awk '{print $2}')"
        tail_line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$build/$name.log" | tail -1)"
        [ -n "$tail_line" ] && echo "        $tail_line"
        grep -E '^FAIL ' "$build/$name.log" | head -n 8 | cut -c1-150 | sed 's/^/        /'
        ;;
    esac
    case "$r" in FAIL*example-*)
        name="$(echo "$r" | awk '{print $2}')"
        grep -E 'failed|Code:|Message:' "$build/$name.log" | head -n 3 | cut -c1-150 | sed 's/^/        /'
        ;;
    esac
done
if [ "$failures" -ne 0 ]; then
    echo "C tests: $failures step(s) FAILED"
    exit 1
fi
echo "C tests: all steps passed"

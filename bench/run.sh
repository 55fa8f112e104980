#!/usr/bin/env bash
# The concurrency benchmark of issue 13, in one run (see bench/README.md):
#
#   bench/run.sh [--tls] [--seconds S] [--rounds R] [--only REGEX] [--write]
#
# Starts nginx on 127.0.0.1 answering every request with one fixed ReportConversion
# envelope, then measures calls/s with 1 and 8 callers and the client's CPU time per
# call for: wrk -c1/-c8, a plain blocking C client with a prebuilt request, tcsms from
# C (blocking and through the completion queue), Python (threads, asyncio) and Go
# (GOMAXPROCS=1 and = the core count), the official Python and Go SDKs, and the cost of the
# rate limiter: tcsms C with the in-process limiter and with the limiter shared through a
# local redis-server (rate_limit_store); four what-if rows that model tcsms's per-call
# costs on the plain client, to bound what an event-loop completion queue could reach
# (bench/c/bench.c `sim-threads`, `sim-loop`); then counts the instructions of one tcsms
# C call under callgrind (typed, generic, and through the completion queue). Prints a
# table with ratios against the peers of the same run; --write also puts it into
# bench/README.md. Every peer is measured in R rounds (the peers alternate within a
# round) and the median counts, so a burst of load on a shared machine does not decide
# a ratio.
#
# --only REGEX measures only the peers whose label (as printed in the table, e.g.
# "tcsms Go, CompletionQueue, GOMAXPROCS=1") matches the extended regular expression,
# and runs callgrind only if REGEX matches "callgrind"; e.g. `--only 'Go|queue'` runs
# the Go rows, the official Go SDK and the C completion queue in about a minute.
#
# With 2 or more cores nginx runs on core 0 and the clients on the others (taskset);
# the Go rows at GOMAXPROCS = core count run unpinned.
#
# --tls measures over TLS 1.3 instead (see bench/README.md, "TLS mode"): a test CA made
# at run time with openssl, nginx serving a certificate from it (bench/nginx-tls.conf.in),
# every peer trusting the CA its own way; rows for keep-alive (1 and 8 callers), cold (a
# new client per call) and reconnect (one client, the server closes after each answer),
# and the share of handshakes each peer resumed, from nginx's `$ssl_session_reused`.
# Its table goes between the `bench-tls` markers of bench/README.md with --write.
#
# Needs: nginx, wrk, valgrind, redis-server (apt-get install nginx-light wrk valgrind
# redis-server), go, python3 with tencentcloud-sdk-python-sms==3.1.153 (pip), cargo build
# --release; openssl and libssl-dev (the plain TLS peer) for --tls. Without redis-server
# the shared limiter row is left out, with a warning.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds=2
rounds=3
write=0
only=""
tls=0
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --only) only="$2"; shift 2 ;;
        --write) write=1; shift ;;
        --tls) tls=1; shift ;;
        *) echo "usage: bench/run.sh [--tls] [--seconds S] [--rounds R] [--only REGEX] [--write]" >&2; exit 2 ;;
    esac
done
if [ -n "$only" ] && [ "$write" = 1 ]; then
    echo "bench: --write needs every peer; drop --only" >&2
    exit 2
fi
tools="nginx wrk valgrind callgrind_annotate go python3 gcc"
[ "$tls" = 1 ] && tools="$tools openssl"
for tool in $tools; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (see bench/README.md)" >&2; exit 1; }
done
if [ "$tls" = 1 ] && ! echo '#include <openssl/ssl.h>' | gcc -E - >/dev/null 2>&1; then
    echo "bench: --tls builds a plain OpenSSL peer: apt-get install libssl-dev" >&2
    exit 1
fi
python3 -c 'import tencentcloud.sms.v20210111' 2>/dev/null ||
    { echo "bench: pip install tencentcloud-sdk-python-sms==3.1.153" >&2; exit 1; }

work="$(mktemp -d)"
nginx_pid=""
redis_pid=""
cleanup() {
    [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

echo "building (cargo build --release, the C and Go peers)..." >&2
cargo build --release --quiet --lib
gcc -O2 -Wall -Wextra -Iinclude bench/c/bench.c -o "$work/cbench" \
    -Ltarget/release -ltcsms -Wl,-rpath,"$root/target/release" -lpthread
[ "$tls" = 1 ] && gcc -O2 -Wall -Wextra -Iinclude bench/c/cold.c -o "$work/cold" \
    -Ltarget/release -ltcsms -Wl,-rpath,"$root/target/release"
[ "$tls" = 1 ] && gcc -O2 -Wall -Wextra bench/c/tls_plain.c -o "$work/tls_plain" -lssl -lcrypto -lpthread
# The Go binding links libtcsms through pkg-config, from an installed prefix (as
# bindings/go/run-tests.sh does).
stage="$root/target/go-stage"
scripts/install.sh -q --prefix "$stage"
export PKG_CONFIG_PATH="$stage/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
(cd bench/go && go build -o "$work/gobench" .)
# Only the Go peers run with the staged (stripped) library; the others, and callgrind,
# use target/release, which keeps its symbols.
go_lib="$stage/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

cores=$(nproc)
server_pin=() client_pin=()
if [ "$cores" -ge 2 ]; then
    server_pin=(taskset -c 0)
    client_pin=(taskset -c "1-$((cores - 1))")
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Starts nginx with $work/nginx.conf (pinned to the server's core) and waits until it
# accepts connections on port $1.
start_nginx() {
    "${server_pin[@]}" nginx -c "$work/nginx.conf" -p "$work" &
    nginx_pid=$!
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && break
        sleep 0.1
    done
}
if [ "$tls" = 1 ]; then
    . bench/tls.sh
    exit 0
fi
sed -e "s|@PORT@|$port|" -e "s|@DIR@|$work|" bench/nginx.conf.in > "$work/nginx.conf"
start_nginx "$port"

export PYTHONPATH="$root/bindings/python/src" TCSMS_LIBRARY="$root/target/release/libtcsms.so"
results="$work/results.tsv"
: > "$results"

# selected LABEL: whether --only (if given) lets LABEL run.
selected() { [ -z "$only" ] || grep -qE -- "$only" <<<"$1"; }

# measure LABEL CALLERS COMMAND...: runs a peer printing `rate=R cpu_us=U`, records it.
measure() {
    local label="$1" callers="$2"; shift 2
    local out rate cpu
    last_cpu=""
    selected "$label" || return 0
    if out=$("$@" 2>"$work/err"); then
        rate=$(sed -n 's/.*rate=\([0-9.]*\).*/\1/p' <<<"$out")
        cpu=$(sed -n 's/.*cpu_us=\([0-9.]*\).*/\1/p' <<<"$out")
        last_cpu=$cpu
    else
        rate=""; cpu=""
        echo "bench: $label x$callers failed: $(head -c 300 "$work/err")" >&2
    fi
    printf '%s\t%s\t%s\t%s\n' "$label" "$callers" "${rate:-}" "${cpu:-}" >> "$results"
    printf '  %-34s %2s callers %10s calls/s %8s us CPU/call\n' "$label" "$callers" "${rate:-n/a}" "${cpu:-n/a}" >&2
}
wrk_peer() { # wrk_peer CONNECTIONS: prints rate= like the other peers
    local rps
    rps=$("${client_pin[@]}" wrk -t1 -c"$1" -d"${seconds}s" -s bench/wrk.lua "http://127.0.0.1:$port/" |
        sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
    [ -n "$rps" ] && echo "rate=${rps%.*}"
}

# The rate limiter's cost: tcsms C with rates so high that no call waits, with the
# in-process buckets and with the buckets shared through a redis-server on 127.0.0.1,
# started here when installed. Redis runs on the clients' cores (its CPU time counts
# against the shared row): beside nginx it kept nginx's core busy, and on the 2-core VM
# nginx then answered the in-process row's 8 callers up to 6x faster as well, so the
# shared row came out faster than the in-process one.
limiter_rates=',"rate_limits":{"*":1000000}'
redis_url=""
if selected "tcsms C, shared limiter (Redis)"; then
    if command -v redis-server >/dev/null; then
        redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        "${client_pin[@]}" redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
            --dir "$work" --logfile "$work/redis.log" &
        redis_pid=$!
        for _ in $(seq 50); do
            (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break
            sleep 0.1
        done
        redis_url="redis://127.0.0.1:$redis_port/0"
    else
        echo "bench: redis-server is missing (apt-get install redis-server): no shared limiter row" >&2
    fi
fi
# script_runs: how many times Redis ran a script (EVALSHA) so far.
script_runs() {
    redis-cli -p "$redis_port" info commandstats | sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\).*/\1/p' | grep . || echo 0
}
# limiter_peers CALLERS: the in-process and the shared limiter, one after the other.
limiter_peers() {
    measure "tcsms C, in-process limiter" "$1" env TCSMS_BENCH_CONFIG_EXTRA="$limiter_rates" \
        "${client_pin[@]}" "$work/cbench" tcsms "$1" "$seconds" "$port"
    [ -n "$redis_url" ] || return 0
    measure "tcsms C, shared limiter (Redis)" "$1" \
        env TCSMS_BENCH_CONFIG_EXTRA="$limiter_rates,\"rate_limit_store\":\"$redis_url\",\"rate_limit_key\":\"bench\"" \
        "${client_pin[@]}" "$work/cbench" tcsms "$1" "$seconds" "$port"
}

echo "measuring, $rounds rounds of ${seconds} s each, $cores cores, server pinned: ${server_pin[*]:-no}" >&2
for round in $(seq "$rounds"); do
echo "round $round of $rounds" >&2
for n in 1 8; do
    measure "wrk (event loop)" "$n" wrk_peer "$n"
    measure "plain C, blocking, prebuilt request" "$n" "${client_pin[@]}" "$work/cbench" plain "$n" "$seconds" "$port"
    measure "tcsms C, blocking" "$n" "${client_pin[@]}" "$work/cbench" tcsms "$n" "$seconds" "$port"
    tcsms_cpu=$last_cpu
    measure "tcsms C, completion queue" "$n" "${client_pin[@]}" "$work/cbench" async "$n" "$seconds" "$port"
    # What-if rows (issue 21): the plain client making tcsms's per-call syscalls (the idle
    # check and the quick ACK of issue 19), first alone, then spinning as much CPU per call
    # as this round's tcsms C costs beyond them: with blocking threads (a check of the
    # model: its calls/s should come out near "tcsms C, blocking"), and multiplexed by one
    # epoll loop (the ceiling of an event-loop completion queue doing tcsms's work), with
    # and without the quick ACK. See bench/README.md.
    measure "what-if: plain C + tcsms's syscalls, threads" "$n" \
        env TCSMS_SIM_WORK_US=0 "${client_pin[@]}" "$work/cbench" sim-threads "$n" "$seconds" "$port"
    work_us=$(python3 -c "import sys; a, b = sys.argv[1:]; print(max(0.0, float(a) - float(b)) if a and b else 6)" \
        "${tcsms_cpu:-}" "${last_cpu:-}")
    measure "what-if: plain C + tcsms's syscalls and CPU, threads" "$n" env TCSMS_SIM_WORK_US="$work_us" \
        "${client_pin[@]}" "$work/cbench" sim-threads "$n" "$seconds" "$port"
    measure "what-if: the same, one epoll loop" "$n" env TCSMS_SIM_WORK_US="$work_us" \
        "${client_pin[@]}" "$work/cbench" sim-loop "$n" "$seconds" "$port"
    measure "what-if: one epoll loop, no quick ACK" "$n" env TCSMS_SIM_WORK_US="$work_us" TCSMS_SIM_CHECKS=1 \
        "${client_pin[@]}" "$work/cbench" sim-loop "$n" "$seconds" "$port"
    limiter_peers "$n"
    measure "tcsms Python, threads" "$n" "${client_pin[@]}" python3 bench/python_bench.py tcsms "$n" "$seconds" "$port"
    measure "tcsms Python, asyncio" "$n" "${client_pin[@]}" python3 bench/python_bench.py async "$n" "$seconds" "$port"
    measure "official Python SDK" "$n" "${client_pin[@]}" python3 bench/python_bench.py official "$n" "$seconds" "$port"
    for procs in 1 "$cores"; do
        pin=("${client_pin[@]}")
        [ "$procs" != 1 ] && pin=()
        for mode in tcsms queue cgo official; do
            name="tcsms Go"; [ "$mode" = cgo ] && name="tcsms Go, blocking cgo (before)"
            [ "$mode" = queue ] && name="tcsms Go, CompletionQueue"
            [ "$mode" = official ] && name="official Go SDK"
            measure "$name, GOMAXPROCS=$procs" "$n" env GOMAXPROCS="$procs" LD_LIBRARY_PATH="$go_lib" "${pin[@]}" "$work/gobench" "$mode" "$n" "$seconds" "$port"
        done
    done
done
done

calls=2000
# count MODE NAME: instructions of CALLS calls under callgrind, annotated into NAME.txt
count() {
    (cd "$work" && valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/$2.out" \
        "$work/cbench" "$1" "$calls" 0 "$port" >/dev/null 2>"$work/$2.err") ||
        echo "bench: callgrind failed: $(tail -3 "$work/$2.err")" >&2
    local f
    f=$(ls "$work/$2".out* 2>/dev/null | while read -r f; do
        grep -q '^desc: Trigger: Client Request: calls' "$f" && echo "$f"; done | head -1)
    : > "$work/$2.txt"
    [ -n "$f" ] && { callgrind_annotate --inclusive=no --threshold=100 "$f" > "$work/$2.txt" 2>/dev/null || true; }
}
: > "$work/cg.txt"
: > "$work/cga.txt"
: > "$work/cgc.txt"
if selected callgrind; then
    echo "callgrind: $calls sequential tcsms C calls, blocking and through the queue..." >&2
    count callgrind cg
    count callgrind-call cgc
    count callgrind-async cga
fi

# The limiter rows under callgrind too: the client's instructions per call, in-process
# and shared (the Redis server's are not counted).
: > "$work/cg-limiter.txt"
: > "$work/cg-shared.txt"
if selected callgrind && [ -n "$redis_url" ]; then
    echo "callgrind: $calls sequential tcsms C calls, in-process and shared limiter..." >&2
    TCSMS_BENCH_CONFIG_EXTRA="$limiter_rates" count callgrind cg-limiter
    runs=$(script_runs)
    TCSMS_BENCH_CONFIG_EXTRA="$limiter_rates,\"rate_limit_store\":\"$redis_url\",\"rate_limit_key\":\"bench\"" \
        count callgrind cg-shared
    # Every call ran the script (none fell back to the in-process bucket).
    if [ $(($(script_runs) - runs)) -lt "$calls" ]; then
        echo "bench: the shared limiter under callgrind fell back: $(($(script_runs) - runs)) script runs for $calls calls" >&2
        : > "$work/cg-shared.txt"
    fi
fi

args=("$results" "$work/cg.txt" "$calls" "$cores" "$work/cga.txt" --rounds "$rounds")
args+=(--limiter-callgrind "$work/cg-limiter.txt" "$work/cg-shared.txt" --generic-callgrind "$work/cgc.txt")
[ "$write" = 1 ] && args+=(--write bench/README.md)
python3 bench/report.py "${args[@]}"

# The TLS mode of bench/run.sh (`bench/run.sh --tls`), sourced by it after the builds:
# uses its variables (root, work, port, seconds, rounds, only, write, cores, server_pin,
# client_pin, go_lib) and its cleanup trap (nginx_pid, work).
#
# A test CA and a server certificate for 127.0.0.1 (ECDSA P-256, as the library's test
# certificates) are made here with openssl; nginx serves TLS 1.3 with it on two ports
# (bench/nginx-tls.conf.in): $port keeps connections alive, $close_port closes each
# connection after its answer. Every peer trusts the CA: tcsms through `ca_file` (C
# config key, Python keyword, Go Config.CAFile), the official Python SDK through
# HttpProfile(certification=...), the official Go SDK through SSL_CERT_FILE; wrk does
# not verify. Rows (label, mode):
#   ka1, ka8    keep-alive, 1 and 8 callers on one client (for the completion queue: 1 and
#               8 calls in flight, submitted and collected by one thread)
#   cold        a new client per call (create, one call, free), 1 caller
#   reconnect   one client, 1 caller, against the server that closes after each answer
#   process     a new process per call (bench/spawn.py): what a CLI run or a cron job
#               sees, with no shared root store or TLS session to start from; tcsms C
#               (bench/c/cold.c, 1 call), tcsms Go (bench/go cold-once) and the official
#               Go SDK (bench/go/oneshot, without libtcsms); the Python peers are left out (their
#               interpreter start and imports would be all that is measured)
# nginx logs the first request of every connection with `$ssl_session_reused`; the
# lines a peer's run added give its share of resumed handshakes (warm-up included).
# --only REGEX is matched against "LABEL MODE", e.g. "tcsms C cold"; `--only 'cold|callgrind'`
# runs the cold rows and the callgrind count.

(cd bench/go && go build -o "$work/oneshot" ./oneshot)

pki="$work/pki"
mkdir -p "$pki"
ca="$pki/ca.pem"
(
    cd "$pki"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -keyout ca.key -out ca.pem -subj "/CN=tcsms bench CA $(date +%s)" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout server.key -out server.csr -subj "/CN=127.0.0.1"
    printf '%s\n' "subjectAltName=IP:127.0.0.1" "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile server.ext -out server.pem
) >"$work/openssl.log" 2>&1 || { echo "bench: openssl failed: $(tail -5 "$work/openssl.log")" >&2; exit 1; }
cp "$pki/server.pem" "$pki/server.key" "$work/"

close_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e "s|@PORT@|$port|" -e "s|@CLOSE_PORT@|$close_port|" -e "s|@DIR@|$work|" \
    bench/nginx-tls.conf.in > "$work/nginx.conf"
log="$work/handshakes.log"
: > "$log"
start_nginx "$close_port"
# The probe above opened a connection without TLS: nginx logs nothing for it.

export PYTHONPATH="$root/bindings/python/src" TCSMS_LIBRARY="$root/target/release/libtcsms.so"
export TCSMS_BENCH_CA_FILE="$ca"
results="$work/results.tsv"
: > "$results"

selected() { [ -z "$only" ] || grep -qE -- "$only" <<<"$1"; }
QUEUE_TLS="tcsms C, completion queue"

# tls_measure LABEL MODE SERVER_PORT COMMAND...: runs a peer printing `rate=R cpu_us=U`
# and records it with the handshakes nginx logged meanwhile on SERVER_PORT.
tls_measure() {
    local label="$1" mode="$2" sport="$3"; shift 3
    local out rate="" cpu="" before hs resumed
    selected "$label $mode" || return 0
    before=$(wc -l < "$log")
    if out=$("$@" 2>"$work/err"); then
        rate=$(sed -n 's/.*rate=\([0-9.]*\).*/\1/p' <<<"$out")
        cpu=$(sed -n 's/.*cpu_us=\([0-9.]*\).*/\1/p' <<<"$out")
    else
        echo "bench: $label ($mode) failed: $(head -c 300 "$work/err")" >&2
    fi
    sleep 0.2 # nginx logs a request when it has answered it
    hs=$(tail -n +"$((before + 1))" "$log" | grep -c "^$sport " || true)
    resumed=$(tail -n +"$((before + 1))" "$log" | grep -c "^$sport r " || true)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$mode" "$rate" "$cpu" "$hs" "$resumed" >> "$results"
    printf '  %-22s %-9s %10s calls/s %8s us CPU/call  %6s handshakes, %6s resumed\n' \
        "$label" "$mode" "${rate:-n/a}" "${cpu:-n/a}" "$hs" "$resumed" >&2
}
wrk_tls() { # wrk_tls CONNECTIONS PORT
    local rps
    rps=$("${client_pin[@]}" wrk -t1 -c"$1" -d"${seconds}s" -s bench/wrk.lua "https://127.0.0.1:$2/" |
        sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
    [ -n "$rps" ] && echo "rate=${rps%.*}"
}
# Every client on the client core(s); Go with GOMAXPROCS=1 there.
c_peer() { TCSMS_BENCH_ENDPOINT="https://127.0.0.1:$3" "${client_pin[@]}" "$work/cbench" "$1" "$2" "$seconds" "$3"; }
py_peer() { "${client_pin[@]}" python3 bench/python_bench.py "$1" "$2" "$seconds" "$3"; }
go_peer() {
    env GOMAXPROCS=1 LD_LIBRARY_PATH="$go_lib" SSL_CERT_FILE="$ca" "${client_pin[@]}" \
        "$work/gobench" "$1" "$2" "$seconds" "$3"
}

echo "measuring over TLS 1.3, $rounds rounds of ${seconds} s each, $cores cores, server pinned: ${server_pin[*]:-no}" >&2
for round in $(seq "$rounds"); do
    echo "round $round of $rounds" >&2
    for n in 1 8; do
        tls_measure "wrk (event loop)" "ka$n" "$port" wrk_tls "$n" "$port"
        tls_measure "plain C (OpenSSL), blocking" "ka$n" "$port" \
            "${client_pin[@]}" "$work/tls_plain" "$n" "$seconds" "$port" "$ca"
        tls_measure "tcsms C" "ka$n" "$port" c_peer tcsms "$n" "$port"
        tls_measure "$QUEUE_TLS" "ka$n" "$port" c_peer async "$n" "$port"
        tls_measure "tcsms Python" "ka$n" "$port" py_peer tcsms "$n" "$port"
        tls_measure "tcsms Go" "ka$n" "$port" go_peer tcsms "$n" "$port"
        tls_measure "official Go SDK" "ka$n" "$port" go_peer official "$n" "$port"
        tls_measure "official Python SDK" "ka$n" "$port" py_peer official "$n" "$port"
    done
    tls_measure "tcsms C" cold "$port" c_peer cold 1 "$port"
    tls_measure "tcsms Python" cold "$port" py_peer cold 1 "$port"
    tls_measure "tcsms Go" cold "$port" go_peer cold 1 "$port"
    tls_measure "official Go SDK" cold "$port" go_peer official-cold 1 "$port"
    tls_measure "official Python SDK" cold "$port" py_peer official-cold 1 "$port"
    tls_measure "wrk (event loop)" reconnect "$close_port" wrk_tls 1 "$close_port"
    tls_measure "tcsms C" reconnect "$close_port" c_peer tcsms 1 "$close_port"
    tls_measure "tcsms Python" reconnect "$close_port" py_peer tcsms 1 "$close_port"
    tls_measure "tcsms Go" reconnect "$close_port" go_peer tcsms 1 "$close_port"
    tls_measure "official Go SDK" reconnect "$close_port" go_peer official 1 "$close_port"
    tls_measure "official Python SDK" reconnect "$close_port" py_peer official 1 "$close_port"
    tls_measure "tcsms C" process "$port" "${client_pin[@]}" python3 bench/spawn.py "$seconds" \
        "$work/cold" "https://127.0.0.1:$port" "$ca" 1 call
    tls_measure "tcsms Go" process "$port" "${client_pin[@]}" python3 bench/spawn.py "$seconds" \
        env GOMAXPROCS=1 LD_LIBRARY_PATH="$go_lib" "$work/gobench" cold-once 1 0 "$port"
    tls_measure "official Go SDK" process "$port" "${client_pin[@]}" python3 bench/spawn.py "$seconds" \
        env GOMAXPROCS=1 SSL_CERT_FILE="$ca" "$work/oneshot" "$port"
done

# Instructions of one cold iteration (new client, one call over TLS, free) under
# callgrind: a run of 21 iterations minus a run of 1, over 20, so that process start
# and the process's first root store drop out.
cold_cg() { # cold_cg N: instructions of the whole run
    (cd "$work" && valgrind --tool=callgrind --callgrind-out-file="$work/cold$1.out" \
        "$work/cold" "https://127.0.0.1:$port" "$ca" "$1" call >/dev/null 2>"$work/cold$1.err") || return 0
    callgrind_annotate "$work/cold$1.out" 2>/dev/null |
        sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,
}
cg_line=""
if selected callgrind; then
    echo "callgrind: cold iterations (21 minus 1)..." >&2
    one=$(cold_cg 1)
    many=$(cold_cg 21)
    if [ -n "$one" ] && [ -n "$many" ]; then
        cg_line="$(( (many - one) / 20 ))"
        echo "  $cg_line instructions per cold iteration" >&2
    else
        echo "bench: callgrind of bench/c/cold.c failed: $(tail -3 "$work/cold21.err" 2>/dev/null)" >&2
    fi
fi

args=(--tls "$results" "$cores" --rounds "$rounds" --cold-instructions "${cg_line:-}")
[ "$write" = 1 ] && args+=(--write bench/README.md)
python3 bench/report.py "${args[@]}"

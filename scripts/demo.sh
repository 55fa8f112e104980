#!/usr/bin/env bash
# The tcsms demo: builds and installs tcsms into target/demo/prefix, starts the local
# emulator, then sends an SMS and reports its conversion from the shell (tcsms), C, Python
# and Go, saying what each step shows. Stops the emulator at the end.
#
# No side effects outside target/demo: Python runs in a private virtual environment
# (target/demo/venv, reinstalled only when the sources change), Go builds with a private
# build cache (target/demo/gocache), so your own later builds never reuse an artifact
# linked against the demo's prefix. The emulator's log goes to target/demo/emulator.log.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Colour only on a terminal (and not with NO_COLOR set).
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' dim=$'\033[2m' off=$'\033[0m'; else bold="" dim="" off=""; fi
step=0
say() { step=$((step + 1)); printf '\n%s%d. %s%s\n' "$bold" "$step" "$1" "$off"; shift; for l in "$@"; do printf '%s   %s%s\n' "$dim" "$l" "$off"; done; }
show() { printf '$ %s\n' "$*"; }

# 0. Prerequisites, all checked before anything is built.
missing=()
command -v cargo >/dev/null || missing+=("cargo (Rust: https://rustup.rs)")
command -v go >/dev/null || missing+=("go (https://go.dev/dl, or: apt-get install golang-go)")
command -v python3 >/dev/null || missing+=("python3 (apt-get install python3)")
if command -v python3 >/dev/null && ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    missing+=("the Python venv module (apt-get install python3-venv)")
fi
command -v cc >/dev/null || missing+=("a C compiler, cc (apt-get install gcc)")
command -v pkg-config >/dev/null || missing+=("pkg-config (apt-get install pkg-config)")
if [ "${#missing[@]}" -gt 0 ]; then
    echo "scripts/demo.sh needs, and could not find:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    echo "Install them and run scripts/demo.sh again; nothing was built or changed." >&2
    exit 1
fi

demo="$root/target/demo"
prefix="$demo/prefix"
mkdir -p "$demo"

say "Building tcsms and installing it into target/demo/prefix" \
    "cargo build --release, then scripts/install.sh: the library, tcsms.h, pkg-config files," \
    "bin/tcsms and bin/tcsms-emulator, as a C, Python or Go user gets them (first run: a few minutes)."
cargo build --release --locked
scripts/install.sh -q --prefix "$prefix"
echo "installed: $(ls "$prefix/lib/libtcsms.so".* | head -n 1), $prefix/bin/tcsms, $prefix/bin/tcsms-emulator"

# The emulator's documented demo credentials (docs/emulator.md); the library and every
# example read them from the environment.
export TENCENTCLOUD_SECRET_ID="AKIDtcsmsdemo00000000000000000000000"
export TENCENTCLOUD_SECRET_KEY="tcsmsdemosecretkey00000000000000"
unset TENCENTCLOUD_SESSION_TOKEN TENCENTCLOUD_TOKEN

say "Starting the emulator, a local stand-in for the service" \
    "It checks signatures as the service does and records what was \"sent\"; nothing reaches a phone." \
    "Its log: target/demo/emulator.log. TCSMS_ENDPOINT points tcsms (library and command) at it."
emulator_pid=""
cleanup() {
    if [ -n "$emulator_pid" ]; then
        kill "$emulator_pid" 2>/dev/null || true
        wait "$emulator_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT
log="$demo/emulator.log"
: >"$log"
"$prefix/bin/tcsms-emulator" --listen 127.0.0.1:0 --app-id 1400000001 >"$log" 2>&1 &
emulator_pid=$!
endpoint=""
for _ in $(seq 200); do
    endpoint="$(sed -n '1s/^listening on //p' "$log")"
    [ -n "$endpoint" ] && break
    kill -0 "$emulator_pid" 2>/dev/null || break
    sleep 0.1
done
[ -n "$endpoint" ] || { echo "the emulator did not start; its log:" >&2; cat "$log" >&2; exit 1; }
export TCSMS_ENDPOINT="$endpoint"
show "export TCSMS_ENDPOINT=$endpoint"

say "The command line: send an SMS, then report that its code was used" \
    "tcsms send prints one result per number (Class ok: sent); report-conversion takes its SerialNo."
show "tcsms send --app-id 1400000001 --sign tcsms --template 2001 --param 1234 --param 5 +8613800000000"
sent="$("$prefix/bin/tcsms" send --app-id 1400000001 --sign tcsms --template 2001 --param 1234 --param 5 +8613800000000)"
echo "$sent"
serial="$(printf '%s' "$sent" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Results"][0]["SerialNo"])')"
show "tcsms report-conversion --app-id 1400000001 --serial-no $serial --table"
"$prefix/bin/tcsms" report-conversion --app-id 1400000001 --serial-no "$serial" --table

say "C: the README's quick start, built from the installed prefix" \
    "pkg-config gives the flags, the rpath lets it find libtcsms.so.1; tcsms_json_get reads the SerialNo."
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
show "cc bindings/c/examples/quickstart.c \$(pkg-config --cflags --libs tcsms) -Wl,-rpath,\$(pkg-config --variable=libdir tcsms) -o target/demo/quickstart"
# shellcheck disable=SC2046  # pkg-config's flags are words
cc bindings/c/examples/quickstart.c $(pkg-config --cflags --libs tcsms) \
    -Wl,-rpath,"$(pkg-config --variable=libdir tcsms)" -o "$demo/quickstart"
show "target/demo/quickstart"
"$demo/quickstart"

say "Python: the same flow with the tcsms package, in a private virtual environment" \
    "target/demo/venv; pip builds the package (with its own copy of libtcsms) only when the sources changed."
venv="$demo/venv"
stamp="$venv/.tcsms-installed"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if [ ! -f "$stamp" ] || [ -n "$(find bindings/python/src bindings/python/setup.py src Cargo.toml Cargo.lock -newer "$stamp" -print -quit)" ]; then
    echo "pip install ./bindings/python into target/demo/venv (about a minute the first time: it compiles libtcsms)"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check ./bindings/python
    touch "$stamp"
else
    echo "tcsms is current in target/demo/venv (pip install skipped)"
fi
show "target/demo/venv/bin/python bindings/python/examples/report_conversion.py"
"$venv/bin/python" bindings/python/examples/report_conversion.py

say "Go: the same flow with the Go binding (cgo, linked through pkg-config)" \
    "Built with a private build cache, target/demo/gocache: Go's cache does not notice a changed" \
    "PKG_CONFIG_PATH, so after changing prefixes in your own builds use go build -a."
show "go run ./examples/reportconversion   # in bindings/go, PKG_CONFIG_PATH=target/demo/prefix/lib/pkgconfig"
(cd bindings/go && GOCACHE="$demo/gocache" CGO_LDFLAGS="-Wl,-rpath,$prefix/lib" go run ./examples/reportconversion)

say "What the emulator recorded (GET $endpoint/_emulator/messages)" \
    "One message per send above: the command line, C, Python and Go."
python3 - "$TCSMS_ENDPOINT" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1].rstrip("/") + "/_emulator/messages") as r:
    messages = json.load(r)
for m in messages:
    converted = "conversion reported" if m.get("Conversion") else "no conversion"
    print(f"  {m.get('SerialNo')}  {m.get('PhoneNumber')}  {m.get('Text')}  ({converted})")
print(f"  {len(messages)} messages")
PY

printf '\n%sDone.%s Where to go next:\n' "$bold" "$off"
cat <<EOF
  - README.md: the C quick start, Python and Go in brief, configuration, production sending
  - docs/c.md, bindings/python/README.md, bindings/go/README.md: each language in full
  - docs/emulator.md: the emulator (also for the official SDKs and tccli); docs/cli.md: the tcsms command
  - your own programs against the emulator: export TCSMS_ENDPOINT=http://127.0.0.1:PORT
    (start it with $prefix/bin/tcsms-emulator --listen 127.0.0.1:0)
  - scripts/test.sh and CONTRIBUTING.md: the test suites
EOF

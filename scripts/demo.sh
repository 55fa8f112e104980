#!/usr/bin/env bash
# The tcsms demo: builds the library, the emulator and the command line, starts the
# emulator on a free loopback port, then sends an SMS and reports its conversion from the
# shell (tcsms), C, Python and Go, printing every answer. Stops the emulator at the end.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "building libtcsms, tcsms-emulator and the tcsms command (cargo build --release)"
cargo build --release --locked

# The emulator's documented demo credentials (docs/emulator.md).
export TENCENTCLOUD_SECRET_ID="AKIDtcsmsdemo00000000000000000000000"
export TENCENTCLOUD_SECRET_KEY="tcsmsdemosecretkey00000000000000"

say "starting the emulator"
work="$(mktemp -d)"
emulator_pid=""
cleanup() {
    if [ -n "$emulator_pid" ]; then
        kill "$emulator_pid" 2>/dev/null || true
        wait "$emulator_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
mkfifo "$work/out"
target/release/tcsms-emulator --listen 127.0.0.1:0 --app-id 1400000001 >"$work/out" &
emulator_pid=$!
exec 3<"$work/out"
read -r -t 20 first_line <&3 || { echo "the emulator did not start"; exit 1; }
echo "$first_line"
export TCSMS_ENDPOINT="${first_line#listening on }"
# Keep draining the emulator's output so it never blocks.
cat <&3 >/dev/null &

say "the command line (target/release/tcsms; TCSMS_ENDPOINT points it at the emulator)"
echo "\$ tcsms send --app-id 1400000001 --sign tcsms --template 2001 --param 1234 --param 5 +8613800000000 --table"
target/release/tcsms send --app-id 1400000001 --sign tcsms --template 2001 --param 1234 --param 5 +8613800000000 --table
serial=$(target/release/tcsms send --app-id 1400000001 --sign tcsms --template 2001 --param 1234 --param 5 +8613800000001 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Response"]["SendStatusSet"][0]["SerialNo"])')
echo "\$ tcsms report-conversion --app-id 1400000001 --serial-no $serial --table"
target/release/tcsms report-conversion --app-id 1400000001 --serial-no "$serial" --table

say "C (bindings/c/examples/report_conversion.c)"
gcc -std=c11 -Wall -Wextra -Werror -Iinclude bindings/c/examples/report_conversion.c \
    -Ltarget/release -ltcsms -Wl,-rpath,"$root/target/release" -o "$work/report_conversion"
"$work/report_conversion"

say "Python (bindings/python/examples/report_conversion.py)"
echo "installing the Python package: pip install ./bindings/python"
python3 -m pip install -q --root-user-action=ignore ./bindings/python
python3 bindings/python/examples/report_conversion.py

say "Go (bindings/go/examples/reportconversion)"
# The Go binding links the installed library through pkg-config: install into a prefix.
scripts/install.sh -q --prefix "$work/prefix"
(cd bindings/go && PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" LD_LIBRARY_PATH="$work/prefix/lib" \
    go run ./examples/reportconversion)

say "what the emulator recorded (GET /_emulator/messages)"
python3 - "$TCSMS_ENDPOINT" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1].rstrip("/") + "/_emulator/messages") as r:
    data = json.load(r)
print(json.dumps(data, ensure_ascii=False, indent=2))
PY
say "demo finished"

#!/usr/bin/env bash
# Builds the wheel once (`pip wheel ./bindings/python`: the portable glibc 2.17 library), then,
# for every CPython the package claims (requires-python: 3.8 to 3.13), installs it into a fresh
# virtual environment and runs the binding's tests there against the emulator. Run from
# anywhere; exits non-zero on any failure.
#
#   bindings/python/run-tests.sh [extra pytest args]
#
# The interpreters come from pyenv (`pyenv root`/versions/X.Y.*, the newest patch release),
# else from pythonX.Y on PATH; a missing one is a failure that names `pyenv install X.Y`
# (.ci/run installs them). The wheel is built with $PYTHON (default python3); the virtual
# environments live in target/python-venvs/X.Y, recreated each run.
#
# Environment:
#   TCSMS_PYTHON_VERSIONS  the minor versions to test (default: "3.8 3.9 3.10 3.11 3.12 3.13")
#   TCSMS_PYTHON_JOBS      how many versions are tested at once (default 2; the tests mostly
#                          wait on sockets and timers)
#   PYTHON                 the interpreter that builds the wheel (default: python3)
#   TCSMS_EMULATOR         emulator binary (default: <repo>/target/release/tcsms-emulator,
#                          built here when missing)
#   TCSMS_LIBRARY          test this libtcsms instead of the one in the wheel
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"

versions="${TCSMS_PYTHON_VERSIONS:-3.8 3.9 3.10 3.11 3.12 3.13}"
jobs="${TCSMS_PYTHON_JOBS:-2}"
python="${PYTHON:-python3}"
work="$repo/target/python-venvs"
mkdir -p "$work"

# find_python X.Y: the newest pyenv-installed X.Y.*, else pythonX.Y on PATH.
find_python() {
    local v="$1" root found=""
    if command -v pyenv >/dev/null 2>&1 && root="$(pyenv root 2>/dev/null)"; then
        found="$(ls -d "$root/versions/$v".[0-9]* 2>/dev/null | grep -E "/$v\.[0-9]+$" | sort -V | tail -n 1)"
        [ -z "$found" ] || { echo "$found/bin/python$v"; return 0; }
    fi
    command -v "python$v" 2>/dev/null
}
interpreters=()
missing=()
for v in $versions; do
    if p="$(find_python "$v")" && [ -x "$p" ]; then
        interpreters+=("$v=$p")
    else
        missing+=("$v")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "missing CPython ${missing[*]}: install with 'pyenv install ${missing[*]}' (.ci/run does)" >&2
    exit 1
fi

# The emulator the tests start.
if [[ -z "${TCSMS_EMULATOR:-}" && ! -x target/release/tcsms-emulator ]]; then
    echo "== building tcsms-emulator"
    cargo build --release -p tcsms-emulator
fi

started=$SECONDS
echo "== pip wheel ./bindings/python (the portable library: cargo zigbuild, reused when built)"
rm -rf "$work/wheelhouse"
"$python" -m pip wheel -q --disable-pip-version-check --no-deps ./bindings/python -w "$work/wheelhouse"
wheel="$(ls "$work"/wheelhouse/tcsms-*.whl)"
echo "   $(basename "$wheel") in $((SECONDS - started))s"

# test_one X.Y PYTHON: a fresh venv with the wheel and pytest, then the tests from outside the
# source tree, so the installed package is what is tested. Output in $work/X.Y.log.
test_one() {
    local v="$1" py="$2" venv="$work/$1" t0=$SECONDS rc=0
    {
        echo "== CPython $v: $("$py" --version 2>&1) at $py"
        "$py" -m venv --clear "$venv" &&
            "$venv/bin/python" -m pip install -q --disable-pip-version-check "$wheel" "pytest>=7" &&
            echo "== venv and pip install: $((SECONDS - t0))s" &&
            (cd "$here" && "$venv/bin/python" -m pytest -p no:cacheprovider tests "${@:3}")
    } >"$work/$v.log" 2>&1 || rc=$?
    echo "$rc $((SECONDS - t0))" >"$work/$v.status"
}

rm -f "$work"/*.status
echo "== pytest on CPython $versions ($jobs at a time; logs in target/python-venvs/X.Y.log)"
pids=()
for entry in "${interpreters[@]}"; do
    while [ "$(jobs -pr | wc -l)" -ge "$jobs" ]; do
        sleep 0.5
    done
    test_one "${entry%%=*}" "${entry#*=}" "$@" &
    pids+=($!)
done
for pid in "${pids[@]}"; do
    wait "$pid" || true
done

failed=()
for entry in "${interpreters[@]}"; do
    v="${entry%%=*}"
    rc=1 secs=?
    [ -f "$work/$v.status" ] && read -r rc secs <"$work/$v.status"
    if [ "$rc" = 0 ]; then
        echo "CPython $v: $(grep -E '^=+ .*(passed|failed).* in ' "$work/$v.log" | tail -n 1 | tr -d '=' | sed 's/^ *//;s/ *$//')" \
            "($(sed -n 's/^== venv and pip install: //p' "$work/$v.log") for the venv and pip install)"
    else
        failed+=("$v")
        echo "CPython $v: FAILED (exit $rc, ${secs}s); the end of $work/$v.log:"
        tail -n 40 "$work/$v.log" | sed 's/^/    /'
    fi
done
echo "python binding: ${#interpreters[@]} CPython versions, $(( ${#interpreters[@]} - ${#failed[@]} )) passed, ${#failed[@]} failed in $((SECONDS - started))s"
[ ${#failed[@]} -eq 0 ]

#!/usr/bin/env bash
# Install the Python binding (building libtcsms with cargo) and run its tests
# against the emulator.  Run from anywhere; exits non-zero on any failure.
#
#   bindings/python/run-tests.sh [extra pytest args]
#
# Environment:
#   PYTHON          interpreter to use (default: python3)
#   TCSMS_VENV      if set, create/use a virtualenv at this path instead of the
#                   current environment
#   TCSMS_EMULATOR  emulator binary (default: <repo>/target/release/tcsms-emulator,
#                   built here when missing)
#   TCSMS_LIBRARY   test this libtcsms instead of the one bundled by pip
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"

python="${PYTHON:-python3}"
if [[ -n "${TCSMS_VENV:-}" ]]; then
    if [[ ! -x "$TCSMS_VENV/bin/python" ]]; then
        "$python" -m venv "$TCSMS_VENV"
    fi
    python="$TCSMS_VENV/bin/python"
fi

echo "== python binding: $("$python" --version 2>&1) at $(command -v "$python")"

# The emulator the tests start (the library itself is built by pip below).
if [[ -z "${TCSMS_EMULATOR:-}" && ! -x target/release/tcsms-emulator ]]; then
    echo "== building tcsms-emulator"
    cargo build --release -p tcsms-emulator
fi

if ! "$python" -c "import pytest" 2>/dev/null; then
    "$python" -m pip install --quiet "pytest>=7"
fi

echo "== pip install ./bindings/python (cargo build --release --lib)"
"$python" -m pip install --quiet --force-reinstall --no-deps ./bindings/python

# Import from outside the source tree so the installed package is what is tested.
cd "$repo/bindings/python"
echo "== pytest bindings/python/tests"
exec "$python" -m pytest -p no:cacheprovider tests "$@"

#!/usr/bin/env bash
# The shared rate limiter (rate_limit_store, against a local redis-server) next to the
# in-process one: µs per call with 1 and 8 threads and their ratio (benches/rate_limit_store.rs).
# Needs `apt-get install redis-server`. Usage: bench/rate_limit_store.sh [calls per round]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v redis-server >/dev/null || { echo "redis-server is missing: apt-get install redis-server" >&2; exit 1; }
TCSMS_BENCH_CALLS="${1:-20000}" exec cargo bench --locked --bench rate_limit_store

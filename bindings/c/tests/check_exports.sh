#!/usr/bin/env bash
# Checks the dynamic symbol table of libtcsms.so against include/tcsms.h:
#   1. every defined dynamic symbol is a tcsms_* function or an allow-listed Rust runtime
#      symbol (anything else is printed and fails the check);
#   2. every function declared in include/tcsms.h is exported;
#   3. every exported tcsms_* symbol is declared in include/tcsms.h.
# Usage: check_exports.sh [path/to/libtcsms.so [path/to/tcsms.h]]
# Defaults are relative to the repository root ($TCSMS_ROOT, else two levels up).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="${TCSMS_ROOT:-$(cd "$here/../../.." && pwd)}"
lib="${1:-$root/target/release/libtcsms.so}"
header="${2:-$root/include/tcsms.h}"

# Rust runtime symbols a cdylib may export whatever its code (rust-lang/rust#100774).
# The current toolchain exports none of them; these are the ones allowed if it does.
allowed_runtime=(rust_eh_personality)

[ -f "$lib" ] || { echo "FAIL exports: $lib not found (run cargo build --release)"; exit 1; }
[ -f "$header" ] || { echo "FAIL exports: $header not found"; exit 1; }

exported="$(nm -D --defined-only "$lib" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u)"
# Function names declared in the header, outside comments.
declared="$(grep -vE '^[[:space:]]*(\*|/\*|//)' "$header" \
    | grep -oE '\btcsms_[A-Za-z0-9_]+[[:space:]]*\(' | sed 's/[[:space:]]*($//' | sort -u)"

failed=0
unexpected=()
while read -r sym; do
    [ -n "$sym" ] || continue
    case "$sym" in
        tcsms_*) continue ;;
    esac
    ok=0
    for a in "${allowed_runtime[@]}"; do [ "$sym" = "$a" ] && ok=1; done
    [ "$ok" = 1 ] || unexpected+=("$sym")
done <<< "$exported"
if [ "${#unexpected[@]}" -gt 0 ]; then
    echo "FAIL exports: symbols other than tcsms_* exported by $lib:"
    printf '       %s\n' "${unexpected[@]}"
    failed=1
else
    echo "ok   exports: only tcsms_* (and allow-listed runtime) symbols are exported"
fi

missing="$(comm -23 <(echo "$declared") <(echo "$exported"))"
if [ -n "$missing" ]; then
    echo "FAIL exports: declared in tcsms.h but not exported:"
    echo "$missing" | sed 's/^/       /'
    failed=1
else
    echo "ok   exports: all $(echo "$declared" | wc -l) functions of tcsms.h are exported"
fi

undeclared="$(comm -13 <(echo "$declared") <(echo "$exported" | grep '^tcsms_' || true))"
if [ -n "$undeclared" ]; then
    echo "FAIL exports: exported but not declared in tcsms.h:"
    echo "$undeclared" | sed 's/^/       /'
    failed=1
else
    echo "ok   exports: every exported tcsms_* symbol is declared in tcsms.h"
fi
# Functions whose C signature an issue fixes exactly: declared with it, and exported.
contracts=("tcsms_status tcsms_parse_callback(const char *body, size_t len, char **out_json);"
           "tcsms_status tcsms_json_get(const char *json, const char *path, char **out_value);")
for c in "${contracts[@]}"; do
    name="$(echo "$c" | grep -oE 'tcsms_[a-z_]+\(' | tr -d '(')"
    if grep -qF "$c" "$header" && grep -qx "$name" <<< "$exported"; then
        echo "ok   exports: $name is declared exactly as the contract says, and exported"
    else
        echo "FAIL exports: $name must be declared as \`$c\` and exported"
        failed=1
    fi
done
exit "$failed"

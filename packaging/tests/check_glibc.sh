#!/usr/bin/env bash
# Checks that ELF files run on glibc 2.17 with only manylinux2014's system libraries:
#   - no dynamic symbol asks for a GLIBC_ version above 2.17 (nor GLIBC_PRIVATE);
#   - every DT_NEEDED library is one of libc, libm, libpthread, libdl, librt, libgcc_s and
#     the dynamic loader.
# Usage: check_glibc.sh FILE...   Prints each file's highest GLIBC_ version and libraries;
# names every offending symbol or library; exits 1 if there is any.
set -uo pipefail

max=2.17
allowed_libs=" libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 libgcc_s.so.1 ld-linux-x86-64.so.2 ld-linux-aarch64.so.1 "
[ $# -gt 0 ] || { echo "usage: check_glibc.sh FILE..." >&2; exit 2; }

bad=0
for f in "$@"; do
    if ! objdump -T "$f" >/tmp/check_glibc.$$ 2>&1; then
        echo "$f: objdump -T failed: $(cat /tmp/check_glibc.$$)"
        bad=1
        continue
    fi
    # "(GLIBC_2.14) memcpy" -> "2.14 memcpy"; versions compared field by field.
    offending="$(sed -n 's/.*[( ]GLIBC_\([0-9.]*\|PRIVATE\))\{0,1\} \{1,\}\([^ ]*\)$/\1 \2/p' /tmp/check_glibc.$$ |
        awk -v max="$max" '
            function above(v, m,   a, b, n, i) {
                if (v == "PRIVATE") return 1
                n = split(v, a, "."); split(m, b, ".")
                for (i = 1; i <= n || i <= 2; i++) {
                    if ((a[i] + 0) > (b[i] + 0)) return 1
                    if ((a[i] + 0) < (b[i] + 0)) return 0
                }
                return 0
            }
            above($1, max) { print "GLIBC_" $1 " " $2 }')"
    highest="$(sed -n 's/.*[( ]GLIBC_\([0-9.]*\))\{0,1\} .*/\1/p' /tmp/check_glibc.$$ | sort -uV | tail -n 1)"
    needed="$(readelf -d "$f" | sed -n 's/.*(NEEDED) *Shared library: \[\(.*\)\]$/\1/p' | tr '\n' ' ')"
    echo "$f: highest GLIBC_${highest:-none}; needs ${needed:-nothing}"
    while read -r line; do
        [ -n "$line" ] || continue
        echo "  $f asks for $line (above GLIBC_$max)"
        bad=1
    done <<<"$offending"
    for lib in $needed; do
        case "$allowed_libs" in
            *" $lib "*) ;;
            *) echo "  $f needs $lib, outside the manylinux2014 libraries"; bad=1 ;;
        esac
    done
done
rm -f /tmp/check_glibc.$$
exit $bad

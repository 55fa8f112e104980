#!/usr/bin/env bash
# Installs libtcsms, the tcsms command and tcsms-emulator into a prefix, building them first if needed:
#
#   scripts/install.sh --prefix DIR        (DESTDIR=/staging is honoured, as with make)
#
#   DIR/lib/libtcsms.so.N          stripped, SONAME libtcsms.so.N (N = TCSMS_ABI_VERSION)
#   DIR/lib/libtcsms.so            -> libtcsms.so.N
#   DIR/lib/libtcsms.a
#   DIR/include/tcsms.h
#   DIR/lib/pkgconfig/tcsms.pc     Libs.private = rustc's native-static-libs
#   DIR/lib/pkgconfig/tcsms-static.pc   links libtcsms.a by path (+ the same libraries)
#   DIR/lib/cmake/tcsms/tcsmsConfig.cmake, tcsmsConfigVersion.cmake
#   DIR/bin/tcsms (the command line), DIR/bin/tcsms-emulator
#
# Everything is derived from the build: the header is the one the build generated, the
# version and ABI major come from it (TCSMS_VERSION is Cargo.toml's), the system libraries from
# `cargo rustc ... --print native-static-libs` (the one source of that list; cached in the
# target directory per rustc version and Cargo.lock). Needs cargo; installs patchelf and
# cmake with apt-get when they are missing. Options: --no-build (use what target/release
# holds), --no-strip (keep symbols, e.g. for valgrind's suppressions in the C tests), -q.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/scripts/lib/cargo.sh"
prefix=""
build=1
strip_opt=--strip-unneeded
quiet=0
usage() { sed -n '2,3p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || usage; prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#--prefix=}"; shift ;;
        --no-build) build=0; shift ;;
        --no-strip) strip_opt=""; shift ;;
        -q) quiet=1; shift ;;
        -h|--help) usage ;;
        *) echo "install.sh: unknown argument: $1" >&2; usage ;;
    esac
done
[ -n "$prefix" ] || { echo "install.sh: --prefix DIR is required" >&2; usage; }
case "$prefix" in
    /*) ;;
    *) prefix="$(pwd)/$prefix" ;;
esac
prefix="${prefix%/}"
dest="${DESTDIR:-}${prefix}"

say() { [ "$quiet" = 1 ] || echo "install.sh: $*"; }
die() { echo "install.sh: $*" >&2; exit 1; }

# Tools this script needs beyond cargo and a C toolchain.
need_apt=()
command -v patchelf >/dev/null 2>&1 || need_apt+=(patchelf)
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
command -v strip >/dev/null 2>&1 || need_apt+=(binutils)
if [ ${#need_apt[@]} -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 || die "missing tools: ${need_apt[*]} (install them)"
    sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    say "installing ${need_apt[*]} with apt-get"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
command -v cargo >/dev/null 2>&1 || die "cargo not found (see the README's set-up)"

cd "$root"
cargo_q=()
[ "$quiet" = 1 ] && cargo_q=(--quiet)
target="$(cargo metadata --format-version 1 --no-deps --locked |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
[ -n "$target" ] || die "cannot find cargo's target directory"
release="$target/release"

# rustc's native-static-libs for libtcsms.a. Printing it rebuilds the crate, so the answer
# is cached for this rustc and this Cargo.lock.
nsl_cache="$release/tcsms-native-static-libs"
nsl_key="$( (rustc -vV; cat Cargo.lock) | cksum | cut -d' ' -f1)"
native_static_libs=""
if [ -f "$nsl_cache" ] && [ "$(sed -n 1p "$nsl_cache")" = "$nsl_key" ]; then
    native_static_libs="$(sed -n 2p "$nsl_cache")"
fi
if [ -z "$native_static_libs" ]; then
    [ "$build" = 1 ] || die "no cached native-static-libs in $nsl_cache; run without --no-build"
    say "asking rustc for native-static-libs"
    nsl_out="$(cargo rustc "${cargo_q[@]}" --release --locked --lib --crate-type staticlib \
        -- --print native-static-libs 2>&1)" || { echo "$nsl_out" >&2; die "cargo rustc failed"; }
    native_static_libs="$(printf '%s\n' "$nsl_out" | sed -n 's/^note: native-static-libs: //p' | tail -1)"
    [ -n "$native_static_libs" ] || { echo "$nsl_out" >&2; die "rustc printed no native-static-libs"; }
    mkdir -p "$release"
    printf '%s\n%s\n' "$nsl_key" "$native_static_libs" > "$nsl_cache"
fi

# The header to install is the one the build generated for this library ($OUT_DIR/tcsms.h
# of the tcsms build script); with --no-build, the committed include/tcsms.h.
header="$root/include/tcsms.h"
if [ "$build" = 1 ]; then
    say "cargo build --release"
    cargo build "${cargo_q[@]}" --release --locked --message-format=json-render-diagnostics > "$release/tcsms-install-build.json" ||
        die "cargo build failed"
    out_dir="$(tcsms_out_dir < "$release/tcsms-install-build.json")"
    [ -n "$out_dir" ] && [ -f "$out_dir/tcsms.h" ] || die "the build script wrote no tcsms.h"
    header="$out_dir/tcsms.h"
    cmp -s "$header" "$root/include/tcsms.h" ||
        echo "install.sh: warning: include/tcsms.h is stale (scripts/header.sh --update); installing the generated one" >&2
fi
for f in libtcsms.so libtcsms.a tcsms-emulator tcsms; do
    [ -f "$release/$f" ] || die "$release/$f is missing (run without --no-build)"
done

version="$(sed -n 's/^#define TCSMS_VERSION "\(.*\)"$/\1/p' "$header")"
abi="$(sed -n 's/^#define TCSMS_ABI_VERSION \([0-9][0-9]*\)$/\1/p' "$header")"
[ -n "$version" ] && [ -n "$abi" ] || die "$header lacks TCSMS_VERSION or TCSMS_ABI_VERSION"
soname="libtcsms.so.$abi"

say "installing tcsms $version (ABI $abi) into ${dest}"
install -d "$dest/lib/pkgconfig" "$dest/lib/cmake/tcsms" "$dest/include" "$dest/bin"

# Shared library: stripped, then given its SONAME (the build tree's copy keeps none, so
# programs linked against target/release keep working).
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp "$release/libtcsms.so" "$tmp/$soname"
[ -z "$strip_opt" ] || strip "$strip_opt" "$tmp/$soname"
patchelf --set-soname "$soname" "$tmp/$soname"
install -m 755 "$tmp/$soname" "$dest/lib/$soname"
ln -sfn "$soname" "$dest/lib/libtcsms.so"
cp "$release/libtcsms.a" "$tmp/libtcsms.a"
[ -z "$strip_opt" ] || strip --strip-debug "$tmp/libtcsms.a"
install -m 644 "$tmp/libtcsms.a" "$dest/lib/libtcsms.a"
install -m 644 "$header" "$dest/include/tcsms.h"
for program in tcsms tcsms-emulator; do
    cp "$release/$program" "$tmp/$program"
    [ -z "$strip_opt" ] || strip "$tmp/$program"
    install -m 755 "$tmp/$program" "$dest/bin/$program"
done

# pkg-config and CMake files, from templates in packaging/.
fill() { # fill TEMPLATE OUT
    sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" -e "s|@ABI@|$abi|g" \
        -e "s|@NATIVE_STATIC_LIBS@|$native_static_libs|g" \
        -e "s|@NATIVE_STATIC_LIBS_CMAKE@|$(printf '%s' "$native_static_libs" | tr -s ' ' ';')|g" \
        "$1" > "$2"
    chmod 644 "$2"
}
fill packaging/tcsms.pc.in "$dest/lib/pkgconfig/tcsms.pc"
fill packaging/tcsms-static.pc.in "$dest/lib/pkgconfig/tcsms-static.pc"
fill packaging/cmake/tcsmsConfig.cmake.in "$dest/lib/cmake/tcsms/tcsmsConfig.cmake"
cmake -DVERSION="$version" -DOUT="$dest/lib/cmake/tcsms/tcsmsConfigVersion.cmake" \
    -DCMAKE_SIZEOF_VOID_P="$(( $(getconf LONG_BIT) / 8 ))" -P packaging/cmake/write-version.cmake

say "installed: $(cd "$dest" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort | tr '\n' ' ')"

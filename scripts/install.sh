#!/usr/bin/env bash
# Installs libtcsms, the tcsms command and tcsms-emulator into a prefix, building them first.
#
# Usage: scripts/install.sh --prefix DIR [--native] [--no-build] [--no-strip]
#                           [--install-system-packages] [-q] [-h|--help]
#
#   --prefix DIR     where to install (DESTDIR=/staging is honoured, as with make)
#   --native         build with the host toolchain (cargo build --release, into
#                    target/release) instead of the portable glibc 2.17 build
#   --no-build       install what the last build left in the target directory
#   --no-strip       keep symbols (e.g. for valgrind's suppressions in the C tests)
#   --install-system-packages
#                    install missing system packages (patchelf, cmake, binutils, pip)
#                    with sudo apt-get; as root they are installed without asking;
#                    otherwise the apt-get command is printed and nothing is installed
#   -q               print only warnings and errors
#   -h, --help       print this help and exit
#
# By default every installed file is built for glibc 2.17 (RHEL/CentOS 7 and newer), with
# cargo-zigbuild (`--target <host>.2.17`) and zig from PyPI, pinned in
# bindings/python/pyproject.toml ([tool.tcsms] portable-build-tools) and installed on first
# use into ${XDG_CACHE_HOME:-~/.cache}/tcsms/tools (about 95 MB to download, once). The
# build goes to target/<host>/release; `cargo build --release` (target/release) is untouched.
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
# version and ABI major come from it (TCSMS_VERSION is Cargo.toml's), the system libraries
# from rustc's native-static-libs for libtcsms.a (the one source of that list; the portable
# build prints it with the very build that made the archive, the native one asks
# `cargo rustc` once per rustc version and Cargo.lock). Each build also writes the list to
# the release directory as tcsms-native-static-libs, which --no-build reads.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/scripts/lib/cargo.sh"
prefix=""
build=1
native=0
strip_opt=--strip-unneeded
quiet=0
install_system=0
usage() { sed -n '2,/^set -euo/{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
bad_usage() { echo "install.sh: $*" >&2; usage >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || bad_usage "--prefix needs a directory"; prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#--prefix=}"; shift ;;
        --native) native=1; shift ;;
        --no-build) build=0; shift ;;
        --no-strip) strip_opt=""; shift ;;
        --install-system-packages) install_system=1; shift ;;
        -q) quiet=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) bad_usage "unknown argument: $1" ;;
    esac
done
[ -n "$prefix" ] || bad_usage "--prefix DIR is required"
case "$prefix" in
    /*) ;;
    *) prefix="$(pwd)/$prefix" ;;
esac
prefix="${prefix%/}"
dest="${DESTDIR:-}${prefix}"

say() { [ "$quiet" = 1 ] || echo "install.sh: $*"; }
die() { echo "install.sh: $*" >&2; exit 1; }

# System packages this script needs beyond cargo and a C toolchain. They are installed as
# root, or with sudo when asked (--install-system-packages); otherwise the command is printed.
need_apt=()
command -v patchelf >/dev/null 2>&1 || need_apt+=(patchelf)
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
command -v strip >/dev/null 2>&1 || need_apt+=(binutils)
if [ "$native" = 0 ] && [ "$build" = 1 ] && ! python3 -m pip --version >/dev/null 2>&1; then
    need_apt+=(python3-pip)   # the portable build's tools come from PyPI
fi
if [ ${#need_apt[@]} -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 ||
        die "missing: ${need_apt[*]}; install them with your system's package manager and run again"
    sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    apt_cmd="${sudo[*]}${sudo:+ }apt-get install -y ${need_apt[*]}"
    if [ "$(id -u)" != 0 ] && [ "$install_system" = 0 ]; then
        echo "install.sh: missing system packages: ${need_apt[*]}" >&2
        echo "install.sh: install them with:  $apt_cmd" >&2
        die "or run again with --install-system-packages to have this script run it"
    fi
    say "installing ${need_apt[*]}: $apt_cmd (about a minute)"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust: https://rustup.rs)"

cd "$root"
cargo_q=()
[ "$quiet" = 1 ] && cargo_q=(--quiet)
target="$(cargo metadata --format-version 1 --no-deps --locked |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
[ -n "$target" ] || die "cannot find cargo's target directory"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# run_cargo JSON ERR cargo-args...: runs cargo with its JSON messages into JSON and its
# progress and diagnostics both on stderr (unless -q) and into ERR.
run_cargo() {
    local json="$1" err="$2"; shift 2
    if [ "$quiet" = 1 ]; then
        "$@" >"$json" 2>"$err" || { cat "$err" >&2; return 1; }
    else
        { "$@" 2>&1 >"$json" | tee "$err" >&2; } || return 1
    fi
}
# rustc's note, printed once per staticlib build (and replayed by cargo when nothing changed).
nsl_from() { sed -n 's/^note: native-static-libs: //p' "$1" | tail -n 1; }

if [ "$native" = 0 ]; then
    # ---- the portable build: glibc 2.17 with cargo-zigbuild ------------------------------
    host="$(rustc -vV | sed -n 's/^host: //p')"
    case "$host" in
        *-unknown-linux-gnu) ;;
        *) die "the portable build is for Linux glibc hosts (this is $host); use --native" ;;
    esac
    release="$target/$host/release"
    if [ "$build" = 1 ]; then
        # The tools live outside the checkout, in a private directory named after their pinned
        # versions: fresh clones, worktrees and `cargo clean` reuse them (zig is ~300 MB
        # unpacked), nothing global changes (no PATH, no site-packages, no sudo), and a new pin
        # installs beside the old. `pip install --target` needs no venv module (Debian ships it
        # separately) and is allowed on an externally managed Python. setup.py, which builds
        # the wheel, uses the same directory, so cargo sees the same linker wrappers and the
        # wheel reuses this build.
        pins="$(sed -n 's/^portable-build-tools = \[\(.*\)\]$/\1/p' bindings/python/pyproject.toml |
            grep -o '"[^"]*"' | tr -d '"' | tr '\n' ' ')"
        [ -n "$pins" ] || die "bindings/python/pyproject.toml has no portable-build-tools"
        tools_name="$(printf '%s' "$pins" | sed -e 's/==/-/g' -e 's/ *$//' -e 's/ /_/g')"
        tools="${TCSMS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tcsms/tools}/$tools_name"
        if [ ! -x "$tools/bin/cargo-zigbuild" ] || [ ! -x "$tools/ziglang/zig" ]; then
            say "installing ${pins% } from PyPI into $tools (about 95 MB to download, once)"
            mkdir -p "$(dirname "$tools")"
            staging="$(mktemp -d "$tools.XXXXXX")"
            # shellcheck disable=SC2086 # pins: one word per requirement
            PIP_ROOT_USER_ACTION=ignore python3 -m pip install ${cargo_q[@]:+-q} --disable-pip-version-check \
                --no-deps --only-binary=:all: --target "$staging" $pins ||
                { rm -rf "$staging"; die "pip could not install ${pins% }"; }
            rm -rf "$tools"   # an incomplete earlier install
            mv -T "$staging" "$tools" 2>/dev/null || rm -rf "$staging"   # another build was first
            [ -x "$tools/bin/cargo-zigbuild" ] && [ -x "$tools/ziglang/zig" ] ||
                die "$tools lacks bin/cargo-zigbuild or ziglang/zig after pip install"
        fi
        say "building for glibc 2.17: cargo zigbuild --release --target $host.2.17" \
            "(the first build takes 2-5 minutes on 2 cores, then seconds)"
        # rustc prints native-static-libs with the very build that makes libtcsms.a; setup.py
        # sets the same flags, so the wheel's build is this one.
        if ! RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }--print=native-static-libs" \
            PATH="$tools/ziglang:$tools/bin:$PATH" \
            run_cargo "$tmp/build.json" "$tmp/build.err" \
            cargo zigbuild "${cargo_q[@]}" --release --locked --target "$host.2.17" \
            --message-format=json-render-diagnostics; then
            die "cargo zigbuild failed"
        fi
        native_static_libs="$(nsl_from "$tmp/build.err")"
        [ -n "$native_static_libs" ] || die "rustc printed no native-static-libs"
        printf 'portable %s\n%s\n' "$host.2.17" "$native_static_libs" > "$release/tcsms-native-static-libs"
    fi
else
    # ---- the native build: the host toolchain, target/release ----------------------------
    release="$target/release"
    # Asking rustc for native-static-libs rebuilds the crate, so the answer is cached for
    # this rustc and this Cargo.lock.
    nsl_key="native $( (rustc -vV; cat Cargo.lock) | cksum | cut -d' ' -f1)"
    if [ "$build" = 1 ] && ! { [ -f "$release/tcsms-native-static-libs" ] &&
        [ "$(sed -n 1p "$release/tcsms-native-static-libs")" = "$nsl_key" ]; }; then
        say "asking rustc for native-static-libs: cargo rustc --crate-type staticlib" \
            "(rebuilds the tcsms crate once per rustc and Cargo.lock: about a minute)"
        run_cargo "$tmp/nsl.json" "$tmp/nsl.err" cargo rustc "${cargo_q[@]}" --release --locked --lib \
            --crate-type staticlib -- --print native-static-libs || die "cargo rustc failed"
        native_static_libs="$(nsl_from "$tmp/nsl.err")"
        [ -n "$native_static_libs" ] || die "rustc printed no native-static-libs"
        mkdir -p "$release"
        printf '%s\n%s\n' "$nsl_key" "$native_static_libs" > "$release/tcsms-native-static-libs"
    fi
    if [ "$build" = 1 ]; then
        say "cargo build --release (a minute or two when the library changed, else seconds)"
        run_cargo "$tmp/build.json" "$tmp/build.err" \
            cargo build "${cargo_q[@]}" --release --locked --message-format=json-render-diagnostics ||
            die "cargo build failed"
    fi
fi
if [ "$build" = 0 ]; then
    [ -f "$release/tcsms-native-static-libs" ] ||
        die "no native-static-libs in $release/tcsms-native-static-libs; run without --no-build"
fi
native_static_libs="$(sed -n 2p "$release/tcsms-native-static-libs")"
[ -n "$native_static_libs" ] || die "$release/tcsms-native-static-libs is empty; run without --no-build"

# The header to install is the one the build generated for this library ($OUT_DIR/tcsms.h
# of the tcsms build script); with --no-build, the committed include/tcsms.h.
header="$root/include/tcsms.h"
if [ "$build" = 1 ]; then
    out_dir="$(tcsms_out_dir < "$tmp/build.json")"
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

say "installing tcsms $version (ABI $abi) from $release into ${dest}"
install -d "$dest/lib/pkgconfig" "$dest/lib/cmake/tcsms" "$dest/include" "$dest/bin"

# Shared library: stripped, then given its SONAME (the build tree's copy keeps none, so
# programs linked against the build tree keep working).
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

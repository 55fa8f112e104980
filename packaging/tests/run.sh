#!/usr/bin/env bash
# Consumer tests of the installed artifacts (the `install` suite of scripts/test.sh).
# Installs the checkout into a temporary prefix with scripts/install.sh (the default, portable
# build for glibc 2.17), then, from a temporary directory outside the checkout and against the
# installed emulator:
#   - the prefix: SONAME, symlink, stripped size (<= 3 MiB), exports, pkg-config and CMake
#     versions, DESTDIR, no copy of native-static-libs kept in the repository; every shipped
#     ELF file asks for at most GLIBC_2.17 and only manylinux2014 libraries (check_glibc.sh,
#     itself shown to catch a newer symbol and a foreign library); the header compiles as
#     C99 and C++11 with -pedantic-errors -Werror;
#   (a) a C program built with `pkg-config --cflags --libs tcsms` (and tcsms-static);
#   (b) a CMake project with tcsms::tcsms, and with tcsms::tcsms_static (no libtcsms in ldd);
#   (c) `pip wheel ./bindings/python`: one py3-none-manylinux_2_17_x86_64 wheel (alias
#       manylinux2014 beside it), the tag auditwheel shows, its library checked as above,
#       installed in a fresh venv with cargo hidden (PATH without it, HOME elsewhere); and
#       the sdist installed with pip where cargo exists;
#   (d) a Go program in its own module (a replace to bindings/go) built with only
#       PKG_CONFIG_PATH pointing at the prefix, dynamically and with -tags tcsms_static.
# Every consumer sends one SMS to its own number; the emulator must have recorded it.
# Each check prints its duration. Ends with "N passed, N failed"; exits non-zero if any failed.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/tcsms-install-test.XXXXXX")"
prefix="$tmp/prefix"
emu_pid=""
cleanup() {
    if [ -n "$emu_pid" ]; then
        kill "$emu_pid" 2>/dev/null
        wait "$emu_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
case "$tmp" in "$root"/*) echo "the temporary directory $tmp is inside the checkout"; exit 1 ;; esac

passed=0
failed=0
# check NAME COMMAND...: runs COMMAND (output to $tmp/logs/NAME.log), counts ok/FAIL.
mkdir -p "$tmp/logs"
check() {
    local name="$1"; shift
    local log="$tmp/logs/$name.log" started=$SECONDS
    if ( "$@" ) >"$log" 2>&1; then
        passed=$((passed + 1))
        echo "ok    $name ($((SECONDS - started))s)"
    else
        failed=$((failed + 1))
        echo "FAIL  $name ($((SECONDS - started))s)"
        tail -n 25 "$log" | sed -e 's/^/      /' -e '$a\'   # (ends the last line)
    fi
}
# has FILE PATTERN: FILE contains PATTERN (grep -E), shown when it does not.
has() { grep -Eq -- "$2" "$1" || { echo "no /$2/ in $1:"; cat "$1"; return 1; }; }

# Python tools of the wheel and sdist checks (.ci/run installs them too).
python3 -c 'import auditwheel, build' 2>/dev/null || python3 -m pip install -q auditwheel build

version="$(sed -n 's/^#define TCSMS_VERSION "\(.*\)"$/\1/p' "$root/include/tcsms.h")"
abi="$(sed -n 's/^#define TCSMS_ABI_VERSION \([0-9][0-9]*\)$/\1/p' "$root/include/tcsms.h")"
cargo_version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml")"
echo "tcsms $version (ABI $abi); temporary directory $tmp"

# ---- install ----------------------------------------------------------------------
check install "$root/scripts/install.sh" --prefix "$prefix"
[ -f "$prefix/lib/libtcsms.so.$abi" ] || { echo "install failed; $failed failed"; echo "$passed passed, $failed failed"; exit 1; }
lib="$prefix/lib/libtcsms.so.$abi"

t_layout() {
    local f
    for f in lib/libtcsms.so.$abi lib/libtcsms.a include/tcsms.h lib/pkgconfig/tcsms.pc \
        lib/pkgconfig/tcsms-static.pc lib/cmake/tcsms/tcsmsConfig.cmake \
        lib/cmake/tcsms/tcsmsConfigVersion.cmake bin/tcsms-emulator bin/tcsms; do
        [ -f "$prefix/$f" ] || { echo "missing $f"; return 1; }
    done
    [ "$(readlink "$prefix/lib/libtcsms.so")" = "libtcsms.so.$abi" ] || { echo "libtcsms.so is not a symlink to libtcsms.so.$abi"; return 1; }
    [ "$version" = "$cargo_version" ] || { echo "header TCSMS_VERSION $version != Cargo.toml $cargo_version"; return 1; }
}
check layout-and-version t_layout

t_soname() {
    readelf -d "$lib" | tee "$tmp/readelf.out"
    has "$tmp/readelf.out" "\(SONAME\) +Library soname: \[libtcsms\.so\.$abi\]"
}
check soname t_soname

t_size() {
    local size
    size=$(stat -c %s "$lib")
    echo "installed libtcsms.so.$abi: $size bytes ($(awk "BEGIN{printf \"%.2f\", $size/1048576}") MiB)"
    ! readelf -S "$lib" | grep -q '\.symtab' || { echo "not stripped (.symtab present)"; return 1; }
    [ "$size" -le $((3 * 1024 * 1024)) ] || { echo "larger than 3 MiB"; return 1; }
}
check stripped-size-at-most-3MiB t_size
sed -n 1p "$tmp/logs/stripped-size-at-most-3MiB.log"

check exports-only-tcsms "$root/bindings/c/tests/check_exports.sh" "$lib" "$prefix/include/tcsms.h"

# install.sh's portable build: target/<host>/release (cargo zigbuild --target <host>.2.17).
host="$(rustc -vV | sed -n 's/^host: //p')"
nsl="$(sed -n 2p "$root/target/$host/release/tcsms-native-static-libs" 2>/dev/null)"
t_pkgconfig() {
    export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
    [ "$(pkg-config --modversion tcsms)" = "$version" ] || { echo "tcsms.pc version"; return 1; }
    [ "$(pkg-config --modversion tcsms-static)" = "$version" ] || { echo "tcsms-static.pc version"; return 1; }
    [ -n "$nsl" ] || { echo "no native-static-libs cached by install.sh"; return 1; }
    pkg-config --static --libs tcsms | tee "$tmp/pc-static"
    pkg-config --libs tcsms-static | tee "$tmp/pc-static2"
    has "$tmp/pc-static" "^-L$prefix/lib -ltcsms $nsl *\$" && has "$tmp/pc-static2" "^$prefix/lib/libtcsms.a $nsl *\$"
}
check pkgconfig-files t_pkgconfig

# The list of system libraries has one source (rustc, through install.sh): no tracked file
# carries a copy of it.
t_one_list() {
    ! git -C "$root" grep -n -e '-lgcc_s' -e '-lutil -lrt' -- . ':!packaging/tests/run.sh'
}
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
    check native-static-libs-not-copied t_one_list
fi

t_destdir() {
    DESTDIR="$tmp/destdir" "$root/scripts/install.sh" -q --no-build --prefix /opt/tcsms &&
        [ -f "$tmp/destdir/opt/tcsms/lib/libtcsms.so.$abi" ] &&
        [ -f "$tmp/destdir/opt/tcsms/lib/cmake/tcsms/tcsmsConfig.cmake" ] &&
        has "$tmp/destdir/opt/tcsms/lib/pkgconfig/tcsms.pc" '^prefix=/opt/tcsms$'
}
check destdir t_destdir

# ---- runs on glibc 2.17 --------------------------------------------------------------
t_glibc() {
    "$here/check_glibc.sh" "$lib" "$prefix/bin/tcsms" "$prefix/bin/tcsms-emulator"
}
check elf-glibc-2.17-manylinux2014-libs t_glibc
sed -n 's/^\/.*\/\([^/]*\): highest/  \1: highest/p' "$tmp/logs/elf-glibc-2.17-manylinux2014-libs.log"

# The check fails, naming the symbol and the library, on a file built here that asks for
# getrandom (GLIBC_2.25) and needs a library of its own.
t_glibc_catches() {
    mkdir -p "$tmp/neg" && cd "$tmp/neg" || return 1
    printf 'int foo_answer(void) { return 42; }\n' >foo.c
    printf '#include <sys/random.h>\nint foo_answer(void);\nint f(void *b) { return (int)getrandom(b, 1, 0) + foo_answer(); }\n' >bad.c
    cc -shared -fPIC foo.c -o libfoo.so && cc -shared -fPIC bad.c -o libbad.so -L. -lfoo || return 1
    ! "$here/check_glibc.sh" libbad.so >check.out
    cat check.out
    has check.out 'libbad\.so asks for GLIBC_2\.25 getrandom' && has check.out 'libbad\.so needs libfoo\.so'
}
check elf-check-catches-newer-glibc t_glibc_catches

t_header_pedantic() {
    printf '#include <tcsms.h>\nint main(void) { return tcsms_abi_version() == 0; }\n' >"$tmp/hdr.c"
    cc -std=c99 -pedantic-errors -Wall -Wextra -Werror -I"$prefix/include" -c "$tmp/hdr.c" -o "$tmp/hdr-c99.o" &&
        c++ -std=c++11 -pedantic-errors -Wall -Wextra -Werror -I"$prefix/include" -x c++ -c "$tmp/hdr.c" -o "$tmp/hdr-cxx11.o"
}
check header-c99-cxx11-pedantic t_header_pedantic

# ---- the emulator (installed) ------------------------------------------------------
"$prefix/bin/tcsms-emulator" --listen 127.0.0.1:0 --rate-limit all=0 >"$tmp/emulator.out" 2>"$tmp/emulator.err" &
emu_pid=$!
endpoint=""
for _ in $(seq 100); do
    endpoint="$(sed -n '1s/^listening on //p' "$tmp/emulator.out")"
    [ -n "$endpoint" ] && break
    sleep 0.1
done
[ -n "$endpoint" ] || { echo "the emulator did not start"; cat "$tmp/emulator.err"; echo "$passed passed, $((failed + 1)) failed"; exit 1; }
echo "emulator at $endpoint"

# recorded PHONE: the emulator has a message for PHONE.
recorded() {
    python3 - "$endpoint" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
url = sys.argv[1].rstrip("/") + "/_emulator/messages?PhoneNumber=" + urllib.parse.quote(sys.argv[2])
with urllib.request.urlopen(url, timeout=10) as r:
    messages = json.load(r)
print(messages)
sys.exit(0 if messages else 1)
PY
}
# run_consumer PHONE COMMAND...: the program succeeds, prints the version and the emulator
# recorded its message.
run_consumer() {
    local phone="$1"; shift
    "$@" "$endpoint" "$phone" | tee "$tmp/consumer.out" || return 1
    recorded "$phone"
}
no_libtcsms() { ldd "$1" | tee "$tmp/ldd.out"; ! grep -q libtcsms "$tmp/ldd.out"; }
uses_prefix_lib() { ldd "$1" | tee "$tmp/ldd.out"; has "$tmp/ldd.out" "libtcsms\.so\.$abi => $prefix/lib/libtcsms\.so\.$abi"; }

work="$tmp/work"
mkdir -p "$work"
cd "$work" || exit 1

# ---- the installed command line ----------------------------------------------------
t_cli() {
    local phone=+8613800000401
    TENCENTCLOUD_SECRET_ID=AKIDtcsmsdemo00000000000000000000000 TENCENTCLOUD_SECRET_KEY=tcsmsdemosecretkey00000000000000 \
        "$prefix/bin/tcsms" --endpoint "$endpoint" send --app-id 1400000001 --sign tcsms --template 2001 \
        --param 1234 --param 5 "$phone" | tee "$tmp/cli.out" &&
        has "$tmp/cli.out" '"SerialNo"' && recorded "$phone"
}
check cli-send t_cli

# ---- (a) C with pkg-config ---------------------------------------------------------
t_c_pkgconfig() {
    local flags
    flags="$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs tcsms)" &&
        cc -std=c11 -Wall -Wextra -Werror "$here/consumer.c" -o c-dynamic $flags &&
        LD_LIBRARY_PATH="$prefix/lib" uses_prefix_lib ./c-dynamic &&
        LD_LIBRARY_PATH="$prefix/lib" run_consumer +8613800000101 ./c-dynamic &&
        has "$tmp/consumer.out" "^version=$version tcsms $version "
}
check c-pkgconfig-dynamic t_c_pkgconfig

t_c_pkgconfig_static() {
    cc -std=c11 -Wall -Wextra -Werror "$here/consumer.c" -o c-static \
        $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs tcsms-static) &&
        no_libtcsms ./c-static && run_consumer +8613800000102 ./c-static
}
check c-pkgconfig-static t_c_pkgconfig_static

# ---- (b) CMake ---------------------------------------------------------------------
t_cmake() {
    cp -r "$here/cmake" cmake-src && cp "$here/consumer.c" . &&
        cmake -S cmake-src -B cmake-build -DCMAKE_PREFIX_PATH="$prefix" -DTCSMS_WANT_VERSION="$version" &&
        cmake --build cmake-build &&
        uses_prefix_lib cmake-build/consumer_shared &&
        run_consumer +8613800000201 cmake-build/consumer_shared
}
check cmake-tcsms-shared t_cmake

t_cmake_static() {
    [ -x cmake-build/consumer_static ] && no_libtcsms cmake-build/consumer_static &&
        run_consumer +8613800000202 cmake-build/consumer_static
}
check cmake-tcsms-static-no-libtcsms t_cmake_static

t_cmake_version() { # find_package refuses a version the package is not compatible with
    ! cmake -S cmake-src -B cmake-build-v99 -DCMAKE_PREFIX_PATH="$prefix" -DTCSMS_WANT_VERSION=99.0
}
check cmake-version-file t_cmake_version

# ---- (c) Python wheel, and the sdist ----------------------------------------------
# A PATH with no cargo or rustc on it, and a HOME with no ~/.cargo.
nocargo_path=""
IFS=: read -r -a path_dirs <<<"$PATH"
for d in "${path_dirs[@]}"; do
    [ -n "$d" ] && [ ! -e "$d/cargo" ] && [ ! -e "$d/rustc" ] && nocargo_path="${nocargo_path:+$nocargo_path:}$d"
done
t_wheel() {
    python3 -m pip wheel -q "$root/bindings/python" -w wheelhouse || return 1
    ls wheelhouse
    local wheels=(wheelhouse/*.whl)
    [ ${#wheels[@]} -eq 1 ] || { echo "expected one wheel"; return 1; }
    local whl="${wheels[0]}" tag=manylinux_2_17_x86_64
    case "$(basename "$whl")" in
        "tcsms-$version-py3-none-$tag.whl" | "tcsms-$version-py3-none-$tag.manylinux2014_x86_64.whl") ;;
        *) echo "wheel name $(basename "$whl") is not tcsms-$version-py3-none-$tag[.manylinux2014_x86_64].whl"; return 1 ;;
    esac
    python3 -m zipfile -l "$whl" | tee "$tmp/wheel.list"
    has "$tmp/wheel.list" '^tcsms/libtcsms\.so ' || return 1
    python3 -m auditwheel show "$whl" | tr '\n' ' ' | tr -s ' ' | tee "$tmp/auditwheel.out" || return 1
    has "$tmp/auditwheel.out" "consistent with the following platform tag: \"$tag\"" || return 1
    echo
    python3 -m zipfile -e "$whl" "$tmp/wheel-files" && "$here/check_glibc.sh" "$tmp/wheel-files/tcsms/libtcsms.so" || return 1
    echo
    echo "wheel $(basename "$whl"): $(stat -c %s "$whl") bytes"
}
check wheel-manylinux-tag t_wheel
grep '^wheel tcsms-' "$tmp/logs/wheel-manylinux-tag.log"

t_wheel_venv() {
    local whl
    whl="$(ls wheelhouse/*.whl)" || return 1
    mkdir -p home
    python3 -m venv venv || return 1
    local env=(env -i "PATH=$work/venv/bin:$nocargo_path" "HOME=$work/home" "LANG=C.UTF-8")
    "${env[@]}" sh -c '! command -v cargo && ! command -v rustc && [ ! -e "$HOME/.cargo" ]' || {
        echo "cargo is still reachable"; return 1; }
    "${env[@]}" python -m pip install -q --no-index "$whl" || return 1
    (cd "$work/home" && run_consumer +8613800000301 "${env[@]}" python "$here/consumer.py") || return 1
    has "$tmp/consumer.out" "^library $work/venv/lib/python[0-9.]*/site-packages/tcsms/libtcsms\.so$"
}
check wheel-in-fresh-venv-without-cargo t_wheel_venv

t_sdist() {
    python3 -m build --sdist -o sdist "$root/bindings/python" >"$tmp/sdist-build.log" 2>&1 || {
        cat "$tmp/sdist-build.log"; return 1; }
    local sd
    sd="$(ls sdist/tcsms-"$version".tar.gz)" || return 1
    tar tzf "$sd" | tee "$tmp/sdist.list" >/dev/null
    has "$tmp/sdist.list" "^tcsms-$version/rust/src/ffi/mod\.rs$" || return 1
    python3 -m venv venv-sdist || return 1
    # The crate builds from the sdist alone; its dependencies are cached across runs.
    CARGO_TARGET_DIR="$root/target/sdist-build" venv-sdist/bin/python -m pip install -q "$sd" || return 1
    run_consumer +8613800000302 venv-sdist/bin/python "$here/consumer.py"
}
check sdist-installs-with-cargo t_sdist

# ---- (d) Go, in its own module ------------------------------------------------------
# Go's build cache does not key on pkg-config's output (golang/go#24544): the binding built
# here against this temporary prefix would be reused later against another one (the go
# suite's). CGO_CFLAGS is in the key, so these builds carry the default flags plus a define
# naming this run; it changes no include path or library.
go_cache_key="-O2 -g -DTCSMS_INSTALL_TEST_$(basename "$tmp" | tr -c 'A-Za-z0-9\n' _)"
t_go() {
    mkdir -p gomod && cp "$here/go/main.go" gomod/ && cd gomod || return 1
    cat >go.mod <<EOF
module example.com/tcsmsconsumer

go 1.24

require github.com/tcsms/tcsms/bindings/go v0.0.0

replace github.com/tcsms/tcsms/bindings/go => $root/bindings/go
EOF
    local goenv=(env -u CGO_LDFLAGS -u LD_LIBRARY_PATH -u LIBRARY_PATH -u C_INCLUDE_PATH
        -u CPATH "PKG_CONFIG_PATH=$prefix/lib/pkgconfig" "CGO_CFLAGS=$go_cache_key" GOFLAGS=-mod=mod)
    "${goenv[@]}" go build -o go-dynamic . || return 1
    LD_LIBRARY_PATH="$prefix/lib" uses_prefix_lib ./go-dynamic || return 1
    LD_LIBRARY_PATH="$prefix/lib" run_consumer +8613800000401 ./go-dynamic || return 1
    has "$tmp/consumer.out" "^version=$version tcsms $version "
}
check go-module-dynamic t_go

t_go_static() {
    cd gomod || return 1
    env -u CGO_LDFLAGS -u LD_LIBRARY_PATH -u LIBRARY_PATH "PKG_CONFIG_PATH=$prefix/lib/pkgconfig" \
        "CGO_CFLAGS=$go_cache_key" GOFLAGS=-mod=mod go build -tags tcsms_static -o go-static . || return 1
    no_libtcsms ./go-static && run_consumer +8613800000402 ./go-static
}
check go-module-static-no-libtcsms t_go_static

t_go_no_repo_path() { # the module's cgo directives hold no path into the repository
    ! grep -n '#cgo' "$root"/bindings/go/*.go | grep -v '#cgo pkg-config: tcsms\(-static\)\?$'
}
check go-cgo-directives-pkgconfig-only t_go_no_repo_path

echo
echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

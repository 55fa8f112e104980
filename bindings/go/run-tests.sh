#!/bin/sh
# Go binding checks: vet (dynamic and static builds), race-enabled tests
# against the emulator, and a static-link build of the example.
# The binding links the library through pkg-config, as from any other module:
# this script installs the checkout into a staging prefix
# (scripts/install.sh --prefix target/go-stage, which builds if needed) and
# points PKG_CONFIG_PATH (and LD_LIBRARY_PATH, for running) at it.
set -eu
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)

stage="$root/target/go-stage"
echo "== scripts/install.sh --prefix $stage"
"$root/scripts/install.sh" -q --prefix "$stage"
PKG_CONFIG_PATH="$stage/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
LD_LIBRARY_PATH="$stage/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PKG_CONFIG_PATH LD_LIBRARY_PATH
: "${TCSMS_EMULATOR:=$stage/bin/tcsms-emulator}"
export TCSMS_EMULATOR

echo "== gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt needed: $unformatted" >&2
	exit 1
fi

echo "== go vet ./..."
go vet ./...

echo "== go vet -tags tcsms_static ./..."
go vet -tags tcsms_static ./...

echo "== go test -race -count=1 ./..."
go test -race -count=1 ./...

echo "== go build -tags tcsms_static ./..."
go build -tags tcsms_static ./...
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -tags tcsms_static -o "$tmp/reportconversion" ./examples/reportconversion
if ldd "$tmp/reportconversion" | grep libtcsms; then
	echo "the -tags tcsms_static binary depends on libtcsms.so" >&2
	exit 1
fi

echo "go binding: all checks passed"

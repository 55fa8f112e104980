#!/bin/sh
# Go binding checks: vet (dynamic and static builds), race-enabled tests
# against the emulator, and a static-link build of the example.
# Needs `cargo build --release` in the repository root first (libtcsms.so,
# libtcsms.a and tcsms-emulator in target/release).
set -eu
cd "$(dirname "$0")"

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

echo "go binding: all checks passed"

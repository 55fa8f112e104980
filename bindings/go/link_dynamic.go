//go:build !tcsms_static

package tcsms

// Default: link the shared library built by `cargo build --release` in the
// repository root, and record its directory as an rpath so binaries and
// `go test` find libtcsms.so without LD_LIBRARY_PATH.
//
// Alternatives (see README.md): build with -tags tcsms_static to link
// libtcsms.a, or use pkg-config (`#cgo pkg-config: tcsms`) by setting
// CGO_LDFLAGS yourself.

/*
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -ltcsms -Wl,-rpath,${SRCDIR}/../../target/release
*/
import "C"

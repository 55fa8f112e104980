//go:build tcsms_static

package tcsms

// With -tags tcsms_static the Rust static library is linked into the Go
// binary; it then has no runtime dependency on libtcsms.so. The extra system
// libraries are the ones a Rust staticlib needs on Linux/glibc.

/*
#cgo LDFLAGS: ${SRCDIR}/../../target/release/libtcsms.a -lm -ldl -lpthread
*/
import "C"

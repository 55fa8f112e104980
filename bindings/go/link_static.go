//go:build tcsms_static

package tcsms

// With -tags tcsms_static the Rust static library is linked into the Go
// binary; it then has no runtime dependency on libtcsms.so. The extra system
// libraries are the ones `rustc --print native-static-libs` lists for the
// staticlib on Linux/glibc.

/*
#cgo LDFLAGS: ${SRCDIR}/../../target/release/libtcsms.a -lgcc_s -lutil -lrt -lpthread -lm -ldl
*/
import "C"

//go:build tcsms_static

package tcsms

// With -tags tcsms_static the installed libtcsms.a is linked into the Go
// binary, which then has no runtime dependency on libtcsms.so. tcsms-static.pc
// (written by scripts/install.sh) names the archive by path, so the linker
// cannot pick the .so installed beside it, followed by the system libraries
// rustc lists as native-static-libs. A second .pc file, because cgo refuses
// `pkg-config --static`.

/*
#cgo pkg-config: tcsms-static
*/
import "C"

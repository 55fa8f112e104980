//go:build !tcsms_static

package tcsms

// Default: link the installed shared library through pkg-config (tcsms.pc,
// written by scripts/install.sh). Point PKG_CONFIG_PATH at PREFIX/lib/pkgconfig
// when the prefix is not a system one; at run time the dynamic loader must
// find libtcsms.so.1 (ldconfig, LD_LIBRARY_PATH or an rpath, e.g.
// CGO_LDFLAGS=-Wl,-rpath,PREFIX/lib).

/*
#cgo pkg-config: tcsms
*/
import "C"

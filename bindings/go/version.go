package tcsms

/*
#include "tcsms.h"

static const char *tcsmsgo_header_version(void) { return TCSMS_VERSION; }
*/
import "C"

// HeaderVersion returns TCSMS_VERSION of the tcsms.h this package was
// compiled against: the release of the installed library (the crate version in
// the repository's Cargo.toml). Tag the Go module bindings/go/vX.Y.Z with it.
func HeaderVersion() string { return C.GoString(C.tcsmsgo_header_version()) }

package main

// The "before" peer: one blocking cgo call per request, which holds the goroutine's P
// for the whole round trip (what the binding did before it used the completion queue).

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -ltcsms -Wl,-rpath,${SRCDIR}/../../target/release
#include <stdlib.h>
#include "tcsms.h"

static int bench_call(const tcsms_client *client) {
	char *out = NULL;
	int st = (int)tcsms_report_conversion(client, "1400000001", "2433:1045710669157053657849499619", 1700000000, &out);
	tcsms_free(out);
	return st;
}

static tcsms_client *bench_client(const char *config) {
	tcsms_client *client = NULL;
	char *out = NULL;
	tcsms_client_new(config, &client, &out);
	tcsms_free(out);
	return client;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

func cgoPeer(port int) func() {
	config := C.CString(tcsmsConfig(port))
	defer C.free(unsafe.Pointer(config))
	client := C.bench_client(config)
	if client == nil {
		must(fmt.Errorf("tcsms_client_new failed"))
	}
	return func() {
		if st := C.bench_call(client); st != 0 {
			must(fmt.Errorf("tcsms_report_conversion: status %d", st))
		}
	}
}

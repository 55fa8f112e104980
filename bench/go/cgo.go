package main

// The "before" peer: what the binding's ReportConversion did before it used the
// completion queue: C strings in, one blocking cgo call of tcsms_report_conversion
// (holding the goroutine's P for the whole round trip), the answer copied out, freed
// and decoded into the typed response.

/*
#cgo pkg-config: tcsms
#include <stdint.h>
#include <stdlib.h>
#include "tcsms.h"

typedef struct { int status; char *json; } bench_result;

static bench_result bench_call(const tcsms_client *client, const char *app, const char *serial, int64_t when) {
	bench_result r = {0, NULL};
	r.status = (int)tcsms_report_conversion(client, app, serial, when, &r.json);
	return r;
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
	"encoding/json"
	"fmt"
	"unsafe"

	tcsms "github.com/tcsms/tcsms/bindings/go"
)

func cgoPeer(port int) func() {
	config := C.CString(tcsmsConfig(port))
	defer C.free(unsafe.Pointer(config))
	client := C.bench_client(config)
	if client == nil {
		must(fmt.Errorf("tcsms_client_new failed"))
	}
	return func() {
		ca, cs := C.CString(app), C.CString(serial)
		r := C.bench_call(client, ca, cs, 1700000000)
		C.free(unsafe.Pointer(ca))
		C.free(unsafe.Pointer(cs))
		body := C.GoString(r.json)
		C.tcsms_free(r.json)
		if r.status != 0 {
			must(fmt.Errorf("tcsms_report_conversion: status %d", r.status))
		}
		var env struct {
			Response tcsms.ReportConversionResponse
		}
		must(json.Unmarshal([]byte(body), &env))
	}
}

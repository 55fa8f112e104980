package tcsms

// The client's cgo calls live in this file (the completion queue's in queue.go,
// callbacks' in callback.go, events' in events_native.go). The small C wrappers
// keep every out-parameter in C memory (a result struct, most often
// tcsmsgo_result of tcsmsgo.h, is returned by value), so no Go pointer is ever
// passed to C: inputs are C.CString copies released with C.free, outputs are
// read with C.GoString and released with tcsms_free.
//
// The header, tcsms.h, is the installed library's: pkg-config (tcsms.pc or
// tcsms-static.pc, see link_dynamic.go and link_static.go) gives its directory.

/*
#include <stdint.h>
#include <stdlib.h>
#include "tcsms.h"
#include "tcsmsgo.h"

typedef struct {
	int32_t status;
	tcsms_client *client;
	char *json;
} tcsmsgo_new_result;

static tcsmsgo_new_result tcsmsgo_client_new(const char *config_json) {
	tcsmsgo_new_result r;
	r.client = NULL;
	r.json = NULL;
	r.status = (int32_t)tcsms_client_new(config_json, &r.client, &r.json);
	return r;
}

static tcsmsgo_result tcsmsgo_call(const tcsms_client *client, const char *action,
                                   const char *request_json, uint64_t timeout_ms) {
	tcsmsgo_result r;
	r.json = NULL;
	r.status = (int32_t)tcsms_call_with_timeout(client, action, request_json, timeout_ms, &r.json);
	return r;
}

static tcsmsgo_result tcsmsgo_report_conversion(const tcsms_client *client, const char *app_id,
                                                const char *serial_no, int64_t conversion_time) {
	tcsmsgo_result r;
	r.json = NULL;
	r.status = (int32_t)tcsms_report_conversion(client, app_id, serial_no, conversion_time, &r.json);
	return r;
}

static tcsmsgo_result tcsmsgo_send(const tcsms_client *client, const char *request_json,
                                   uint64_t timeout_ms, int multi) {
	tcsmsgo_result r;
	r.json = NULL;
	r.status = multi
		? (int32_t)tcsms_send_multi_global_sms_with_timeout(client, request_json, timeout_ms, &r.json)
		: (int32_t)tcsms_send_sms_with_timeout(client, request_json, timeout_ms, &r.json);
	return r;
}

static tcsmsgo_result tcsmsgo_set_credentials(const tcsms_client *client, const char *secret_id,
                                              const char *secret_key, const char *token) {
	tcsmsgo_result r;
	r.json = NULL;
	r.status = (int32_t)tcsms_client_set_credentials(client, secret_id, secret_key, token, &r.json);
	return r;
}

typedef struct {
	int32_t status;
	int64_t seconds;
} tcsmsgo_offset_result;

static tcsmsgo_offset_result tcsmsgo_clock_offset(const tcsms_client *client) {
	tcsmsgo_offset_result r;
	r.seconds = 0;
	r.status = (int32_t)tcsms_client_clock_offset(client, &r.seconds);
	return r;
}

typedef struct {
	int32_t status;
	uint64_t ready;
	char *json;
} tcsmsgo_connect_result;

static tcsmsgo_connect_result tcsmsgo_connect_ahead(const tcsms_client *client, uint32_t count,
                                                    uint64_t timeout_ms) {
	tcsmsgo_connect_result r;
	r.ready = 0;
	r.json = NULL;
	r.status = (int32_t)tcsms_client_connect_ahead(client, count, timeout_ms, &r.ready, &r.json);
	return r;
}

static uint32_t tcsmsgo_header_abi_version(void) { return (uint32_t)TCSMS_ABI_VERSION; }

static const int32_t tcsmsgo_header_statuses[] = {
	TCSMS_STATUS_OK, TCSMS_STATUS_NULL_ARGUMENT, TCSMS_STATUS_INVALID_UTF8,
	TCSMS_STATUS_INVALID_JSON, TCSMS_STATUS_INVALID_ARGUMENT, TCSMS_STATUS_INVALID_CONFIG,
	TCSMS_STATUS_NETWORK, TCSMS_STATUS_TIMEOUT, TCSMS_STATUS_HTTP_STATUS,
	TCSMS_STATUS_DECODE, TCSMS_STATUS_API_ERROR, TCSMS_STATUS_PANIC, TCSMS_STATUS_PARTIAL,
};

static int32_t tcsmsgo_header_status(int i) { return tcsmsgo_header_statuses[i]; }
static int tcsmsgo_header_status_count(void) {
	return (int)(sizeof(tcsmsgo_header_statuses) / sizeof(tcsmsgo_header_statuses[0]));
}
*/
import "C"

import "unsafe"

// nativeClient is the C handle; it lives in C memory.
type nativeClient = *C.tcsms_client

// takeString copies a library-owned string and frees it with tcsms_free.
func takeString(s *C.char) string {
	if s == nil {
		return ""
	}
	out := C.GoString(s)
	C.tcsms_free(s)
	return out
}

func nativeClientNew(configJSON string) (nativeClient, Status, string) {
	cfg := C.CString(configJSON)
	defer C.free(unsafe.Pointer(cfg))
	r := C.tcsmsgo_client_new(cfg)
	return r.client, Status(r.status), takeString(r.json)
}

func nativeClientFree(h nativeClient) {
	C.tcsms_client_free(h)
}

func nativeCall(h nativeClient, action, requestJSON string, timeoutMS uint64) (Status, string) {
	ca := C.CString(action)
	defer C.free(unsafe.Pointer(ca))
	cr := C.CString(requestJSON)
	defer C.free(unsafe.Pointer(cr))
	r := C.tcsmsgo_call(h, ca, cr, C.uint64_t(timeoutMS))
	return Status(r.status), takeString(r.json)
}

func nativeReportConversion(h nativeClient, appID, serialNo string, conversionTime int64) (Status, string) {
	ca := C.CString(appID)
	defer C.free(unsafe.Pointer(ca))
	cs := C.CString(serialNo)
	defer C.free(unsafe.Pointer(cs))
	r := C.tcsmsgo_report_conversion(h, ca, cs, C.int64_t(conversionTime))
	return Status(r.status), takeString(r.json)
}

// nativeSend calls tcsms_send_sms_with_timeout (or the SendMultiGlobalSms one).
func nativeSend(h nativeClient, requestJSON string, timeoutMS uint64, multi bool) (Status, string) {
	cr := C.CString(requestJSON)
	defer C.free(unsafe.Pointer(cr))
	m := C.int(0)
	if multi {
		m = 1
	}
	r := C.tcsmsgo_send(h, cr, C.uint64_t(timeoutMS), m)
	return Status(r.status), takeString(r.json)
}

// nativeSetCredentials calls tcsms_client_set_credentials; an empty token is NULL.
func nativeSetCredentials(h nativeClient, secretID, secretKey, token string) (Status, string) {
	ci := C.CString(secretID)
	defer C.free(unsafe.Pointer(ci))
	ck := C.CString(secretKey)
	defer C.free(unsafe.Pointer(ck))
	var ct *C.char
	if token != "" {
		ct = C.CString(token)
		defer C.free(unsafe.Pointer(ct))
	}
	r := C.tcsmsgo_set_credentials(h, ci, ck, ct)
	return Status(r.status), takeString(r.json)
}

func nativeClockOffset(h nativeClient) (Status, int64) {
	r := C.tcsmsgo_clock_offset(h)
	return Status(r.status), int64(r.seconds)
}

// nativeConnectAhead calls tcsms_client_connect_ahead.
func nativeConnectAhead(h nativeClient, count uint32, timeoutMS uint64) (Status, uint64, string) {
	r := C.tcsmsgo_connect_ahead(h, C.uint32_t(count), C.uint64_t(timeoutMS))
	return Status(r.status), uint64(r.ready), takeString(r.json)
}

func nativeStatusStr(s Status) string {
	p := C.tcsms_status_str(C.tcsms_status(s))
	if p == nil {
		return ""
	}
	return C.GoString(p) // static string, never freed
}

func nativeVersion() string {
	p := C.tcsms_version()
	if p == nil {
		return ""
	}
	return C.GoString(p) // static string, never freed
}

// nativeABIVersion returns the ABI version of the loaded library and the one
// of the header this package was compiled against.
func nativeABIVersion() (library, header uint32) {
	return uint32(C.tcsms_abi_version()), uint32(C.tcsmsgo_header_abi_version())
}

// headerStatuses returns the TCSMS_STATUS_* values of include/tcsms.h in
// the order OK, NULL_ARGUMENT, ..., PANIC, PARTIAL (checked against the Go constants
// by a test).
func headerStatuses() []Status {
	n := int(C.tcsmsgo_header_status_count())
	out := make([]Status, n)
	for i := range out {
		out[i] = Status(C.tcsmsgo_header_status(C.int(i)))
	}
	return out
}

package tcsms

// cgo calls of the event hook and the statistics (tcsms_client_set_event_callback,
// tcsms_client_stats). The Go callback is exported from events_export.go; C only
// ever holds a cgo.Handle number as user_data, never a Go pointer.

/*
#include <stdint.h>
#include <stdlib.h>
#include "tcsms.h"
#include "tcsmsgo.h"

extern void tcsmsgoEvent(void *user_data, char *event_json);

static void tcsmsgo_event_trampoline(void *user_data, const char *event_json) {
	tcsmsgoEvent(user_data, (char *)event_json);
}

static tcsmsgo_result tcsmsgo_set_event_callback(const tcsms_client *client, uintptr_t handle) {
	tcsmsgo_result r;
	r.json = NULL;
	r.status = (int32_t)tcsms_client_set_event_callback(client, handle ? tcsmsgo_event_trampoline : NULL,
	                                                    (void *)handle, &r.json);
	return r;
}

static tcsmsgo_result tcsmsgo_stats(const tcsms_client *client) {
	tcsmsgo_result r;
	r.json = NULL;
	r.status = (int32_t)tcsms_client_stats(client, &r.json);
	return r;
}
*/
import "C"

// nativeSetEventCallback installs the handle's hook (0 removes it).
func nativeSetEventCallback(h nativeClient, handle uintptr) (Status, string) {
	r := C.tcsmsgo_set_event_callback(h, C.uintptr_t(handle))
	return Status(r.status), takeString(r.json)
}

func nativeStats(h nativeClient) (Status, string) {
	r := C.tcsmsgo_stats(h)
	return Status(r.status), takeString(r.json)
}

package tcsms

// The exported callback: only declarations in this file's preamble (cgo rule for
// files with //export).

/*
#include <stdlib.h>
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

//export tcsmsgoEvent
func tcsmsgoEvent(userData unsafe.Pointer, eventJSON *C.char) {
	// A panic in the user's function never crosses into tcsms.
	defer func() { _ = recover() }()
	if userData == nil || eventJSON == nil {
		return
	}
	hook, ok := cgo.Handle(uintptr(userData)).Value().(*eventHook)
	if !ok {
		return
	}
	hook.deliver(C.GoString(eventJSON))
}

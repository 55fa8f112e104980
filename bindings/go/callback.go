package tcsms

// Parsing the callbacks Tencent Cloud SMS POSTs to a customer's URL
// (tcsms_parse_callback). Its one cgo call lives here rather than in
// native.go; it follows the same rule: the body is copied to C memory, the
// result read with C.GoString and released with tcsms_free.

/*
#include <stdlib.h>
#include "tcsms.h"
#include "tcsmsgo.h"

static tcsmsgo_result tcsmsgo_parse_callback(const char *body, size_t len) {
	tcsmsgo_result r;
	r.json = NULL;
	r.status = (int32_t)tcsms_parse_callback(body, len, &r.json);
	return r;
}
*/
import "C"

import (
	"encoding/json"
	"unsafe"
)

// CallbackAck is the acknowledgement body the service expects (HTTP 200)
// from a receiver that accepted a callback.
const CallbackAck = `{"result": 0, "errmsg": "OK"}`

// MaxCallbackBytes is the largest callback body ParseCallback accepts (1 MiB).
const MaxCallbackBytes = 1 << 20

// CallbackNack is the acknowledgement body for a callback that was not
// accepted: result 1 and the reason.
func CallbackNack(reason string) []byte {
	b, _ := json.Marshal(struct {
		Result int    `json:"result"`
		ErrMsg string `json:"errmsg"`
	}{1, reason})
	return b
}

// DeliveryReport is one report of a delivery-status callback; the JSON names
// are the service's own, plus PhoneNumber in E.164 form.
type DeliveryReport struct {
	UserReceiveTime string `json:"user_receive_time"` // e.g. "2015-10-17 08:03:04"
	NationCode      string `json:"nationcode"`        // e.g. "86"
	Mobile          string `json:"mobile"`            // without the country code
	ReportStatus    string `json:"report_status"`     // "SUCCESS" or "FAIL"
	ErrMsg          string `json:"errmsg"`            // carrier receipt code, e.g. "DELIVRD"
	Description     string `json:"description"`
	SID             string `json:"sid"` // the SendSms SerialNo
	PhoneNumber     string `json:"PhoneNumber"`
}

// Reply is a reply (MO message) callback.
type Reply struct {
	Extend      string `json:"extend"` // "" when absent
	Mobile      string `json:"mobile"`
	NationCode  string `json:"nationcode"`
	Sign        string `json:"sign"`
	Text        string `json:"text"`
	Time        int64  `json:"time"` // Unix seconds
	PhoneNumber string `json:"PhoneNumber"`
}

// Callback is a parsed callback body: Kind "delivery" with Reports, or Kind
// "reply" with Reply.
type Callback struct {
	Kind    string           `json:"Kind"`
	Reports []DeliveryReport `json:"Reports,omitempty"`
	Reply   *Reply           `json:"Reply,omitempty"`
}

// ParseCallback parses the raw body of a callback request. A malformed,
// truncated, wrong-typed, empty or oversized (over 1 MiB) body gives an
// *Error with StatusInvalidJSON, StatusInvalidArgument or StatusInvalidUTF8
// whose Message names the record and field.
func ParseCallback(body []byte) (*Callback, error) {
	var p unsafe.Pointer
	if len(body) > 0 {
		p = C.CBytes(body)
		defer C.free(p)
	}
	r := C.tcsmsgo_parse_callback((*C.char)(p), C.size_t(len(body)))
	st, out := Status(r.status), takeString(r.json)
	if st != StatusOK {
		return nil, parseError(st, out)
	}
	var cb Callback
	if err := json.Unmarshal([]byte(out), &cb); err != nil {
		return nil, localError(StatusDecode, CodeDecode, "parsed callback: "+err.Error())
	}
	return &cb, nil
}

package tcsms

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const (
	deliveryBody = `[{"user_receive_time":"2015-10-17 08:03:04","nationcode":"86","mobile":"13900000001",` +
		`"report_status":"SUCCESS","errmsg":"DELIVRD","description":"ok","sid":"x1"},` +
		`{"user_receive_time":"2015-10-17 08:03:05","nationcode":"65","mobile":"91234567",` +
		`"report_status":"FAIL","errmsg":"UNDELIV","description":"no","sid":"x2"}]`
	replyBody = `{"extend":"","mobile":"13900000001","nationcode":"86","sign":"tcsms","text":"TD","time":1445391786}`
)

func TestParseCallbackDelivery(t *testing.T) {
	cb, err := ParseCallback([]byte(deliveryBody))
	if err != nil {
		t.Fatal(err)
	}
	want := DeliveryReport{UserReceiveTime: "2015-10-17 08:03:04", NationCode: "86", Mobile: "13900000001",
		ReportStatus: "SUCCESS", ErrMsg: "DELIVRD", Description: "ok", SID: "x1", PhoneNumber: "+8613900000001"}
	if cb.Kind != "delivery" || len(cb.Reports) != 2 || cb.Reports[0] != want || cb.Reply != nil {
		t.Fatalf("got %+v", cb)
	}
	if cb.Reports[1].PhoneNumber != "+6591234567" || cb.Reports[1].ReportStatus != "FAIL" {
		t.Fatalf("second report %+v", cb.Reports[1])
	}
}

func TestParseCallbackReply(t *testing.T) {
	cb, err := ParseCallback([]byte(replyBody))
	if err != nil {
		t.Fatal(err)
	}
	want := Reply{Mobile: "13900000001", NationCode: "86", Sign: "tcsms", Text: "TD", Time: 1445391786,
		PhoneNumber: "+8613900000001"}
	if cb.Kind != "reply" || cb.Reply == nil || *cb.Reply != want || cb.Reports != nil {
		t.Fatalf("got %+v", cb)
	}
}

func TestParseCallbackBadBodies(t *testing.T) {
	big := append(append([]byte("["), bytes.Repeat([]byte(" "), MaxCallbackBytes)...), ']')
	cases := []struct {
		name   string
		body   []byte
		status Status
		words  string
	}{
		{"truncated", []byte(deliveryBody[:len(deliveryBody)/2]), StatusInvalidJSON, "truncated"},
		{"malformed", []byte("{nope"), StatusInvalidJSON, "not valid JSON"},
		{"wrong type", []byte(`[{"nationcode":"86","mobile":139,"report_status":"SUCCESS","sid":"x"}]`),
			StatusInvalidArgument, "delivery report 0: field `mobile` must be a string"},
		{"time as string", []byte(`{"mobile":"1","nationcode":"86","text":"x","time":"1"}`),
			StatusInvalidArgument, "field `time` must be a number"},
		{"empty", nil, StatusInvalidArgument, "callback body is empty"},
		{"oversized", big, StatusInvalidArgument, "over the limit"},
		{"invalid UTF-8", []byte("[\"\xff\"]"), StatusInvalidUTF8, "not valid UTF-8"},
	}
	for _, c := range cases {
		cb, err := ParseCallback(c.body)
		var e *Error
		if cb != nil || !errors.As(err, &e) || e.Status != c.status || !strings.Contains(e.Message, c.words) {
			t.Errorf("%s: got %+v, %v; want status %v and %q", c.name, cb, err, c.status, c.words)
		}
	}
}

func TestCallbackAcks(t *testing.T) {
	if CallbackAck != `{"result": 0, "errmsg": "OK"}` {
		t.Fatal(CallbackAck)
	}
	var v map[string]any
	if err := json.Unmarshal(CallbackNack("bad \"x\""), &v); err != nil || v["result"] != 1.0 || v["errmsg"] != "bad \"x\"" {
		t.Fatalf("%v %v", v, err)
	}
}

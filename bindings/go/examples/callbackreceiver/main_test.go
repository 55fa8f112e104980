package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	tcsms "github.com/tcsms/tcsms/bindings/go"
)

const sample = `[{"user_receive_time":"2015-10-17 08:03:04","nationcode":"86","mobile":"13900000001",` +
	`"report_status":"SUCCESS","errmsg":"DELIVRD","description":"ok","sid":"x1"}]`

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReceiverAcknowledges POSTs sample bodies to the receiver on 127.0.0.1.
func TestReceiverAcknowledges(t *testing.T) {
	var out bytes.Buffer
	srv := httptest.NewServer(handler(printRecords(&out)))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("not loopback: %s", srv.URL)
	}

	status, body := post(t, srv.URL, sample)
	if status != 200 || body != `{"result": 0, "errmsg": "OK"}` {
		t.Fatalf("delivery: %d %q", status, body)
	}
	var rec tcsms.DeliveryReport
	if err := json.Unmarshal(out.Bytes(), &rec); err != nil || rec.PhoneNumber != "+8613900000001" || rec.SID != "x1" {
		t.Fatalf("record %q: %v", out.String(), err)
	}

	status, body = post(t, srv.URL, `[{"mobile":`)
	var nack struct {
		Result int    `json:"result"`
		ErrMsg string `json:"errmsg"`
	}
	if err := json.Unmarshal([]byte(body), &nack); status != 400 || err != nil || nack.Result != 1 ||
		!strings.Contains(nack.ErrMsg, "truncated") {
		t.Fatalf("truncated: %d %q", status, body)
	}

	status, body = post(t, srv.URL, "["+strings.Repeat(" ", tcsms.MaxCallbackBytes)+"]")
	if status != 400 || !strings.Contains(body, "over the limit") {
		t.Fatalf("oversized: %d %q", status, body)
	}
}

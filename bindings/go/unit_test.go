package tcsms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestConfigJSON(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{}, `{}`},
		{Config{SecretID: "id", SecretKey: "key", Token: "tok", Region: "ap-guangzhou", Endpoint: "http://127.0.0.1:1",
			Language: "en-US", Timeout: 1500 * time.Millisecond, ConnectTimeout: time.Second, MaxRetries: Int(0),
			Proxy: "http://proxy:3128", CAFile: "/etc/ca.pem"},
			`{"secret_id":"id","secret_key":"key","token":"tok","region":"ap-guangzhou","endpoint":"http://127.0.0.1:1","language":"en-US","timeout_ms":1500,"connect_timeout_ms":1000,"max_retries":0,"proxy":"http://proxy:3128","ca_file":"/etc/ca.pem"}`},
		{Config{Timeout: time.Microsecond}, `{"timeout_ms":1}`},
		{Config{MaxRetries: Int(5)}, `{"max_retries":5}`},
	}
	for _, c := range cases {
		got, err := json.Marshal(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != c.want {
			t.Errorf("marshal %v\n got %s\nwant %s", c.cfg, got, c.want)
		}
	}
	_, err := NewClient(Config{Timeout: -time.Second})
	var e *Error
	if !errors.As(err, &e) || e.Status != StatusInvalidConfig {
		t.Errorf("negative timeout: %v", err)
	}
}

func TestConfigStringRedacts(t *testing.T) {
	cfg := Config{SecretID: "AKIDxxx", SecretKey: "supersecret", Token: "tok3n"}
	for _, s := range []string{cfg.String(), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(s, "supersecret") || strings.Contains(s, "tok3n") {
			t.Errorf("secret leaked: %s", s)
		}
		if !strings.Contains(s, "AKIDxxx") {
			t.Errorf("secret id missing: %s", s)
		}
	}
}

func TestErrorType(t *testing.T) {
	e := parseError(StatusAPIError, `{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"bad sig"},"RequestId":"req-1"}}`)
	if e.Code != "AuthFailure.SignatureFailure" || e.Message != "bad sig" || e.RequestID != "req-1" || e.Status != StatusAPIError {
		t.Fatalf("parseError: %+v", e)
	}
	var err error = e
	if !errors.Is(err, ErrAPI) || errors.Is(err, ErrTimeout) || errors.Is(err, ErrClosed) {
		t.Error("errors.Is by status")
	}
	if got := err.Error(); got != "tcsms: AuthFailure.SignatureFailure: bad sig (RequestId req-1)" {
		t.Errorf("Error() = %q", got)
	}
	wrapped := fmt.Errorf("sending: %w", err)
	var as *Error
	if !errors.As(wrapped, &as) || as.RequestID != "req-1" {
		t.Error("errors.As through wrapping")
	}
	// Unparsable body: kept as the message, code from the status.
	e = parseError(StatusDecode, "garbage")
	if e.Code != "ClientError.Decode" || e.Message != "garbage" {
		t.Errorf("garbage: %+v", e)
	}
	if !errors.Is(closedError(), ErrClosed) || errors.Is(localError(StatusInvalidArgument, "ClientError.UnknownAction", ""), ErrClosed) {
		t.Error("ErrClosed matching")
	}
	if fmt.Sprint(StatusTimeout) != "TIMEOUT" || ErrTimeout.Error() != "tcsms: status TIMEOUT" {
		t.Errorf("sentinel text %q %q", fmt.Sprint(StatusTimeout), ErrTimeout)
	}
	if StatusTimeout.String() != "TIMEOUT" || Status(99).String() != "STATUS(99)" {
		t.Error("Status.String")
	}
	to := &Error{Status: StatusTimeout, Code: "ClientError.Timeout", cause: context.DeadlineExceeded}
	if !errors.Is(to, context.DeadlineExceeded) || !errors.Is(to, ErrTimeout) {
		t.Error("timeout wrapping ctx error")
	}
}

func TestStatusValuesMatchHeader(t *testing.T) {
	hdr := headerStatuses()
	if len(hdr) != int(StatusPartial)+1 {
		t.Fatalf("%d header statuses", len(hdr))
	}
	for i, v := range hdr {
		if Status(i) != v {
			t.Errorf("Go status %s = %d, header value %d", Status(i), i, v)
		}
		d := v.Description()
		if d == "" || d == Status(99).Description() {
			t.Errorf("tcsms_status_str(%d) = %q", v, d)
		}
	}
	if Status(99).Description() != "unknown status" {
		t.Errorf("tcsms_status_str(99) = %q", Status(99).Description())
	}
}

func TestABIAndVersion(t *testing.T) {
	if err := checkABI(); err != nil {
		t.Fatal(err)
	}
	if ABIVersion() != ABIVersionHeader {
		t.Errorf("ABIVersion() = %d", ABIVersion())
	}
	if Version() == "" {
		t.Error("Version() is empty")
	}
}

func TestNilClientAndRequest(t *testing.T) {
	var c *Client
	if err := c.Close(); err != nil {
		t.Error(err)
	}
	if _, err := c.SendSms(bg(), &SendSmsRequest{}); !errors.Is(err, ErrNullArgument) {
		t.Errorf("nil client: %v", err)
	}
}

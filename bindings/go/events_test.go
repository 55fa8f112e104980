package tcsms

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

const (
	eventToken  = "marker-go-sts-token-7"
	eventNumber = "+8613711112222"
)

// recorder keeps every event and checks each for secrets and full numbers.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) add(t *testing.T) func(Event) {
	return func(ev Event) {
		for _, marker := range []string{demoSecretKey, eventToken, "TC3-HMAC-SHA256", "Authorization", eventNumber[1:]} {
			if strings.Contains(ev.JSON, marker) {
				t.Errorf("%q in event %s", marker, ev.JSON)
			}
		}
		r.mu.Lock()
		r.events = append(r.events, ev)
		r.mu.Unlock()
	}
}

func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

func eventSmsRequest(template string) map[string]any {
	return map[string]any{"PhoneNumberSet": []string{eventNumber}, "SmsSdkAppId": "1400000001",
		"SignName": "tcsms", "TemplateId": template, "TemplateParamSet": []string{"1234", "5"}}
}

func TestEventsPerAttemptAndCallWithRetryAndRateLimitWait(t *testing.T) {
	e := newEmulator(t, "--fault", "http500", "--fault-every", "2", "--token", eventToken)
	var rec recorder
	var logged bytes.Buffer
	cfg := demoConfig(e)
	cfg.Token = NewSecret(eventToken)
	cfg.RateLimits = map[string]float64{"*": 0, "PullSmsSendStatus": 5}
	cfg.OnEvent = rec.add(t)
	cfg.Logger = slog.New(slog.NewJSONHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newTestClient(t, cfg)
	pull := map[string]any{"SmsSdkAppId": "1400000001", "Limit": 10}
	for i := 0; i < 2; i++ {
		if _, err := c.CallRaw(bg(), "PullSmsSendStatus", `{"SmsSdkAppId":"1400000001","Limit":10}`); err != nil {
			t.Fatalf("call %d: %v (%v)", i, err, pull)
		}
	}
	evs := rec.all()
	type shape struct {
		event   string
		attempt int
		status  Status
	}
	var got []shape
	for _, ev := range evs {
		got = append(got, shape{ev.Event, ev.Attempt, ev.Status})
	}
	want := []shape{{"attempt", 1, 0}, {"call", 1, 0}, {"attempt", 1, StatusHTTPStatus}, {"attempt", 2, 0}, {"call", 2, 0}}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
	failed := evs[2]
	if failed.Code != CodeHTTPStatus || !failed.Retry || failed.RetryDelayUS < 50_000 || !strings.Contains(failed.RetryReason, "idempotent") {
		t.Errorf("failed attempt: %s", failed.JSON)
	}
	if evs[4].Retries != 1 || evs[4].RequestID == "" || evs[4].RequestID != evs[3].RequestID || evs[4].RateLimitWaitUS <= 0 {
		t.Errorf("call event: %s", evs[4].JSON)
	}
	if n := strings.Count(logged.String(), `"msg":"tcsms attempt"`); n != 3 {
		t.Errorf("%d attempt events logged, want 3: %s", n, logged.String())
	}
	s, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	a := s.Actions["PullSmsSendStatus"]
	if a.Calls != 2 || a.Attempts != 3 || a.Retries != 1 || a.Codes["ok"] != 2 || len(a.Codes) != 1 || s.RateLimitWaits != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestEventCallbackReentrancyPanicAndMasking(t *testing.T) {
	e := needEmulator(t)
	var rec recorder
	c := newTestClient(t, demoConfig(e))
	var inner []error
	var mu sync.Mutex
	err := c.SetEventCallback(func(ev Event) {
		rec.add(t)(ev)
		_, err := c.CallRaw(bg(), "DescribeSmsSignList", `{"International":0}`)
		mu.Lock()
		inner = append(inner, err)
		mu.Unlock()
		panic("the callback panics")
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CallRaw(bg(), "SendSms", mustJSON(t, eventSmsRequest("2001"))); err != nil {
		t.Fatalf("a panicking callback reached the caller: %v", err)
	}
	if len(inner) != 2 {
		t.Fatalf("inner calls %v", inner)
	}
	for _, err := range inner {
		var te *Error
		if !errors.As(err, &te) || te.Code != "ClientError.Reentrant" || te.Status != StatusInvalidArgument {
			t.Errorf("inner call: %v", err)
		}
	}
	evs := rec.all()
	if len(evs) != 2 || len(evs[0].PhoneNumbers) != 1 || evs[0].PhoneNumbers[0] != "+86137****2222" {
		t.Errorf("events %v", evs)
	}
	if err := c.SetEventCallback(nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CallRaw(bg(), "DescribeSmsSignList", `{"International":0}`); err != nil {
		t.Fatal(err)
	}
	if len(rec.all()) != 2 {
		t.Error("events after the callback was removed")
	}
}

func TestStatsExactAfterKnownSequence(t *testing.T) {
	e := newEmulator(t, "--rate-limit", "all=0")
	var rec recorder
	cfg := demoConfig(e)
	cfg.MaxRetries = Int(0)
	cfg.OnEvent = rec.add(t)
	c := newTestClient(t, cfg)
	for i := 0; i < 3; i++ {
		if _, err := c.CallRaw(bg(), "SendSms", mustJSON(t, eventSmsRequest("2001"))); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.CallRaw(bg(), "SendSms", mustJSON(t, eventSmsRequest("9999")))
	var refused *Error
	if !errors.As(err, &refused) || refused.Status != StatusAPIError {
		t.Fatalf("unknown template: %v", err)
	}
	s, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	send := s.Actions["SendSms"]
	if send.Calls != 4 || send.Attempts != 4 || send.Retries != 0 || send.Codes["ok"] != 3 || send.Codes[refused.Code] != 1 {
		t.Errorf("SendSms stats %+v", send)
	}
	l := send.LatencyUs
	if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) {
		t.Errorf("latency %+v", l)
	}
	if len(s.Actions) != 1 || len(rec.all()) != 8 {
		t.Errorf("actions %v, %d events", s.Actions, len(rec.all()))
	}
	_ = c.Close()
	if _, err := c.Stats(); !errors.Is(err, ErrClosed) {
		t.Errorf("Stats after Close: %v", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

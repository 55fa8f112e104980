package tcsms

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	otherSecretID  = "AKIDtcsmsrotated000000000000000000000"
	otherSecretKey = "tcsmsrotatedsecretkey000000000000"
)

// special maps a place among the 450 numbers to (number as given, class, code).
var special = map[int][3]string{
	3:   {"+8619900000001", "rejected", "InvalidParameterValue.IncorrectPhoneNumber"},
	150: {"+8619900000002", "rejected", "FailedOperation.PhoneNumberInBlacklist"},
	199: {"+8619900000011", "limited", "LimitExceeded.PhoneNumberThirtySecondLimit"},
	200: {"19900000013", "limited", "LimitExceeded.PhoneNumberDailyLimit"},
	401: {"+8619900000021", "failed", "InternalError.Timeout"},
	420: {"+8613800000010", "rejected", "ClientError.DuplicatePhoneNumber"},
}

func numbers450() []string {
	out := make([]string, 450)
	for i := range out {
		switch s, ok := special[i]; {
		case ok:
			out[i] = s[0]
		case i%7 == 0:
			out[i] = fmt.Sprintf("138%08d", i)
		default:
			out[i] = fmt.Sprintf("+86138%08d", i)
		}
	}
	return out
}

func smsRequest(numbers []string) *SendSmsRequest {
	return &SendSmsRequest{
		PhoneNumberSet:   numbers,
		SmsSdkAppId:      demoAppID,
		TemplateId:       "2001",
		SignName:         String("tcsms"),
		TemplateParamSet: []string{"1234", "5"},
	}
}

// loggedCodes returns the code (or "ok") of every API request in an emulator log.
func loggedCodes(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var codes []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line struct {
			Action *string `json:"action"`
			Code   *string `json:"code"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		if line.Action == nil {
			continue
		}
		if line.Code == nil {
			codes = append(codes, "ok")
		} else {
			codes = append(codes, *line.Code)
		}
	}
	return codes
}

func TestSendSmsResults450NumbersInInputOrder(t *testing.T) {
	e := newEmulator(t)
	c := newTestClient(t, demoConfig(e))

	bad := numbers450()
	bad[17] = "+86 138 0000 0000"
	_, err := c.SendSmsResults(bg(), smsRequest(bad))
	var te *Error
	if !errors.As(err, &te) || te.Status != StatusInvalidArgument || te.Code != "ClientError.InvalidPhoneNumber" ||
		!strings.Contains(te.Message, "PhoneNumberSet[17]") {
		t.Fatalf("bad number: %v", err)
	}

	res, err := c.SendSmsResults(bg(), smsRequest(numbers450()))
	if err != nil {
		t.Fatal(err)
	}
	if res.AllOK() || len(res.Results) != 450 || len(res.RequestIds) != 3 {
		t.Fatalf("AllOK %v, %d results, %d request ids", res.AllOK(), len(res.Results), len(res.RequestIds))
	}
	for i, r := range res.Results {
		want := [3]string{numbers450()[i], "ok", "Ok"}
		if s, ok := special[i]; ok {
			want = s
		}
		if !strings.HasPrefix(want[0], "+") {
			want[0] = "+86" + want[0]
		}
		if r.PhoneNumber != want[0] || string(r.Class) != want[1] || r.Code != want[2] || r.OK() != (r.Fee == 1) {
			t.Fatalf("place %d: %+v, want %v", i, r, want)
		}
	}

	all, err := c.SendSmsResults(bg(), smsRequest([]string{"+8619900000002"}))
	if err != nil || all.AllOK() || all.Results[0].Class != ClassRejected {
		t.Fatalf("only a blacklisted number: %+v %v", all, err)
	}
	req := smsRequest([]string{"+8613800000002"})
	req.TemplateId = "9999"
	if _, err := c.SendSmsResults(bg(), req); !errors.As(err, &te) || te.Code != "FailedOperation.TemplateUnapprovedOrNotExist" {
		t.Fatalf("refused as a whole: %v", err)
	}
	multi, err := c.SendMultiGlobalSmsResults(bg(), &SendMultiGlobalSmsRequest{
		SmsSdkAppId: demoAppID,
		MultiSmsInfoSet: []MultiSmsInfo{
			{PhoneNumber: "+12025550100", TemplateId: "2004"},
			{PhoneNumber: "+15550000012", TemplateId: "2004"},
		},
	})
	if err != nil || len(multi.Results) != 2 || multi.Results[0].Class != ClassOK || multi.Results[1].Class != ClassLimited {
		t.Fatalf("SendMultiGlobalSmsResults: %+v %v", multi, err)
	}
	if StatusPartial.Description() != "not every number was sent" {
		t.Errorf("StatusPartial: %q", StatusPartial.Description())
	}
}

func TestSendResultsTakeTypedRequests(t *testing.T) {
	c := newTestClient(t, demoConfig(newEmulator(t)))
	var te *Error
	if _, err := c.SendSmsResults(bg(), nil); !errors.As(err, &te) || te.Status != StatusNullArgument {
		t.Errorf("nil *SendSmsRequest: %v", err)
	}
	if _, err := c.SendMultiGlobalSmsResults(bg(), nil); !errors.As(err, &te) || te.Status != StatusNullArgument {
		t.Errorf("nil *SendMultiGlobalSmsRequest: %v", err)
	}
	// The signatures are the typed ones (a compile-time check).
	var _ func(context.Context, *SendSmsRequest) (*SendResults, error) = c.SendSmsResults
	var _ func(context.Context, *SendMultiGlobalSmsRequest) (*SendResults, error) = c.SendMultiGlobalSmsResults
	res, err := c.SendSmsResults(bg(), smsRequest([]string{"+8613800000031", "+8613800000031"}))
	if err != nil || len(res.Results) != 2 || res.Results[0].Class != ClassOK || res.Results[1].Class != ClassRejected {
		t.Fatalf("typed SendSmsResults: %+v %v", res, err)
	}
}

func TestSendSmsResultsHonoursTheContextDeadline(t *testing.T) {
	e := newEmulator(t, "--fault", "slow", "--fault-delay-ms", "3000")
	c := newTestClient(t, demoConfig(e))
	ctx, cancel := context.WithTimeout(bg(), 800*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.SendSmsResults(ctx, smsRequest(numbers450()))
	var te *Error
	if !errors.As(err, &te) || te.Status != StatusTimeout {
		t.Fatalf("want a timeout, got %v", err)
	}
	if time.Since(start) > 1500*time.Millisecond {
		t.Fatalf("took %v", time.Since(start))
	}
}

// burst makes 60 DescribeSmsSignList calls (3x its 20/s limit) from 8 goroutines.
func burst(c *Client) []error {
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		n := 60/8 + map[bool]int{true: 1, false: 0}[g < 60%8]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				if err := c.Call(bg(), "DescribeSmsSignList", map[string]any{"International": 0}, nil); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return errs
}

func TestRateLimitsKeepABurstUnderTheServiceLimit(t *testing.T) {
	e := newEmulator(t)
	cfg := demoConfig(e)
	cfg.MaxRetries = Int(0)
	start := time.Now()
	if errs := burst(newTestClient(t, cfg)); len(errs) != 0 {
		t.Fatalf("%d calls failed, first: %v", len(errs), errs[0])
	}
	if time.Since(start) < 3*time.Second {
		t.Fatalf("60 calls at 18/s took only %v", time.Since(start))
	}
	time.Sleep(1100 * time.Millisecond)
	cfg.RateLimits = map[string]float64{"*": 0}
	errs := burst(newTestClient(t, cfg))
	if len(errs) == 0 {
		t.Fatal("without client-side limits the burst should be refused by the service")
	}
	for _, err := range errs {
		var te *Error
		if !errors.As(err, &te) || te.Code != "RequestLimitExceeded" {
			t.Fatalf("unexpected error %v", err)
		}
	}

	time.Sleep(1100 * time.Millisecond) // let the service's window of the burst pass
	cfg.RateLimits = map[string]float64{"*": 0, "DescribeSmsSignList": 1}
	cfg.Timeout = 300 * time.Millisecond
	c := newTestClient(t, cfg)
	if err := c.Call(bg(), "DescribeSmsSignList", map[string]any{"International": 0}, nil); err != nil {
		t.Fatal(err)
	}
	err := c.Call(bg(), "DescribeSmsSignList", map[string]any{"International": 0}, nil)
	var te *Error
	if !errors.As(err, &te) || te.Code != "ClientError.RateLimited" || te.Status != StatusTimeout {
		t.Fatalf("want ClientError.RateLimited, got %v", err)
	}
}

func TestClockSkewIsCorrectedAfterOneReSign(t *testing.T) {
	log := filepath.Join(t.TempDir(), "emulator.log")
	e := newEmulator(t, "--clock-offset", "-900", "--log", log)
	cfg := demoConfig(e)
	cfg.MaxRetries = Int(0)
	c := newTestClient(t, cfg)
	if off, err := c.ClockOffset(); err != nil || off != 0 {
		t.Fatalf("ClockOffset before: %v %v", off, err)
	}
	res, err := c.SendSmsResults(bg(), smsRequest([]string{"+8613800000003"}))
	if err != nil || !res.AllOK() {
		t.Fatalf("first send of a client 900 s fast: %+v %v", res, err)
	}
	off, err := c.ClockOffset()
	if err != nil || off < -901*time.Second || off > -899*time.Second {
		t.Fatalf("ClockOffset: %v %v", off, err)
	}
	if got := loggedCodes(t, log); strings.Join(got, ",") != "AuthFailure.SignatureExpire,ok" {
		t.Fatalf("emulator saw %v", got)
	}
	if err := c.Call(bg(), "DescribeSmsSignList", map[string]any{"International": 0}, nil); err != nil {
		t.Fatal(err)
	}
	if got := loggedCodes(t, log); len(got) != 3 {
		t.Fatalf("emulator saw %v", got)
	}
}

func TestSetCredentialsWhileEightGoroutinesCall(t *testing.T) {
	e := newEmulator(t, "--rate-limit", "all=0", "--secret-id", demoSecretID, "--secret-key", demoSecretKey,
		"--secret-id", otherSecretID, "--secret-key", otherSecretKey)
	cfg := demoConfig(e)
	cfg.RateLimits = map[string]float64{"*": 0}
	c := newTestClient(t, cfg)
	var stop atomic.Bool
	var calls, failures atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if err := c.Call(bg(), "DescribeSmsSignList", map[string]any{"International": 0}, nil); err != nil {
					failures.Add(1)
					first.CompareAndSwap(nil, err.Error())
				}
				calls.Add(1)
			}
		}()
	}
	for i := 0; i < 20; i++ {
		time.Sleep(20 * time.Millisecond)
		id, key := otherSecretID, otherSecretKey
		if i%2 == 1 {
			id, key = demoSecretID, demoSecretKey
		}
		if err := c.SetCredentials(id, key, ""); err != nil {
			t.Error(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if failures.Load() != 0 || calls.Load() < 8 {
		t.Fatalf("%d of %d calls failed during rotation, first: %v", failures.Load(), calls.Load(), first.Load())
	}
	if err := c.SetCredentials("AKIDunknown0000000000000000000000000", "unknown-secret-key", ""); err != nil {
		t.Fatal(err)
	}
	err := c.Call(bg(), "DescribeSmsSignList", map[string]any{"International": 0}, nil)
	var te *Error
	if !errors.As(err, &te) || te.Code != "AuthFailure.SecretIdNotFound" {
		t.Fatalf("after rotating to an unknown pair: %v", err)
	}
	err = c.SetCredentials("", otherSecretKey, "")
	if !errors.As(err, &te) || te.Status != StatusInvalidConfig || strings.Contains(err.Error(), otherSecretKey) {
		t.Fatalf("empty secret id: %v", err)
	}
	if err := c.SetCredentials(otherSecretID, otherSecretKey, ""); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(bg(), "DescribeSmsSignList", map[string]any{"International": 0}, nil); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	if err := c.SetCredentials(otherSecretID, otherSecretKey, ""); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if _, err := c.ClockOffset(); !errors.Is(err, ErrClosed) {
		t.Fatalf("ClockOffset after Close: %v", err)
	}
}

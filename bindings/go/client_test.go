package tcsms

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	mainlandPhone = "+8613800000000"
	intlPhone     = "+6591234567"
)

// sendOne sends a verification code to a mainland number and returns its SerialNo.
func sendOne(t testing.TB, c *Client, phone string) string {
	t.Helper()
	resp, err := c.SendSms(bg(), &SendSmsRequest{
		PhoneNumberSet:   []string{phone},
		SmsSdkAppId:      demoAppID,
		TemplateId:       "2001",
		SignName:         String("tcsms"),
		TemplateParamSet: []string{"123456", "5"},
		SessionContext:   String("go-test"),
	})
	if err != nil {
		t.Fatalf("SendSms: %v", err)
	}
	if resp.RequestId == "" || len(resp.SendStatusSet) != 1 {
		t.Fatalf("SendSms: %+v", resp)
	}
	st := resp.SendStatusSet[0]
	if st.Code != "Ok" || st.SerialNo == "" || st.PhoneNumber != phone {
		t.Fatalf("SendSms status: %+v", st)
	}
	return st.SerialNo
}

// TestEveryAction calls each of the 19 actions through its typed method
// against the emulator, with the seeded signatures and templates.
func TestEveryAction(t *testing.T) {
	e := needEmulator(t)
	c := newTestClient(t, demoConfig(e))
	ctx := bg()
	done := map[string]bool{}
	check := func(action, requestID string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		if requestID == "" {
			t.Fatalf("%s: empty RequestId", action)
		}
		done[action] = true
	}
	now := time.Now()

	// Sending, status, conversion.
	send, err := c.SendSms(ctx, &SendSmsRequest{
		PhoneNumberSet: []string{mainlandPhone}, SmsSdkAppId: demoAppID, TemplateId: "2002",
		SignName: String("tcsms"), TemplateParamSet: []string{"A-1001"},
	})
	check("SendSms", reqID(send), err)
	if len(send.SendStatusSet) != 1 || send.SendStatusSet[0].Code != "Ok" {
		t.Fatalf("SendSms: %+v", send.SendStatusSet)
	}
	serial := send.SendStatusSet[0].SerialNo

	multi, err := c.SendMultiGlobalSms(ctx, &SendMultiGlobalSmsRequest{
		SmsSdkAppId: demoAppID,
		MultiSmsInfoSet: []MultiSmsInfo{
			{PhoneNumber: intlPhone, TemplateId: "2003", TemplateParamSet: []string{"654321", "10"}},
			{PhoneNumber: "+447700900123", TemplateId: "2004", TemplateParamSet: []string{}},
		},
	})
	check("SendMultiGlobalSms", reqID(multi), err)
	if len(multi.SendMultiStatusSet) != 2 {
		t.Fatalf("SendMultiGlobalSms: %+v", multi.SendMultiStatusSet)
	}

	pull, err := c.PullSmsSendStatus(ctx, &PullSmsSendStatusRequest{Limit: 100, SmsSdkAppId: demoAppID})
	check("PullSmsSendStatus", reqID(pull), err)
	t.Logf("PullSmsSendStatus: %d entries", len(pull.PullSmsSendStatusSet))

	pullPhone, err := c.PullSmsSendStatusByPhoneNumber(ctx, &PullSmsSendStatusByPhoneNumberRequest{
		BeginTime: uint64(now.Add(-time.Hour).Unix()), Offset: 0, Limit: 100,
		PhoneNumber: mainlandPhone, SmsSdkAppId: demoAppID, EndTime: Uint64(uint64(now.Add(time.Hour).Unix())),
	})
	check("PullSmsSendStatusByPhoneNumber", reqID(pullPhone), err)
	found := false
	for _, s := range pullPhone.PullSmsSendStatusSet {
		if s.SerialNo == serial {
			found = true
		}
	}
	if !found {
		t.Errorf("PullSmsSendStatusByPhoneNumber: SerialNo %s not in %+v", serial, pullPhone.PullSmsSendStatusSet)
	}

	conv, err := c.ReportConversion(ctx, &ReportConversionRequest{SmsSdkAppId: demoAppID, SerialNo: serial, ConversionTime: uint64(now.Unix())})
	check("ReportConversion", reqID(conv), err)
	if conv.ReportConversionStatus.Code != "ok" {
		t.Errorf("ReportConversion: %+v", conv.ReportConversionStatus)
	}
	// Without ConversionTime, and with a deadline (tcsms_call_with_timeout path).
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conv2, err := c.ReportConversion(dctx, &ReportConversionRequest{SmsSdkAppId: demoAppID, SerialNo: serial})
	cancel()
	if err != nil || conv2.ReportConversionStatus.Code != "ok" {
		t.Errorf("ReportConversion with deadline: %+v %v", conv2, err)
	}

	replies, err := c.PullSmsReplyStatus(ctx, &PullSmsReplyStatusRequest{Limit: 10, SmsSdkAppId: demoAppID})
	check("PullSmsReplyStatus", reqID(replies), err)
	repliesPhone, err := c.PullSmsReplyStatusByPhoneNumber(ctx, &PullSmsReplyStatusByPhoneNumberRequest{
		BeginTime: uint64(now.Add(-time.Hour).Unix()), Offset: 0, Limit: 10, PhoneNumber: mainlandPhone, SmsSdkAppId: demoAppID,
	})
	check("PullSmsReplyStatusByPhoneNumber", reqID(repliesPhone), err)

	// Statistics (times are YYYYMMDDHH, Beijing time).
	cst := time.FixedZone("CST", 8*3600)
	begin, end := now.In(cst).Add(-24*time.Hour).Format("2006010215"), now.In(cst).Add(time.Hour).Format("2006010215")
	sendStats, err := c.SendStatusStatistics(ctx, &SendStatusStatisticsRequest{BeginTime: begin, EndTime: end, SmsSdkAppId: demoAppID, Limit: 0, Offset: 0})
	check("SendStatusStatistics", reqID(sendStats), err)
	if sendStats.SendStatusStatistics.RequestCount == 0 {
		t.Errorf("SendStatusStatistics counted no requests: %+v", sendStats.SendStatusStatistics)
	}
	cbStats, err := c.CallbackStatusStatistics(ctx, &CallbackStatusStatisticsRequest{BeginTime: begin, EndTime: end, SmsSdkAppId: demoAppID, Limit: 0, Offset: 0})
	check("CallbackStatusStatistics", reqID(cbStats), err)
	pkgStats, err := c.SmsPackagesStatistics(ctx, &SmsPackagesStatisticsRequest{SmsSdkAppId: demoAppID, Limit: 10, Offset: 0, BeginTime: begin, EndTime: end})
	check("SmsPackagesStatistics", reqID(pkgStats), err)

	info, err := c.DescribePhoneNumberInfo(ctx, &DescribePhoneNumberInfoRequest{PhoneNumberSet: []string{mainlandPhone, intlPhone}})
	check("DescribePhoneNumberInfo", reqID(info), err)
	if len(info.PhoneNumberInfoSet) != 2 || info.PhoneNumberInfoSet[0].IsoCode != "CN" {
		t.Errorf("DescribePhoneNumberInfo: %+v", info.PhoneNumberInfoSet)
	}

	// Signatures: describe the seeded one, then add, modify, delete.
	signs, err := c.DescribeSmsSignList(ctx, &DescribeSmsSignListRequest{International: 0, SignIdSet: []uint64{1001}})
	check("DescribeSmsSignList", reqID(signs), err)
	if len(signs.DescribeSignListStatusSet) != 1 || signs.DescribeSignListStatusSet[0].SignName != "tcsms" {
		t.Errorf("DescribeSmsSignList: %+v", signs.DescribeSignListStatusSet)
	}
	addSign, err := c.AddSmsSign(ctx, &AddSmsSignRequest{
		SignName: "gotest", SignType: 0, DocumentType: 0, International: 1, SignPurpose: 0,
		ProofImage: "aGVsbG8=", Remark: String("go binding test"),
	})
	check("AddSmsSign", reqID(addSign), err)
	signID := addSign.AddSignStatus.SignId
	modSign, err := c.ModifySmsSign(ctx, &ModifySmsSignRequest{
		SignId: signID, SignName: "gotest2", SignType: 0, DocumentType: 0, International: 1, SignPurpose: 0,
		ProofImage: "aGVsbG8=",
	})
	check("ModifySmsSign", reqID(modSign), err)
	if modSign.ModifySignStatus.SignId != signID {
		t.Errorf("ModifySmsSign: %+v", modSign.ModifySignStatus)
	}
	delSign, err := c.DeleteSmsSign(ctx, &DeleteSmsSignRequest{SignId: signID})
	check("DeleteSmsSign", reqID(delSign), err)

	// Templates.
	tpls, err := c.DescribeSmsTemplateList(ctx, &DescribeSmsTemplateListRequest{International: 1, TemplateIdSet: []uint64{2003, 2004}})
	check("DescribeSmsTemplateList", reqID(tpls), err)
	if len(tpls.DescribeTemplateStatusSet) != 2 {
		t.Errorf("DescribeSmsTemplateList: %+v", tpls.DescribeTemplateStatusSet)
	}
	addTpl, err := c.AddSmsTemplate(ctx, &AddSmsTemplateRequest{
		TemplateName: "go test", TemplateContent: "Your go code is {1}.", SmsType: 3, International: 1, Remark: "go binding test",
	})
	check("AddSmsTemplate", reqID(addTpl), err)
	var tplID uint64
	if _, err := fmt.Sscan(addTpl.AddTemplateStatus.TemplateId, &tplID); err != nil {
		t.Fatalf("AddSmsTemplate TemplateId %q: %v", addTpl.AddTemplateStatus.TemplateId, err)
	}
	modTpl, err := c.ModifySmsTemplate(ctx, &ModifySmsTemplateRequest{
		TemplateId: tplID, TemplateName: "go test 2", TemplateContent: "Your go code is {1}!", SmsType: 3, International: 1, Remark: "changed",
	})
	check("ModifySmsTemplate", reqID(modTpl), err)
	delTpl, err := c.DeleteSmsTemplate(ctx, &DeleteSmsTemplateRequest{TemplateId: tplID})
	check("DeleteSmsTemplate", reqID(delTpl), err)

	for _, a := range Actions {
		if !done[a] {
			t.Errorf("action %s was not exercised", a)
		}
	}
}

// reqID returns the RequestId of any typed response (or "" for nil).
func reqID(resp any) string {
	v := reflect.ValueOf(resp)
	if !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		return ""
	}
	return reflect.Indirect(v).FieldByName("RequestId").String()
}

func TestCallAndCallRaw(t *testing.T) {
	e := needEmulator(t)
	c := newTestClient(t, demoConfig(e))
	var resp map[string]any
	err := c.Call(bg(), "DescribeSmsTemplateList", map[string]any{"International": 0, "TemplateIdSet": []int{2001}}, &resp)
	if err != nil {
		t.Fatal(err)
	}
	if resp["RequestId"] == "" || resp["DescribeTemplateStatusSet"] == nil {
		t.Fatalf("Call: %v", resp)
	}
	var typed SendSmsResponse
	err = c.Call(bg(), "SendSms", &SendSmsRequest{PhoneNumberSet: []string{intlPhone}, SmsSdkAppId: demoAppID, TemplateId: "2004"}, &typed)
	if err != nil || len(typed.SendStatusSet) != 1 || typed.SendStatusSet[0].SerialNo == "" {
		t.Fatalf("Call SendSms: %+v %v", typed, err)
	}
	if err := c.Call(bg(), "PullSmsSendStatus", map[string]any{"Limit": 1, "SmsSdkAppId": demoAppID}, nil); err != nil {
		t.Fatalf("Call with nil resp: %v", err)
	}
	body, err := c.CallRaw(bg(), "DescribeSmsSignList", `{"International":0}`)
	if err != nil || !strings.HasPrefix(body, `{"Response":`) || !strings.Contains(body, `"RequestId"`) {
		t.Fatalf("CallRaw: %s %v", body, err)
	}
}

// apiError asserts err is an *Error with the given status and returns it.
func apiError(t *testing.T, err error, st Status) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *tcsms.Error with status %s, got %T %v", st, err, err)
	}
	if e.Status != st {
		t.Fatalf("status %s, want %s (%v)", e.Status, st, e)
	}
	if e.Code == "" {
		t.Fatalf("empty Code: %+v", e)
	}
	return e
}

func TestErrorWrongKey(t *testing.T) {
	e := needEmulator(t)
	cfg := demoConfig(e)
	cfg.SecretKey = NewSecret("not-the-right-key-000000000000000")
	c := newTestClient(t, cfg)
	_, err := c.SendSms(bg(), &SendSmsRequest{PhoneNumberSet: []string{mainlandPhone}, SmsSdkAppId: demoAppID, TemplateId: "2001", SignName: String("tcsms"), TemplateParamSet: []string{"1", "2"}})
	ae := apiError(t, err, StatusAPIError)
	if ae.Code != "AuthFailure.SignatureFailure" || ae.RequestID == "" || ae.Message == "" {
		t.Fatalf("wrong key: %+v", ae)
	}
	if !errors.Is(err, ErrAPI) {
		t.Error("errors.Is(err, ErrAPI)")
	}
	if strings.Contains(err.Error(), cfg.SecretKey.Reveal()) {
		t.Error("error text contains the secret key")
	}
	// Same for ReportConversion (tcsms_report_conversion path).
	_, err = c.ReportConversion(bg(), &ReportConversionRequest{SmsSdkAppId: demoAppID, SerialNo: "2433:1"})
	ae = apiError(t, err, StatusAPIError)
	if ae.Code != "AuthFailure.SignatureFailure" || ae.RequestID == "" {
		t.Fatalf("wrong key, ReportConversion: %+v", ae)
	}
}

func TestErrorUnknownSecretID(t *testing.T) {
	e := needEmulator(t)
	cfg := demoConfig(e)
	cfg.SecretID = "AKIDunknown000000000000000000000000"
	c := newTestClient(t, cfg)
	_, err := c.PullSmsSendStatus(bg(), &PullSmsSendStatusRequest{Limit: 1, SmsSdkAppId: demoAppID})
	ae := apiError(t, err, StatusAPIError)
	if !strings.HasPrefix(ae.Code, "AuthFailure.") || ae.RequestID == "" {
		t.Fatalf("unknown secret id: %+v", ae)
	}
}

func TestErrorUnknownApp(t *testing.T) {
	e := needEmulator(t)
	c := newTestClient(t, demoConfig(e))
	_, err := c.SendSms(bg(), &SendSmsRequest{PhoneNumberSet: []string{mainlandPhone}, SmsSdkAppId: "1400999999", TemplateId: "2001", SignName: String("tcsms"), TemplateParamSet: []string{"1", "2"}})
	ae := apiError(t, err, StatusAPIError)
	if ae.RequestID == "" || ae.Message == "" {
		t.Fatalf("unknown app: %+v", ae)
	}
	t.Logf("unknown app: %s", ae)
	// A SerialNo the service could never have issued, for ReportConversion.
	_, err = c.ReportConversion(bg(), &ReportConversionRequest{SmsSdkAppId: demoAppID, SerialNo: "not a serial"})
	if ae := apiError(t, err, StatusAPIError); ae.Code != "InvalidParameterValue" {
		t.Fatalf("ReportConversion with a malformed SerialNo: %+v", ae)
	}
}

func TestErrorMissingParameter(t *testing.T) {
	e := needEmulator(t)
	c := newTestClient(t, demoConfig(e))
	err := c.Call(bg(), "SendSms", map[string]any{"PhoneNumberSet": []string{mainlandPhone}, "SmsSdkAppId": demoAppID}, nil)
	ae := apiError(t, err, StatusAPIError)
	if !strings.HasPrefix(ae.Code, "MissingParameter") || ae.RequestID == "" {
		t.Fatalf("missing TemplateId: %+v", ae)
	}
}

func TestErrorUnknownAction(t *testing.T) {
	e := needEmulator(t)
	c := newTestClient(t, demoConfig(e))
	err := c.Call(bg(), "SendSmsPlease", struct{}{}, nil)
	ae := apiError(t, err, StatusInvalidArgument)
	if ae.Code != "ClientError.UnknownAction" || ae.RequestID != "" {
		t.Fatalf("unknown action: %+v", ae)
	}
	if !errors.Is(err, ErrInvalidArgument) {
		t.Error("errors.Is ErrInvalidArgument")
	}
	// NUL bytes never reach C (C.CString would truncate).
	_, err = c.CallRaw(bg(), "SendSms\x00x", "{}")
	apiError(t, err, StatusInvalidArgument)
}

func TestErrorInvalidJSON(t *testing.T) {
	e := needEmulator(t)
	c := newTestClient(t, demoConfig(e))
	for _, body := range []string{`{not json`, `[1,2]`, `"text"`, ``} {
		_, err := c.CallRaw(bg(), "SendSms", body)
		ae := apiError(t, err, StatusInvalidJSON)
		if ae.Code != "ClientError.InvalidJson" {
			t.Errorf("%q: %+v", body, ae)
		}
	}
	// A request that encoding/json cannot marshal is refused locally.
	err := c.Call(bg(), "SendSms", map[string]any{"x": make(chan int)}, nil)
	apiError(t, err, StatusInvalidJSON)
	// Invalid UTF-8 in the action name.
	_, err = c.CallRaw(bg(), "Send\xffSms", "{}")
	apiError(t, err, StatusInvalidUTF8)
}

func TestErrorBadConfig(t *testing.T) {
	_, err := NewClientFromJSON(`{"secret_id":"a","secret_key":"b","timeout":5}`)
	ae := apiError(t, err, StatusInvalidConfig)
	if !strings.Contains(ae.Message, "timeout") {
		t.Errorf("unknown key not named: %+v", ae)
	}
	if !errors.Is(err, ErrInvalidConfig) {
		t.Error("errors.Is ErrInvalidConfig")
	}
	_, err = NewClient(Config{SecretID: "a", SecretKey: NewSecret("b"), Language: "fr-FR"})
	apiError(t, err, StatusInvalidConfig)
	_, err = NewClient(Config{SecretID: "a", SecretKey: NewSecret("b"), Endpoint: "ftp://example.com"})
	apiError(t, err, StatusInvalidConfig)
	_, err = NewClientFromJSON(`not json`)
	apiError(t, err, StatusInvalidJSON)
	_, err = NewClient(Config{SecretID: "a", SecretKey: NewSecret("b"), MaxRetries: Int(-1)})
	apiError(t, err, StatusInvalidConfig)
	// The secret never appears in config errors.
	_, err = NewClient(Config{SecretID: "a", SecretKey: NewSecret("sekrit-value"), Language: "xx"})
	if err == nil || strings.Contains(err.Error(), "sekrit-value") {
		t.Errorf("config error: %v", err)
	}
}

// closedPort returns a local TCP port with nothing listening.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestErrorUnreachable(t *testing.T) {
	c := newTestClient(t, Config{SecretID: demoSecretID, SecretKey: NewSecret(demoSecretKey), Endpoint: "http://" + closedPort(t), MaxRetries: Int(0), Timeout: 5 * time.Second})
	start := time.Now()
	_, err := c.SendSms(bg(), &SendSmsRequest{PhoneNumberSet: []string{mainlandPhone}, SmsSdkAppId: demoAppID, TemplateId: "2001"})
	ae := apiError(t, err, StatusNetwork)
	if ae.Code != "ClientError.Network" || ae.RequestID != "" || !errors.Is(err, ErrNetwork) {
		t.Fatalf("unreachable: %+v", ae)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("connection refused took %v", d)
	}
}

func TestErrorFaults(t *testing.T) {
	needEmulator(t)
	cases := []struct {
		fault string
		want  Status
	}{
		{"garbage", StatusDecode},
		{"http500", StatusHTTPStatus},
		{"close", StatusNetwork},
	}
	for _, tc := range cases {
		t.Run(tc.fault, func(t *testing.T) {
			e := newEmulator(t, "--fault", tc.fault, "--fault-every", "1")
			cfg := demoConfig(e)
			cfg.MaxRetries = Int(0)
			c := newTestClient(t, cfg)
			_, err := c.PullSmsSendStatus(bg(), &PullSmsSendStatusRequest{Limit: 1, SmsSdkAppId: demoAppID})
			ae := apiError(t, err, tc.want)
			if !strings.HasPrefix(ae.Code, "ClientError.") {
				t.Errorf("%s: %+v", tc.fault, ae)
			}
			t.Logf("%s: %v", tc.fault, ae)
		})
	}
}

// slowEmulator is shared by the tests that need a server that answers late.
var (
	slowOnce sync.Once
	slowEmu  *emulator
	slowErr  error
)

func needSlowEmulator(t *testing.T) *emulator {
	t.Helper()
	needEmulator(t)
	slowOnce.Do(func() {
		slowEmu, slowErr = startEmulator("--fault", "slow", "--fault-every", "1", "--fault-delay-ms", "5000")
	})
	if slowErr != nil {
		t.Fatalf("slow emulator: %v", slowErr)
	}
	return slowEmu
}

func TestContextDeadlineShorterThanClientTimeout(t *testing.T) {
	e := needSlowEmulator(t)
	cfg := demoConfig(e)
	cfg.Timeout = 60 * time.Second
	c := newTestClient(t, cfg)
	for _, name := range []string{"SendSms", "ReportConversion"} {
		ctx, cancel := context.WithTimeout(bg(), 300*time.Millisecond)
		start := time.Now()
		var err error
		if name == "SendSms" {
			_, err = c.SendSms(ctx, &SendSmsRequest{PhoneNumberSet: []string{mainlandPhone}, SmsSdkAppId: demoAppID, TemplateId: "2001", SignName: String("tcsms"), TemplateParamSet: []string{"1", "2"}})
		} else {
			_, err = c.ReportConversion(ctx, &ReportConversionRequest{SmsSdkAppId: demoAppID, SerialNo: "2433:1"})
		}
		elapsed := time.Since(start)
		cancel()
		ae := apiError(t, err, StatusTimeout)
		if ae.Code != "ClientError.Timeout" || !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %+v", name, ae)
		}
		if elapsed < 250*time.Millisecond || elapsed > 2*time.Second {
			t.Errorf("%s: ctx deadline 300ms, call took %v", name, elapsed)
		}
	}
}

func TestClientTimeout(t *testing.T) {
	e := needSlowEmulator(t)
	cfg := demoConfig(e)
	cfg.Timeout = 300 * time.Millisecond
	c := newTestClient(t, cfg)
	start := time.Now()
	_, err := c.PullSmsSendStatus(bg(), &PullSmsSendStatusRequest{Limit: 1, SmsSdkAppId: demoAppID})
	elapsed := time.Since(start)
	apiError(t, err, StatusTimeout)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Error("client timeout must not look like a context deadline")
	}
	if elapsed > 2*time.Second {
		t.Errorf("client timeout 300ms, call took %v", elapsed)
	}
}

func TestContextAlreadyDone(t *testing.T) {
	e := needEmulator(t)
	c := newTestClient(t, demoConfig(e))
	before := len(emulatorMessages(t, e))
	ctx, cancel := context.WithCancel(bg())
	cancel()
	req := &SendSmsRequest{PhoneNumberSet: []string{mainlandPhone}, SmsSdkAppId: demoAppID, TemplateId: "2001", SignName: String("tcsms"), TemplateParamSet: []string{"1", "2"}}
	if _, err := c.SendSms(ctx, req); err != context.Canceled {
		t.Errorf("cancelled ctx: %v", err)
	}
	dctx, dcancel := context.WithDeadline(bg(), time.Now().Add(-time.Second))
	defer dcancel()
	if _, err := c.SendSms(dctx, req); err != context.DeadlineExceeded {
		t.Errorf("expired ctx: %v", err)
	}
	if _, err := c.ReportConversion(ctx, &ReportConversionRequest{SmsSdkAppId: demoAppID, SerialNo: "2433:1"}); err != context.Canceled {
		t.Errorf("cancelled ctx, ReportConversion: %v", err)
	}
	if after := len(emulatorMessages(t, e)); after != before {
		t.Errorf("a call with a done context reached the service (%d -> %d messages)", before, after)
	}
}

func TestContextCancelDuringCall(t *testing.T) {
	e := needSlowEmulator(t)
	cfg := demoConfig(e)
	cfg.Timeout = 2 * time.Second // bounds the abandoned call that Close waits for
	c := newTestClient(t, cfg)
	ctx, cancel := context.WithCancel(bg())
	time.AfterFunc(150*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.PullSmsSendStatus(ctx, &PullSmsSendStatusRequest{Limit: 1, SmsSdkAppId: demoAppID})
	if err != context.Canceled {
		t.Fatalf("cancel during call: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("cancel took %v", d)
	}
}

// TestConcurrentSharedClient: 64 goroutines share one client; each sends
// SMS and reports the conversion of its own SerialNo, repeatedly, until all
// 64 have been running together for a while.
func TestConcurrentSharedClient(t *testing.T) {
	e := needEmulator(t)
	c := newTestClient(t, demoConfig(e))
	const n = 64
	var wg sync.WaitGroup
	var inFlight, maxInFlight, rounds atomic.Int64
	track := func(delta int64) {
		v := inFlight.Add(delta)
		for {
			m := maxInFlight.Load()
			if v <= m || maxInFlight.CompareAndSwap(m, v) {
				return
			}
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	errs := make(chan error, n)
	begin := time.Now()
	until := begin.Add(2*n*time.Millisecond + 400*time.Millisecond)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			phone := fmt.Sprintf("+86138%08d", i)
			for round := 0; round == 0 || time.Now().Before(until); round++ {
				track(1)
				err := func() error {
					defer track(-1)
					ctx, cancel := context.WithTimeout(bg(), 30*time.Second)
					defer cancel()
					resp, err := c.SendSms(ctx, &SendSmsRequest{
						PhoneNumberSet: []string{phone}, SmsSdkAppId: demoAppID, TemplateId: "2001",
						SignName: String("tcsms"), TemplateParamSet: []string{fmt.Sprint(100000 + i), "5"},
					})
					if err != nil {
						return fmt.Errorf("SendSms: %w", err)
					}
					if len(resp.SendStatusSet) != 1 || resp.SendStatusSet[0].PhoneNumber != phone || resp.SendStatusSet[0].SerialNo == "" {
						return fmt.Errorf("SendSms: %+v", resp.SendStatusSet)
					}
					serial := resp.SendStatusSet[0].SerialNo
					mu.Lock()
					seen[serial]++
					mu.Unlock()
					conv, err := c.ReportConversion(bg(), &ReportConversionRequest{SmsSdkAppId: demoAppID, SerialNo: serial, ConversionTime: uint64(time.Now().Unix())})
					if err != nil {
						return fmt.Errorf("ReportConversion: %w", err)
					}
					if conv.ReportConversionStatus.Code != "ok" {
						return fmt.Errorf("ReportConversion: %+v", conv.ReportConversionStatus)
					}
					return nil
				}()
				if err != nil {
					errs <- fmt.Errorf("goroutine %d round %d: %w", i, round, err)
					return
				}
				rounds.Add(1)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d send+report rounds in %v; up to %d goroutines inside the client at once",
		rounds.Load(), time.Since(begin).Round(time.Millisecond), maxInFlight.Load())
	if maxInFlight.Load() < 32 {
		t.Errorf("only %d goroutines overlapped; the test did not exercise concurrency", maxInFlight.Load())
	}
	for s, k := range seen {
		if k > 1 {
			t.Errorf("SerialNo %s issued %d times", s, k)
		}
	}
}

func TestCloseSemantics(t *testing.T) {
	e := needEmulator(t)
	c, err := NewClient(demoConfig(e))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err = c.SendSms(bg(), &SendSmsRequest{})
	ae := apiError(t, err, StatusInvalidArgument)
	// The same code and status as the Python binding (spec/client_errors.json).
	if ae.Code != "ClientError.ClientClosed" || !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %+v", ae)
	}
	_, err = c.ReportConversion(bg(), &ReportConversionRequest{SmsSdkAppId: demoAppID, SerialNo: "2433:1"})
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("ReportConversion after Close: %v", err)
	}
	if _, err := c.CallRaw(bg(), "SendSms", "{}"); !errors.Is(err, ErrClosed) {
		t.Fatalf("CallRaw after Close: %v", err)
	}
}

// TestCloseRacesWithCalls: Close while many goroutines call; every call
// either completes normally or reports ErrClosed (run with -race).
func TestCloseRacesWithCalls(t *testing.T) {
	e := needEmulator(t)
	c, err := NewClient(demoConfig(e))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var ok, closed atomic.Int64
	stop := make(chan struct{})
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := c.PullSmsSendStatus(bg(), &PullSmsSendStatusRequest{Limit: 1, SmsSdkAppId: demoAppID})
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, ErrClosed):
					closed.Add(1)
					return
				default:
					t.Errorf("unexpected error: %v", err)
					return
				}
			}
		}(i)
	}
	time.Sleep(200 * time.Millisecond)
	var cwg sync.WaitGroup
	for i := 0; i < 4; i++ { // concurrent Close calls
		cwg.Add(1)
		go func() { defer cwg.Done(); _ = c.Close() }()
	}
	cwg.Wait()
	close(stop)
	wg.Wait()
	if ok.Load() == 0 {
		t.Error("no call succeeded before Close")
	}
	t.Logf("%d calls before Close, %d goroutines saw ErrClosed", ok.Load(), closed.Load())
}

// TestCloseWaitsForInflightCall: Close blocks until a call in flight returns.
func TestCloseWaitsForInflightCall(t *testing.T) {
	e := needSlowEmulator(t)
	cfg := demoConfig(e)
	cfg.Timeout = 800 * time.Millisecond
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	callDone := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := c.PullSmsSendStatus(bg(), &PullSmsSendStatusRequest{Limit: 1, SmsSdkAppId: demoAppID})
		callDone <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// The call ends by its 800ms timeout; Close must not return before.
	if d := time.Since(start); d < 700*time.Millisecond {
		t.Errorf("Close returned after %v, before the in-flight call could end", d)
	}
	callErr := <-callDone
	if !errors.Is(callErr, ErrTimeout) {
		t.Errorf("in-flight call: %v, want a timeout", callErr)
	}
}

func TestFinalizerFreesUnclosedClient(t *testing.T) {
	e := needEmulator(t)
	before := finalizedClients.Load()
	func() {
		for i := 0; i < 4; i++ {
			c, err := NewClient(demoConfig(e))
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if _, err := c.PullSmsSendStatus(bg(), &PullSmsSendStatusRequest{Limit: 1, SmsSdkAppId: demoAppID}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}()
	// A closed client is not freed again by its finalizer.
	closed, err := NewClient(demoConfig(e))
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	closed = nil
	deadline := time.Now().Add(10 * time.Second)
	for finalizedClients.Load()-before < 4 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := finalizedClients.Load() - before; got != 4 {
		t.Fatalf("finalizer freed %d of 4 unclosed clients", got)
	}
}

// TestStaticLinkBuild builds the example with -tags tcsms_static, checks the
// binary does not need libtcsms.so, and runs it against the emulator.
func TestStaticLinkBuild(t *testing.T) {
	e := needEmulator(t)
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "reportconversion-static")
	cmd := exec.Command(goTool, "build", "-tags", "tcsms_static", "-o", bin, "./examples/reportconversion")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags tcsms_static: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	libs, err := f.ImportedLibraries()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range libs {
		if strings.Contains(l, "tcsms") {
			t.Fatalf("static binary still needs %s (all: %v)", l, libs)
		}
	}
	run := exec.Command(bin, "-endpoint", e.URL)
	run.Env = append(os.Environ(), "LD_LIBRARY_PATH=/nonexistent")
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("static example: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "ReportConversion:") || !strings.Contains(string(out), `"Code": "Ok"`) {
		t.Fatalf("static example output:\n%s", out)
	}
}

func TestConnectAhead(t *testing.T) {
	e := needEmulator(t)
	c := newTestClient(t, demoConfig(e))
	if n, err := c.ConnectAhead(bg(), 2); err != nil || n != 2 {
		t.Fatalf("ConnectAhead(2) = %d, %v", n, err)
	}
	ctx, cancel := context.WithTimeout(bg(), 2*time.Second)
	defer cancel()
	if n, err := c.ConnectAhead(ctx, 1); err != nil || n != 1 {
		t.Fatalf("ConnectAhead(1) with 2 idle = %d, %v (want 1: enough wait)", n, err)
	}
	var resp map[string]any
	if err := c.Call(bg(), "DescribeSmsTemplateList", map[string]any{"International": 0, "TemplateIdSet": []int{2001}}, &resp); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ConnectAhead(bg(), -1); err == nil {
		t.Fatal("ConnectAhead(-1) succeeded")
	}
}

func TestConnectAheadUnreachable(t *testing.T) {
	c := newTestClient(t, Config{SecretID: demoSecretID, SecretKey: NewSecret(demoSecretKey), Endpoint: "http://" + closedPort(t), Timeout: 5 * time.Second})
	ctx, cancel := context.WithTimeout(bg(), time.Second)
	defer cancel()
	start := time.Now()
	n, err := c.ConnectAhead(ctx, 3)
	ae := apiError(t, err, StatusNetwork)
	if n != 0 || ae.Code != "ClientError.Network" || !errors.Is(err, ErrNetwork) {
		t.Fatalf("ConnectAhead to a closed port: %d, %+v", n, ae)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("ConnectAhead to a closed port took %v", d)
	}
}

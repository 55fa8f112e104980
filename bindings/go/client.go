// Package tcsms is a Go binding for libtcsms, a thread-safe native client of
// the Tencent Cloud SMS API (version 2021-01-11).
//
// One *Client may be shared by any number of goroutines. Every action of the
// API has a typed method (SendSms, ReportConversion, PullSmsSendStatus, ...);
// Call and CallRaw reach any action with any JSON-marshalable request.
//
//	c, err := tcsms.NewClient(tcsms.Config{SecretID: id, SecretKey: key, Region: "ap-guangzhou"})
//	if err != nil { ... }
//	defer c.Close()
//	resp, err := c.ReportConversion(ctx, &tcsms.ReportConversionRequest{
//		SmsSdkAppId: "1400000001", SerialNo: serial, ConversionTime: 1658310430})
//
// Failed calls return *Error (see errors.As / errors.Is). The package links
// libtcsms.so from ../../target/release by default; build with
// -tags tcsms_static to link libtcsms.a instead (see README.md).
package tcsms

//go:generate go run ./internal/gen/cmd/tcsms-gen -spec ../../spec/actions.json -out models_gen.go
//go:generate cp ../../include/tcsms.h include/tcsms.h

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config is the client configuration. Zero values are not sent, so the
// library defaults apply (see the table in docs/contracts.md): credentials
// from TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY (or
// ~/.tencentcloud/credentials), region ap-guangzhou, endpoint
// sms.intl.tencentcloudapi.com, a 15 s whole-call timeout, a 5 s connect
// timeout and 2 retries.
type Config struct {
	SecretID  string
	SecretKey string
	Token     string // session token for temporary credentials
	Region    string // e.g. "ap-guangzhou"
	// Endpoint is "host", "host:port", "https://host[:port]" or "http://host:port".
	Endpoint string
	Language string // "en-US" or "zh-CN"; not sent when empty

	// Timeout caps a whole call, retries included (rounded up to whole
	// milliseconds). A context deadline that is shorter applies per call.
	Timeout        time.Duration
	ConnectTimeout time.Duration
	// MaxRetries is the number of retries of retryable failures; nil means
	// the library default (2). Use tcsms.Int(0) to disable retries.
	MaxRetries *int

	Proxy  string // proxy URL; default from HTTPS_PROXY / NO_PROXY
	CAFile string // extra PEM root certificates

	// RateLimits are client-side rate limits in requests per second by action
	// name; "*" sets every action not named and 0 means no limit
	// (map[string]float64{"*": 0} turns limiting off). nil: 90 % of each
	// action's documented limit. A call waits for its turn within its time
	// limit, else fails with code ClientError.RateLimited without sending.
	RateLimits map[string]float64
}

// String redacts the secret key and token so a Config can be logged.
func (c Config) String() string {
	redact := func(s string) string {
		if s == "" {
			return ""
		}
		return "<redacted>"
	}
	retries := "default"
	if c.MaxRetries != nil {
		retries = fmt.Sprint(*c.MaxRetries)
	}
	return fmt.Sprintf("tcsms.Config{SecretID:%q SecretKey:%q Token:%q Region:%q Endpoint:%q Language:%q Timeout:%v ConnectTimeout:%v MaxRetries:%s Proxy:%q CAFile:%q RateLimits:%v}",
		c.SecretID, redact(c.SecretKey), redact(c.Token), c.Region, c.Endpoint, c.Language,
		c.Timeout, c.ConnectTimeout, retries, c.Proxy, c.CAFile, c.RateLimits)
}

// GoString is String, so %#v does not print the secret either.
func (c Config) GoString() string { return c.String() }

type configJSON struct {
	SecretID         string  `json:"secret_id,omitempty"`
	SecretKey        string  `json:"secret_key,omitempty"`
	Token            string  `json:"token,omitempty"`
	Region           string  `json:"region,omitempty"`
	Endpoint         string  `json:"endpoint,omitempty"`
	Language         string  `json:"language,omitempty"`
	TimeoutMS        *uint64 `json:"timeout_ms,omitempty"`
	ConnectTimeoutMS *uint64 `json:"connect_timeout_ms,omitempty"`
	MaxRetries       *int    `json:"max_retries,omitempty"`
	Proxy            string  `json:"proxy,omitempty"`
	CAFile           string  `json:"ca_file,omitempty"`

	RateLimits map[string]float64 `json:"rate_limits,omitempty"`
}

// durationMS converts a positive duration to whole milliseconds, rounding up
// so that a sub-millisecond value does not become 0 ("use the default").
func durationMS(d time.Duration) uint64 {
	ms := d / time.Millisecond
	if d%time.Millisecond != 0 {
		ms++
	}
	return uint64(ms)
}

// MarshalJSON renders the configuration object given to tcsms_client_new.
func (c Config) MarshalJSON() ([]byte, error) {
	j := configJSON{
		SecretID: c.SecretID, SecretKey: c.SecretKey, Token: c.Token,
		Region: c.Region, Endpoint: c.Endpoint, Language: c.Language,
		MaxRetries: c.MaxRetries, Proxy: c.Proxy, CAFile: c.CAFile, RateLimits: c.RateLimits,
	}
	if c.Timeout < 0 || c.ConnectTimeout < 0 {
		return nil, localError(StatusInvalidConfig, "ClientError.InvalidConfig", "Timeout and ConnectTimeout must not be negative")
	}
	if c.Timeout > 0 {
		ms := durationMS(c.Timeout)
		j.TimeoutMS = &ms
	}
	if c.ConnectTimeout > 0 {
		ms := durationMS(c.ConnectTimeout)
		j.ConnectTimeoutMS = &ms
	}
	return json.Marshal(j)
}

// Client is a handle on a native tcsms client. It is safe for concurrent use
// by any number of goroutines; Close waits for calls in flight.
type Client struct {
	mu     sync.RWMutex // read-held by calls, write-held by Close
	h      nativeClient
	closed bool
}

var (
	abiOnce sync.Once
	abiErr  error

	finalizedClients atomic.Int64 // clients freed by the finalizer (for tests)
)

// ABIVersionHeader is the C ABI version this package is written for.
const ABIVersionHeader = 1

func checkABI() error {
	abiOnce.Do(func() {
		lib, hdr := nativeABIVersion()
		if lib != hdr || hdr != ABIVersionHeader {
			abiErr = localError(StatusInvalidConfig, "ClientError.AbiMismatch", fmt.Sprintf(
				"libtcsms ABI version %d does not match the version %d of include/tcsms.h (binding written for %d); rebuild the library and the Go program together",
				lib, hdr, ABIVersionHeader))
		}
	})
	return abiErr
}

// ABIVersion returns tcsms_abi_version() of the loaded library.
func ABIVersion() uint32 {
	lib, _ := nativeABIVersion()
	return lib
}

// Version returns tcsms_version() of the loaded library.
func Version() string { return nativeVersion() }

// NewClient creates a client from cfg. Invalid configuration (unknown
// language, bad endpoint, no credentials found, ...) returns an *Error with
// Status StatusInvalidConfig.
func NewClient(cfg Config) (*Client, error) {
	data, err := json.Marshal(cfg)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, e
		}
		return nil, localError(StatusInvalidConfig, "ClientError.InvalidConfig", err.Error())
	}
	return NewClientFromJSON(string(data))
}

// NewClientFromJSON creates a client from a raw configuration object as
// documented for tcsms_client_new (keys secret_id, secret_key, token,
// region, endpoint, language, timeout_ms, connect_timeout_ms, max_retries,
// proxy, ca_file). Unknown keys are refused.
func NewClientFromJSON(configJSON string) (*Client, error) {
	if err := checkABI(); err != nil {
		return nil, err
	}
	if strings.IndexByte(configJSON, 0) >= 0 {
		return nil, localError(StatusInvalidConfig, "ClientError.InvalidConfig", "configuration contains a NUL byte")
	}
	h, st, body := nativeClientNew(configJSON)
	if st != StatusOK || h == nil {
		if h != nil {
			nativeClientFree(h)
		}
		if st == StatusOK {
			st = StatusPanic
		}
		return nil, parseError(st, body)
	}
	c := &Client{h: h}
	runtime.SetFinalizer(c, finalizeClient)
	return c, nil
}

// finalizeClient is the safety net for clients that were never closed.
func finalizeClient(c *Client) {
	if c.h != nil {
		nativeClientFree(c.h)
		c.h = nil
		c.closed = true
		finalizedClients.Add(1)
	}
}

// Close releases the native client. It waits for calls in flight, is
// idempotent, and later calls return an *Error matching ErrClosed.
func (c *Client) Close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	runtime.SetFinalizer(c, nil)
	nativeClientFree(c.h)
	c.h = nil
	return nil
}

func closedError() *Error {
	return &Error{Status: StatusInvalidArgument, Code: CodeClosed, Message: "client is closed"}
}

type nativeResult struct {
	st   Status
	body string
}

// invoke runs fn on the native handle under the read lock.
//
// A context that is already done returns ctx.Err() without calling the
// library. A context deadline is passed down as timeoutMS (the library caps
// the call at min(timeoutMS, client timeout)), so the call ends by itself at
// the deadline and its result (a Timeout *Error wrapping ctx.Err(), or a
// success that arrived in time) is returned. Cancellation without a deadline
// cannot stop the native call: invoke then returns ctx.Err() at once and the
// call finishes in the background (bounded by the client timeout), its
// result discarded; Close waits for it.
func (c *Client) invoke(ctx context.Context, fn func(h nativeClient, timeoutMS uint64) (Status, string)) (string, error) {
	if c == nil {
		return "", localError(StatusNullArgument, "ClientError.NullArgument", "nil *tcsms.Client")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var timeoutMS uint64
	if dl, ok := ctx.Deadline(); ok {
		rem := time.Until(dl)
		if rem <= 0 {
			return "", context.DeadlineExceeded
		}
		timeoutMS = durationMS(rem)
	}

	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return "", closedError()
	}
	h := c.h

	var r nativeResult
	if ctx.Done() == nil {
		r.st, r.body = fn(h, timeoutMS)
		c.mu.RUnlock()
		runtime.KeepAlive(c)
	} else {
		done := make(chan nativeResult, 1)
		go func() {
			st, body := fn(h, timeoutMS)
			c.mu.RUnlock()
			runtime.KeepAlive(c)
			done <- nativeResult{st, body}
		}()
		select {
		case r = <-done:
		case <-ctx.Done():
			if ctx.Err() == context.Canceled {
				return "", ctx.Err()
			}
			// Deadline: the native call has the same deadline; take its answer.
			r = <-done
		}
	}

	if r.st != StatusOK {
		e := parseError(r.st, r.body)
		if r.st == StatusTimeout && ctx.Err() != nil {
			e.cause = ctx.Err()
		}
		return r.body, e
	}
	return r.body, nil
}

// CallRaw calls any action with a raw JSON request object and returns the
// service's body as received, {"Response":{...,"RequestId":"..."}}. On
// failure it returns the error envelope as well as an *Error.
func (c *Client) CallRaw(ctx context.Context, action, requestJSON string) (string, error) {
	if strings.IndexByte(action, 0) >= 0 || strings.IndexByte(requestJSON, 0) >= 0 {
		return "", localError(StatusInvalidArgument, "ClientError.InvalidArgument", "action or request contains a NUL byte")
	}
	return c.invoke(ctx, func(h nativeClient, timeoutMS uint64) (Status, string) {
		return nativeCall(h, action, requestJSON, timeoutMS)
	})
}

// Call calls any action. req is marshalled with encoding/json (nil sends
// {}); the object inside "Response" of the answer is unmarshalled into resp
// (a pointer, e.g. *SendSmsResponse or *map[string]any; nil discards it).
//
//	var resp tcsms.SendSmsResponse
//	err := c.Call(ctx, "SendSms", req, &resp)
func (c *Client) Call(ctx context.Context, action string, req any, resp any) error {
	return c.call(ctx, action, req, resp)
}

func (c *Client) call(ctx context.Context, action string, req any, resp any) error {
	reqJSON := "{}"
	if req != nil {
		data, err := json.Marshal(req)
		if err != nil {
			return localError(StatusInvalidJSON, "ClientError.InvalidJson", "marshal request: "+err.Error())
		}
		if s := string(data); s != "null" {
			reqJSON = s
		}
	}
	body, err := c.CallRaw(ctx, action, reqJSON)
	if err != nil {
		return err
	}
	return decodeResponse(body, resp)
}

// decodeResponse unmarshals the "Response" object of a successful body.
func decodeResponse(body string, resp any) error {
	var env envelope
	if err := json.Unmarshal([]byte(body), &env); err != nil || len(env.Response) == 0 || env.Response[0] != '{' {
		msg := "response is not a {\"Response\":{...}} envelope"
		if err != nil {
			msg += ": " + err.Error()
		}
		return localError(StatusDecode, "ClientError.Decode", msg)
	}
	var eb errorBody
	if json.Unmarshal(env.Response, &eb) == nil && eb.Error != nil {
		// Defensive: a success status must not carry Response.Error.
		return &Error{Status: StatusAPIError, Code: eb.Error.Code, Message: eb.Error.Message, RequestID: eb.RequestID}
	}
	if resp == nil {
		return nil
	}
	if err := json.Unmarshal(env.Response, resp); err != nil {
		e := localError(StatusDecode, "ClientError.Decode", "decode response: "+err.Error())
		e.RequestID = eb.RequestID
		return e
	}
	return nil
}

// requestOrEmpty turns a nil typed request into an empty object.
func requestOrEmpty[T any](req *T) any {
	if req == nil {
		return struct{}{}
	}
	return req
}

// ReportConversion reports that the user converted on a message
// (tcsms_report_conversion). ConversionTime is Unix seconds; 0 means not
// sent. When ctx has a deadline the call goes through
// tcsms_call_with_timeout so the deadline is honoured.
func (c *Client) ReportConversion(ctx context.Context, req *ReportConversionRequest) (*ReportConversionResponse, error) {
	if req == nil {
		return nil, localError(StatusNullArgument, "ClientError.NullArgument", "nil *ReportConversionRequest")
	}
	if req.ConversionTime > math.MaxInt64 {
		return nil, localError(StatusInvalidArgument, "ClientError.InvalidArgument", "ConversionTime out of range")
	}
	if strings.IndexByte(req.SmsSdkAppId, 0) >= 0 || strings.IndexByte(req.SerialNo, 0) >= 0 {
		return nil, localError(StatusInvalidArgument, "ClientError.InvalidArgument", "SmsSdkAppId or SerialNo contains a NUL byte")
	}
	var resp ReportConversionResponse
	if ctx != nil {
		if _, ok := ctx.Deadline(); ok {
			if err := c.call(ctx, "ReportConversion", req, &resp); err != nil {
				return nil, err
			}
			return &resp, nil
		}
	}
	conv := int64(-1)
	if req.ConversionTime != 0 {
		conv = int64(req.ConversionTime)
	}
	body, err := c.invoke(ctx, func(h nativeClient, _ uint64) (Status, string) {
		return nativeReportConversion(h, req.SmsSdkAppId, req.SerialNo, conv)
	})
	if err != nil {
		return nil, err
	}
	if err := decodeResponse(body, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// String returns a pointer to v, for optional request fields.
func String(v string) *string { return &v }

// Uint64 returns a pointer to v, for optional request fields.
func Uint64(v uint64) *uint64 { return &v }

// Int64 returns a pointer to v, for optional request fields.
func Int64(v int64) *int64 { return &v }

// Int returns a pointer to v, e.g. for Config.MaxRetries.
func Int(v int) *int { return &v }

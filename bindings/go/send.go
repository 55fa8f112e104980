package tcsms

import (
	"context"
	"encoding/json"
	"math"
	"runtime"
	"strings"
	"time"
)

// NumberClass says what a number's result means.
type NumberClass string

// The classes of a number's result (Class in the library's results JSON).
const (
	ClassOK       NumberClass = "ok"       // accepted by the service (Code "Ok")
	ClassRejected NumberClass = "rejected" // permanent: the number, a blacklist, the signature or template, the content
	ClassLimited  NumberClass = "limited"  // a per-number frequency limit (LimitExceeded.PhoneNumber*): try later
	ClassFailed   NumberClass = "failed"   // not sent because of a service-side failure; may be retried
	ClassUnknown  NumberClass = "unknown"  // may or may not have been delivered; it was not resent
)

// NumberResult is one number's result.
type NumberResult struct {
	PhoneNumber string      `json:"PhoneNumber"` // E.164
	SerialNo    string      `json:"SerialNo"`
	Code        string      `json:"Code"`
	Message     string      `json:"Message"`
	Fee         uint64      `json:"Fee"`
	Class       NumberClass `json:"Class"`
}

// OK reports whether the number was accepted.
func (r NumberResult) OK() bool { return r.Class == ClassOK }

// SendResults holds one result per input number, in input order, and the
// RequestId of every batch sent.
type SendResults struct {
	Results    []NumberResult `json:"Results"`
	RequestIds []string       `json:"RequestIds"`
}

// AllOK reports whether every number is ok; never true when a number failed.
func (s *SendResults) AllOK() bool {
	for _, r := range s.Results {
		if !r.OK() {
			return false
		}
	}
	return true
}

// SendSmsResults sends a SendSms request to any number of numbers
// (tcsms_send_sms) and returns one typed result per number. PhoneNumberSet
// may have any length >= 1. Numbers are checked before anything is sent
// (E.164 such as "+8613800000000", or an 11-digit mainland number sent as
// "+86..."): a bad one returns an *Error with StatusInvalidArgument and code
// ClientError.InvalidPhoneNumber naming its 0-based index. A number given
// again is sent once (later places: ClientError.DuplicatePhoneNumber,
// rejected). More than 200 numbers go in batches of at most 200, in order; a
// batch whose outcome is unknown is never resent. A ctx deadline limits the
// whole send. A nil req returns an *Error with StatusNullArgument.
//
// A result with a number that was not ok is not an error: check AllOK or each
// result's Class. A request refused as a whole (authentication, app, template,
// network) returns an *Error as Call does.
func (c *Client) SendSmsResults(ctx context.Context, req *SendSmsRequest) (*SendResults, error) {
	if req == nil {
		return nil, localError(StatusNullArgument, CodeNullArgument, "nil *SendSmsRequest")
	}
	return c.sendResults(ctx, req, false)
}

// SendMultiGlobalSmsResults is SendSmsResults for SendMultiGlobalSms
// (MultiSmsInfoSet of any length >= 1).
func (c *Client) SendMultiGlobalSmsResults(ctx context.Context, req *SendMultiGlobalSmsRequest) (*SendResults, error) {
	if req == nil {
		return nil, localError(StatusNullArgument, CodeNullArgument, "nil *SendMultiGlobalSmsRequest")
	}
	return c.sendResults(ctx, req, true)
}

func (c *Client) sendResults(ctx context.Context, req any, multi bool) (*SendResults, error) {
	data, err := json.Marshal(req)
	if err != nil {
		return nil, localError(StatusInvalidJSON, CodeInvalidJSON, "marshal request: "+err.Error())
	}
	if strings.IndexByte(string(data), 0) >= 0 {
		return nil, localError(StatusInvalidArgument, CodeInvalidArgument, "request contains a NUL byte")
	}
	body, err := c.invoke(ctx, func(h nativeClient, timeoutMS uint64) (Status, string) {
		st, body := nativeSend(h, string(data), timeoutMS, multi)
		if st == StatusPartial {
			st = StatusOK // per-number failures are results, not an error
		}
		return st, body
	})
	if err != nil {
		return nil, err
	}
	var out SendResults
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		return nil, localError(StatusDecode, CodeDecode, "decode send results: "+err.Error())
	}
	return &out, nil
}

// SetCredentials replaces the client's credentials (tcsms_client_set_credentials),
// for example temporary ones about to expire; token "" means none. Safe while
// other goroutines call: calls already signing finish with the old
// credentials, later ones use the new; connections are kept; the library
// zeroes the old secrets when the last call using them ends. Bad values return
// an *Error with StatusInvalidConfig and keep the current credentials.
func (c *Client) SetCredentials(secretID, secretKey, token string) error {
	for _, s := range []string{secretID, secretKey, token} {
		if strings.IndexByte(s, 0) >= 0 {
			return localError(StatusInvalidConfig, CodeInvalidConfig, "a credential contains a NUL byte")
		}
	}
	_, err := c.invoke(context.Background(), func(h nativeClient, _ uint64) (Status, string) {
		return nativeSetCredentials(h, secretID, secretKey, token)
	})
	return err
}

// ConnectAhead opens connections (TCP, proxy tunnel, TLS handshake) before the
// first calls, so that up to count (at most 64) idle connections wait for them;
// nothing is sent on them. It returns how many wait. ctx's deadline (and the
// client's timeout) bounds it. When the endpoint cannot be reached the error is a
// network or timeout *Error and the client is as before
// (tcsms_client_connect_ahead).
func (c *Client) ConnectAhead(ctx context.Context, count int) (int, error) {
	if count < 0 || uint64(count) > math.MaxUint32 {
		return 0, localError(StatusInvalidArgument, CodeInvalidArgument, "count must be from 0 to 2^32-1")
	}
	var ready uint64
	_, err := c.invoke(ctx, func(h nativeClient, timeoutMS uint64) (Status, string) {
		st, n, body := nativeConnectAhead(h, uint32(count), timeoutMS)
		ready = n
		return st, body
	})
	if err != nil {
		// ready may still be written by a native call ctx gave up on: not read.
		return 0, err
	}
	return int(ready), nil
}

// ClockOffset returns how far the service's clock runs ahead of this host's
// (negative: behind), in whole seconds (tcsms_client_clock_offset). The client
// learns it when the service refuses a request for clock skew
// (AuthFailure.SignatureExpire), re-signs that request once with the service's
// time, and signs every later one with it. 0 until then.
func (c *Client) ClockOffset() (time.Duration, error) {
	if c == nil {
		return 0, localError(StatusNullArgument, CodeNullArgument, "nil *tcsms.Client")
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return 0, closedError()
	}
	st, seconds := nativeClockOffset(c.h)
	runtime.KeepAlive(c)
	if st != StatusOK {
		return 0, localError(st, CodeNullArgument, "tcsms_client_clock_offset failed")
	}
	return time.Duration(seconds) * time.Second, nil
}

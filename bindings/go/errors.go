package tcsms

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Status is the outcome class of a call, the tcsms_status value of the C ABI
// (ABI version 1; the list is append-only). The constants StatusOK ...
// StatusPanic are generated from include/tcsms.h (status_gen.go).
type Status int32

// String returns the status name without the TCSMS_STATUS_ prefix, e.g.
// "TIMEOUT"; unknown values (from a newer library) print as "STATUS(n)".
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "STATUS(" + strconv.Itoa(int(s)) + ")"
}

// Description is the library's short description of the status
// (tcsms_status_str), e.g. "network error".
func (s Status) Description() string { return nativeStatusStr(s) }

// Sentinel errors for errors.Is: an *Error matches the sentinel of its
// Status, e.g. errors.Is(err, tcsms.ErrTimeout).
var (
	ErrNullArgument    error = &Error{Status: StatusNullArgument}
	ErrInvalidUTF8     error = &Error{Status: StatusInvalidUTF8}
	ErrInvalidJSON     error = &Error{Status: StatusInvalidJSON}
	ErrInvalidArgument error = &Error{Status: StatusInvalidArgument}
	ErrInvalidConfig   error = &Error{Status: StatusInvalidConfig}
	ErrNetwork         error = &Error{Status: StatusNetwork}
	ErrTimeout         error = &Error{Status: StatusTimeout}
	ErrHTTPStatus      error = &Error{Status: StatusHTTPStatus}
	ErrDecode          error = &Error{Status: StatusDecode}
	ErrAPI             error = &Error{Status: StatusAPIError}
	ErrPanic           error = &Error{Status: StatusPanic}
)

// CodeClosed is the Error.Code of calls made on a closed Client (the same
// code and status as the Python binding; see spec/client_errors.json).
const CodeClosed = CodeClientClosed

// ErrClosed matches (errors.Is) the error returned by calls on a closed Client.
var ErrClosed error = &Error{Status: StatusInvalidArgument, Code: CodeClientClosed, Message: "client is closed"}

// Error is the error type of every failed call. Code, Message and RequestID
// are the service's own for API errors (Status == StatusAPIError); local
// failures carry a "ClientError.*" code and an empty RequestID.
//
//	var e *tcsms.Error
//	if errors.As(err, &e) { log.Println(e.Code, e.RequestID) }
//	if errors.Is(err, tcsms.ErrTimeout) { ... }
type Error struct {
	Status    Status
	Code      string
	Message   string
	RequestID string

	cause error // e.g. context.DeadlineExceeded when a ctx deadline caused a timeout
}

func (e *Error) Error() string {
	s := "tcsms: " + e.Code
	if e.Code == "" {
		s = "tcsms: status " + e.Status.String()
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (RequestId " + e.RequestID + ")"
	}
	return s
}

// Is makes errors.Is match the sentinels: target is an *Error with the
// same Status and either no Code (ErrTimeout, ErrAPI, ...) or the same Code
// (ErrClosed).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t == nil {
		return false
	}
	return e.Status == t.Status && (t.Code == "" || t.Code == e.Code)
}

// Unwrap returns the context error when the call timed out because of the
// context's deadline, so errors.Is(err, context.DeadlineExceeded) also holds.
func (e *Error) Unwrap() error { return e.cause }

// envelope is {"Response": {...}}.
type envelope struct {
	Response json.RawMessage `json:"Response"`
}

type errorBody struct {
	Error *struct {
		Code    string `json:"Code"`
		Message string `json:"Message"`
	} `json:"Error"`
	RequestID string `json:"RequestId"`
}

// parseError builds an *Error from a status and the library's error
// envelope. It never fails: an unparsable body becomes the Message.
func parseError(st Status, body string) *Error {
	e := &Error{Status: st}
	var env envelope
	var eb errorBody
	if err := json.Unmarshal([]byte(body), &env); err == nil && len(env.Response) > 0 &&
		json.Unmarshal(env.Response, &eb) == nil {
		e.RequestID = eb.RequestID
		if eb.Error != nil {
			e.Code = eb.Error.Code
			e.Message = eb.Error.Message
		}
	} else if body != "" {
		e.Message = body
	}
	if e.Code == "" {
		e.Code = defaultCode(st)
	}
	return e
}

func defaultCode(st Status) string {
	if st >= 0 && int(st) < len(defaultCodes) && defaultCodes[st] != "" {
		return defaultCodes[st]
	}
	return fmt.Sprintf("ClientError.Status%d", int32(st))
}

// localError is an error detected by the Go binding itself.
func localError(st Status, code, msg string) *Error {
	return &Error{Status: st, Code: code, Message: msg}
}

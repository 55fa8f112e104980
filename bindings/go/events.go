package tcsms

import (
	"context"
	"encoding/json"
	"log/slog"
	"runtime"
	"runtime/cgo"
)

// Event is one event of the client: one per attempt (Event "attempt") and one
// per call (Event "call"); see docs/events.md. It never holds a secret, a
// signature or a token; PhoneNumbers are masked ("+86137****2222") unless
// Config.LogPhoneNumbers is set.
type Event struct {
	Event     string `json:"event"`  // "attempt", "call", "credentials" or "rate_limit_store" (see JSON)
	Action    string `json:"action"` // e.g. "SendSms"
	Attempt   int    `json:"attempt"`
	Status    Status `json:"status"`
	Code      string `json:"code"`       // Error.Code; "" on success
	RequestID string `json:"request_id"` // "" when there is none
	LatencyUS int64  `json:"latency_us"`
	// Attempt events: whether another attempt follows, why and after which pause.
	Retry        bool   `json:"retry"`
	RetryReason  string `json:"retry_reason"`
	RetryDelayUS int64  `json:"retry_delay_us"`
	// Call events: attempts - 1.
	Retries         int      `json:"retries"`
	RateLimitWaitUS int64    `json:"rate_limit_wait_us"`
	ClockOffsetS    int64    `json:"clock_offset_s"`
	ClockCorrected  bool     `json:"clock_corrected"`
	BytesSent       int64    `json:"bytes_sent"`
	BytesReceived   int64    `json:"bytes_received"`
	PhoneNumbers    []string `json:"phone_numbers,omitempty"`
	// Credentials events (a refresh of a role's keys): the source ("cvm_role",
	// "oidc", "assume_role (base: ...)"), "ok" or "failed", the Unix time the
	// keys in use expire (0: none), and a failure's Code and Message.
	Source  string `json:"source,omitempty"`
	Outcome string `json:"outcome,omitempty"`
	Expiry  int64  `json:"expiry,omitempty"`
	Message string `json:"message,omitempty"`
	// JSON is the event as the library wrote it.
	JSON string `json:"-"`
}

// Stats are a client's statistics since it was made (tcsms_client_stats).
type Stats struct {
	Actions         map[string]ActionStats `json:"Actions"`
	RateLimitWaits  int64                  `json:"RateLimitWaits"`
	RateLimitWaitUs int64                  `json:"RateLimitWaitUs"`
}

// ActionStats are the statistics of one action. Codes counts calls by final
// outcome, successes under "ok"; the counts sum to Calls.
type ActionStats struct {
	Calls           int64            `json:"Calls"`
	Attempts        int64            `json:"Attempts"`
	Retries         int64            `json:"Retries"`
	Codes           map[string]int64 `json:"Codes"`
	LatencyUs       Latency          `json:"LatencyUs"`
	RateLimitWaits  int64            `json:"RateLimitWaits"`
	RateLimitWaitUs int64            `json:"RateLimitWaitUs"`
}

// Latency percentiles of whole calls in microseconds (log-scale buckets: at
// most 25 % above the true value, never above Max).
type Latency struct {
	P50 int64 `json:"p50"`
	P90 int64 `json:"p90"`
	P99 int64 `json:"p99"`
	Max int64 `json:"max"`
}

// eventHook is what C's user_data (a cgo.Handle) stands for.
type eventHook struct {
	fn     func(Event)
	logger *slog.Logger
}

func (h *eventHook) deliver(text string) {
	var ev Event
	if err := json.Unmarshal([]byte(text), &ev); err != nil {
		return
	}
	ev.JSON = text
	ctx := context.Background()
	if h.logger != nil && ev.Event == "credentials" && h.logger.Enabled(ctx, slog.LevelDebug) {
		h.logger.LogAttrs(ctx, slog.LevelDebug, "tcsms credentials",
			slog.String("source", ev.Source), slog.String("outcome", ev.Outcome), slog.Int64("expiry", ev.Expiry),
			slog.String("code", ev.Code), slog.String("message", ev.Message))
	} else if h.logger != nil && h.logger.Enabled(ctx, slog.LevelDebug) {
		h.logger.LogAttrs(ctx, slog.LevelDebug, "tcsms "+ev.Event,
			slog.String("action", ev.Action), slog.Int("attempt", ev.Attempt), slog.Int("status", int(ev.Status)),
			slog.String("code", ev.Code), slog.String("request_id", ev.RequestID),
			slog.Int64("latency_us", ev.LatencyUS), slog.Bool("retry", ev.Retry),
			slog.String("retry_reason", ev.RetryReason), slog.Int64("retry_delay_us", ev.RetryDelayUS),
			slog.Int64("rate_limit_wait_us", ev.RateLimitWaitUS), slog.Int64("clock_offset_s", ev.ClockOffsetS),
			slog.Int64("bytes_sent", ev.BytesSent), slog.Int64("bytes_received", ev.BytesReceived),
			slog.Any("phone_numbers", ev.PhoneNumbers))
	}
	if h.fn != nil {
		h.fn(ev)
	}
}

// SetEventCallback sends every event to fn and, at debug level, to logger
// (either may be nil; both nil turns events off). fn runs on the thread
// making the call, inside it: it must not call the client (such a call fails
// with code ClientError.Reentrant) nor Close it. A panic in fn is recovered
// and dropped. Safe at any time from any goroutine.
func (c *Client) SetEventCallback(fn func(Event), logger *slog.Logger) error {
	if c == nil {
		return localError(StatusNullArgument, CodeNullArgument, "nil *tcsms.Client")
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return closedError()
	}
	var handle cgo.Handle
	if fn != nil || logger != nil {
		handle = cgo.NewHandle(&eventHook{fn: fn, logger: logger})
	}
	st, body := nativeSetEventCallback(c.h, uintptr(handle))
	runtime.KeepAlive(c)
	if st != StatusOK {
		if handle != 0 {
			handle.Delete()
		}
		return parseError(st, body)
	}
	if handle != 0 {
		// Kept until Close: calls in flight may still use an older hook.
		c.hooksMu.Lock()
		c.hooks = append(c.hooks, handle)
		c.hooksMu.Unlock()
	}
	return nil
}

// deleteHooks releases the hooks' handles (after the native client is freed).
func (c *Client) deleteHooks() {
	c.hooksMu.Lock()
	defer c.hooksMu.Unlock()
	for _, h := range c.hooks {
		h.Delete()
	}
	c.hooks = nil
}

// Stats returns the client's statistics since it was made. It may be called
// from inside the event callback.
func (c *Client) Stats() (*Stats, error) {
	if c == nil {
		return nil, localError(StatusNullArgument, CodeNullArgument, "nil *tcsms.Client")
	}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return nil, closedError()
	}
	st, body := nativeStats(c.h)
	c.mu.RUnlock()
	runtime.KeepAlive(c)
	if st != StatusOK {
		return nil, parseError(st, body)
	}
	var s Stats
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		return nil, localError(StatusDecode, CodeDecode, "stats are not the documented JSON: "+err.Error())
	}
	return &s, nil
}

package tcsms

import (
	"encoding/json"
	"fmt"
)

// Secret holds a value that must never be printed: Config's SecretKey, Token,
// Proxy and RateLimitStore (whose URLs may carry a password). Make one with NewSecret.
//
// A Secret prints as "<redacted>" (empty: "") through every fmt verb, String,
// GoString, encoding/json and log/slog. Its value sits behind a pointer, so
// fmt's reflection, which prints the fields of a struct it cannot call methods
// on (a Config in an unexported field, printed with %+v), shows only an
// address, never the value.
type Secret struct {
	p *string
}

// NewSecret wraps s; NewSecret("") is the zero Secret (not set).
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{p: &s}
}

// Reveal returns the value ("" when not set).
func (s Secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// IsZero reports whether the Secret is not set.
func (s Secret) IsZero() bool { return s.p == nil || *s.p == "" }

// String returns "<redacted>", or "" when the Secret is not set.
func (s Secret) String() string { return redactSecret(s.Reveal()) }

// GoString is String, for %#v.
func (s Secret) GoString() string { return s.String() }

// Format prints String for every verb (%s, %v, %q, %x, ...), so no verb can
// print the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", s.String())
		return
	}
	fmt.Fprint(f, s.String())
}

// MarshalJSON renders "<redacted>" ("" when not set).
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a JSON string, so a Config can be loaded from JSON.
func (s *Secret) UnmarshalJSON(data []byte) error {
	var v string
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*s = NewSecret(v)
	return nil
}

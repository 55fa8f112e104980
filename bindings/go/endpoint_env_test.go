package tcsms

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Without Config.Endpoint the library reads TCSMS_ENDPOINT; String shows it.
func TestEndpointFromTCSMS_ENDPOINT(t *testing.T) {
	e := newEmulator(t)
	t.Setenv("TCSMS_ENDPOINT", e.URL)
	cfg := Config{SecretID: demoSecretID, SecretKey: NewSecret(demoSecretKey), Timeout: 15 * time.Second}
	if s := fmt.Sprint(cfg); !strings.Contains(s, e.URL+" (from TCSMS_ENDPOINT)") {
		t.Errorf("String() does not show the endpoint from TCSMS_ENDPOINT: %s", s)
	}
	c := newTestClient(t, cfg)
	var resp map[string]any
	if err := c.Call(context.Background(), "PullSmsSendStatus", map[string]any{"Limit": 1, "SmsSdkAppId": "1400000001"}, &resp); err != nil {
		t.Fatalf("a call through TCSMS_ENDPOINT: %v", err)
	}

	// Explicit configuration wins.
	t.Setenv("TCSMS_ENDPOINT", "http://127.0.0.1:9")
	explicit := demoConfig(e)
	if s := fmt.Sprint(explicit); strings.Contains(s, "TCSMS_ENDPOINT") {
		t.Errorf("String() names TCSMS_ENDPOINT although Endpoint is set: %s", s)
	}
	c = newTestClient(t, explicit)
	if err := c.Call(context.Background(), "PullSmsSendStatus", map[string]any{"Limit": 1, "SmsSdkAppId": "1400000001"}, &resp); err != nil {
		t.Fatalf("a call with an explicit endpoint: %v", err)
	}
}

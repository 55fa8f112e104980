package tcsms

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const redisPassword = "go-redis-pw-marker"

func redisCLI(port string, args ...string) string {
	full := append([]string{"-h", "127.0.0.1", "-p", port, "-a", redisPassword, "--no-auth-warning"}, args...)
	out, _ := exec.Command("redis-cli", full...).Output()
	return strings.TrimSpace(string(out))
}

// TestRateLimitStorePassThrough: Config.RateLimitStore and RateLimitKey reach the
// library. A client given a real redis-server (started here on 127.0.0.1, no
// persistence) registers in the budget named by the key; the password shows nowhere.
func TestRateLimitStorePassThrough(t *testing.T) {
	e := needEmulator(t)
	port := strings.TrimPrefix(closedPort(t), "127.0.0.1:")
	server := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--logfile", "", "--requirepass", redisPassword)
	if err := server.Start(); err != nil {
		t.Fatalf("cannot start redis-server (apt-get install redis-server): %v", err)
	}
	defer func() { _ = server.Process.Kill(); _ = server.Wait() }()
	for deadline := time.Now().Add(10 * time.Second); redisCLI(port, "PING") != "PONG"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
	}
	cfg := demoConfig(e)
	cfg.RateLimitStore = NewSecret("redis://:" + redisPassword + "@127.0.0.1:" + port + "/0")
	cfg.RateLimitKey = "go-key"
	var events []Event
	cfg.OnEvent = func(ev Event) { events = append(events, ev) }
	// fmt cannot call String through an unexported field: it prints the fields.
	type holder struct{ cfg Config }
	inner := holder{cfg}
	for _, shown := range []string{cfg.String(), fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg),
		fmt.Sprintf("%v %+v %#v", inner, inner, inner)} {
		if strings.Contains(shown, redisPassword) {
			t.Fatalf("the store's password is shown: %s", shown)
		}
	}
	if js, err := cfg.MarshalJSON(); err != nil || strings.Contains(string(js), redisPassword) {
		t.Fatalf("MarshalJSON: %v %s", err, js)
	}
	c := newTestClient(t, cfg)
	sendOne(t, c, mainlandPhone)
	if got := redisCLI(port, "ZCARD", "tcsms:rl:go-key:sharers"); got != "1" {
		t.Fatalf("ZCARD tcsms:rl:go-key:sharers = %q, want 1 (the client registered in the shared budget)", got)
	}
	for _, ev := range events {
		if ev.Event == "rate_limit_store" || strings.Contains(ev.JSON, redisPassword) {
			t.Fatalf("unexpected event %s", ev.JSON)
		}
	}
	cfg.RateLimitStore = NewSecret("redis://:" + redisPassword + "@127.0.0.1:0")
	_, err := NewClient(cfg)
	if err == nil || !strings.Contains(err.Error(), "rate_limit_store") || strings.Contains(err.Error(), redisPassword) {
		t.Fatalf("a bad store URL: %v", err)
	}
}

// TestRateLimitStoreFallbackSharePassThrough: Config.RateLimitStoreFallbackShare
// reaches the library. With nothing listening on the store's port the client
// falls back at the configured share, and its "down" event says so; an
// out-of-range share is refused naming the key.
func TestRateLimitStoreFallbackSharePassThrough(t *testing.T) {
	e := needEmulator(t)
	cfg := demoConfig(e)
	cfg.RateLimitStore = NewSecret("redis://:" + redisPassword + "@" + closedPort(t) + "/0")
	cfg.RateLimitStoreFallbackShare = 0.125
	var events []Event
	cfg.OnEvent = func(ev Event) { events = append(events, ev) }
	if shown := cfg.String(); !strings.Contains(shown, "RateLimitStoreFallbackShare:0.125") ||
		strings.Contains(shown, redisPassword) {
		t.Fatalf("String: %s", shown)
	}
	c := newTestClient(t, cfg)
	sendOne(t, c, mainlandPhone)
	var down []map[string]any
	for _, ev := range events {
		if ev.Event == "rate_limit_store" {
			var fields map[string]any
			if err := json.Unmarshal([]byte(ev.JSON), &fields); err != nil {
				t.Fatal(err)
			}
			down = append(down, fields)
		}
		if strings.Contains(ev.JSON, redisPassword) {
			t.Fatalf("the store's password is shown: %s", ev.JSON)
		}
	}
	if len(down) != 1 || down[0]["state"] != "down" || down[0]["reason"] != "connection refused" ||
		down[0]["fallback_share"] != 0.125 {
		t.Fatalf("want one down event with fallback_share 0.125, got %v", down)
	}
	for _, bad := range []float64{-0.5, 1.5} {
		cfg.RateLimitStoreFallbackShare = bad
		_, err := NewClient(cfg)
		if err == nil || !strings.Contains(err.Error(), "rate_limit_store_fallback_share") ||
			strings.Contains(err.Error(), redisPassword) {
			t.Fatalf("share %v: %v", bad, err)
		}
	}
}

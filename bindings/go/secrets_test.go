package tcsms

// Secrets sweep (issue 10 item 6): every error path with marker secrets in
// the Config (markerKey, markerToken, markerProxy from unit_test.go), and
// every output channel searched for them: err.Error(), %v %+v %#v of the
// error and of the Config, slog's text and JSON handlers, and the process's
// stderr (file descriptor 2, where the native library would write).

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const proxyUser = "proxyuser"

func secretMarkers() []string {
	basic := base64.StdEncoding.EncodeToString([]byte(proxyUser + ":" + markerProxy))
	return []string{markerKey, markerToken, markerProxy, basic}
}

func proxyURL(addr string) string {
	return "http://" + proxyUser + ":" + markerProxy + "@" + addr
}

// secretConfig is a Config carrying every marker, pointed at a closed
// loopback port unless changed: nothing here resolves or reaches a real host.
func secretConfig(t *testing.T) Config {
	return Config{SecretID: demoSecretID, SecretKey: NewSecret(markerKey), Token: NewSecret(markerToken),
		Endpoint: "http://" + closedPort(t), MaxRetries: Int(0), Timeout: 5 * time.Second}
}

// captureStderr runs fn with file descriptor 2 redirected to a file and
// returns what was written to it.
func captureStderr(t *testing.T, fn func()) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved, err := syscall.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(saved)
	if err := syscall.Dup3(int(f.Fd()), 2, 0); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() { _ = syscall.Dup3(saved, 2, 0) }()
		fn()
	}()
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// outputs renders err and cfg through every channel a program might log.
func outputs(err error, cfg Config) map[string]string {
	out := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out["err "+verb] = fmt.Sprintf(verb, err)
		out["cfg "+verb] = fmt.Sprintf(verb, cfg)
		var e *Error
		if errors.As(err, &e) {
			out["*Error "+verb] = fmt.Sprintf(verb, *e)
		}
	}
	for name, h := range map[string]func(w io.Writer) slog.Handler{
		"slog text": func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
		"slog json": func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
	} {
		var buf bytes.Buffer
		slog.New(h(&buf)).Error("call failed", "err", err, "cfg", cfg)
		out[name] = buf.String()
	}
	return out
}

// leaks runs call and returns where a marker showed (and the error).
func leaks(t *testing.T, cfg Config, call func(c *Client) error) ([]string, error) {
	t.Helper()
	var err error
	stderr := captureStderr(t, func() {
		c, newErr := NewClient(cfg)
		if newErr != nil {
			err = newErr
			return
		}
		defer c.Close()
		err = call(c)
	})
	if err == nil {
		t.Fatalf("the call succeeded; every case here must fail")
	}
	texts := outputs(err, cfg)
	texts["stderr"] = stderr
	var found []string
	for name, text := range texts {
		for _, m := range secretMarkers() {
			if strings.Contains(text, m) {
				found = append(found, fmt.Sprintf("%q in %s: %.300s", m, name, text))
			}
		}
	}
	sort.Strings(found)
	return found, err
}

func pull(c *Client) error {
	_, err := c.PullSmsSendStatus(bg(), &PullSmsSendStatusRequest{Limit: 1, SmsSdkAppId: demoAppID})
	return err
}

func assertNoLeaks(t *testing.T, where string, cfg Config, call func(c *Client) error) error {
	t.Helper()
	found, err := leaks(t, cfg, call)
	for _, f := range found {
		t.Errorf("%s: %s", where, f)
	}
	return err
}

func TestSecretsBadConfig(t *testing.T) {
	cases := map[string]func(c *Config){
		"bad endpoint": func(c *Config) { c.Endpoint = "ftp://127.0.0.1:1" },
		"bad proxy":    func(c *Config) { c.Proxy = NewSecret(proxyURL("127.0.0.1:notaport")) },
		"socks proxy": func(c *Config) {
			c.Proxy = NewSecret("socks5://" + proxyUser + ":" + markerProxy + "@" + closedPort(t))
		},
		"bad language":    func(c *Config) { c.Language = "xx-XX" },
		"missing ca_file": func(c *Config) { c.CAFile = "/nonexistent/ca.pem" },
		"negative time":   func(c *Config) { c.Timeout = -time.Second },
	}
	for where, change := range cases {
		cfg := secretConfig(t)
		change(&cfg)
		assertNoLeaks(t, where, cfg, pull)
	}
}

func TestSecretsNetworkPaths(t *testing.T) {
	refused := secretConfig(t)
	var e *Error
	if err := assertNoLeaks(t, "refused port", refused, pull); !errors.As(err, &e) || e.Status != StatusNetwork {
		t.Errorf("refused port: %v", err)
	}
	viaProxy := secretConfig(t)
	viaProxy.Proxy = NewSecret(proxyURL(closedPort(t)))
	assertNoLeaks(t, "refused proxy", viaProxy, pull)
}

// echoServer answers every request (CONNECT included) with status and the
// request's headers, credential headers first, as a hostile server or proxy.
func echoServer(t *testing.T, status int) (*httptest.Server, *atomic.Int32) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		var b strings.Builder
		for _, h := range []string{"X-Tc-Token", "Proxy-Authorization", "Authorization"} {
			fmt.Fprintf(&b, "%s: %s\n", h, r.Header.Get(h))
		}
		_ = r.Header.Write(&b)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, b.String())
	}))
	t.Cleanup(srv.Close)
	return srv, &requests
}

func TestSecretsEchoingProxy(t *testing.T) {
	for _, status := range []int{500, 407} {
		srv, requests := echoServer(t, status)
		cfg := secretConfig(t)
		cfg.Proxy = NewSecret(proxyURL(strings.TrimPrefix(srv.URL, "http://")))
		assertNoLeaks(t, fmt.Sprintf("proxy echo %d", status), cfg, pull)
		if requests.Load() != 1 {
			t.Errorf("proxy echo %d: %d requests reached the proxy", status, requests.Load())
		}
	}
}

func TestSecretsEchoingServer(t *testing.T) {
	for _, status := range []int{500, 403, 200} {
		srv, requests := echoServer(t, status)
		cfg := secretConfig(t)
		cfg.Endpoint = srv.URL
		found, err := leaks(t, cfg, pull)
		if requests.Load() != 1 || err == nil {
			t.Fatalf("echo %d: %d requests, err %v", status, requests.Load(), err)
		}
		for _, f := range found {
			t.Errorf("server echo %d: %s", status, f)
		}
	}
}

func TestSecretsAPIErrors(t *testing.T) {
	e := needEmulator(t)
	cfg := secretConfig(t)
	cfg.Endpoint = e.URL
	var ae *Error
	if err := assertNoLeaks(t, "wrong key", cfg, pull); !errors.As(err, &ae) || ae.Status != StatusAPIError {
		t.Errorf("wrong key: %v", err)
	}
	assertNoLeaks(t, "unknown action", cfg, func(c *Client) error { return c.Call(bg(), "NoSuchAction", nil, nil) })
	assertNoLeaks(t, "bad request", cfg, func(c *Client) error {
		_, err := c.CallRaw(bg(), "SendSms", `{"x":1`)
		return err
	})
	cfg.SecretKey = NewSecret(demoSecretKey)
	assertNoLeaks(t, "missing field", cfg, func(c *Client) error { return c.Call(bg(), "SendSms", nil, nil) })
	assertNoLeaks(t, "closed client", cfg, func(c *Client) error { _ = c.Close(); return pull(c) })
}

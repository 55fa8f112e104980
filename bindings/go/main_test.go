package tcsms

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Demo credentials and seeded data of the emulator (docs/contracts.md).
const (
	demoSecretID  = "AKIDtcsmsdemo00000000000000000000000"
	demoSecretKey = "tcsmsdemosecretkey00000000000000"
	demoAppID     = "1400000001"
)

// emulator is a running tcsms-emulator process started by the tests.
type emulator struct {
	URL string
	cmd *exec.Cmd
}

var (
	mainEmu    *emulator // started by TestMain
	mainEmuErr error

	emuMu  sync.Mutex
	allEmu []*emulator
)

func TestMain(m *testing.M) {
	// No rate limits and immediate delivery reports: the shared emulator serves
	// many fast calls. New signatures/templates stay under review (modifiable).
	mainEmu, mainEmuErr = startEmulator("--rate-limit", "all=0", "--report-delay-ms", "0", "--review-delay-ms", "600000")
	if mainEmuErr != nil {
		fmt.Fprintln(os.Stderr, "tcsms tests: cannot start the emulator:", mainEmuErr)
	}
	code := m.Run()
	emuMu.Lock()
	for _, e := range allEmu {
		e.stop()
	}
	emuMu.Unlock()
	os.Exit(code)
}

// emulatorPath is $TCSMS_EMULATOR or ../../target/release/tcsms-emulator.
func emulatorPath() (string, error) {
	p := os.Getenv("TCSMS_EMULATOR")
	if p == "" {
		p = filepath.Join("..", "..", "target", "release", "tcsms-emulator")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("emulator binary %s not found (build it with `cargo build --release` in the repository root, or set TCSMS_EMULATOR): %w", abs, err)
	}
	return abs, nil
}

// startEmulator runs the emulator on a free port and waits for its
// "listening on http://127.0.0.1:PORT" line.
func startEmulator(args ...string) (*emulator, error) {
	path, err := emulatorPath()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, append([]string{"--listen", "127.0.0.1:0"}, args...)...)
	if os.Getenv("TCSMS_EMULATOR_LOG") != "" {
		cmd.Stderr = os.Stderr
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	e := &emulator{cmd: cmd}
	emuMu.Lock()
	allEmu = append(allEmu, e)
	emuMu.Unlock()

	lineCh := make(chan string, 1)
	errCh := make(chan error, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, err := r.ReadString('\n')
		if err != nil {
			errCh <- fmt.Errorf("reading the emulator's first line: %w (got %q)", err, line)
			return
		}
		lineCh <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, r) // keep draining so the emulator never blocks
	}()
	select {
	case line := <-lineCh:
		const prefix = "listening on "
		if !strings.HasPrefix(line, prefix) {
			e.stop()
			return nil, fmt.Errorf("unexpected first emulator line %q", line)
		}
		e.URL = strings.TrimPrefix(line, prefix)
		return e, nil
	case err := <-errCh:
		e.stop()
		return nil, err
	case <-time.After(30 * time.Second):
		e.stop()
		return nil, errors.New("emulator did not print its address within 30s")
	}
}

func (e *emulator) stop() {
	if e.cmd.ProcessState == nil && e.cmd.Process != nil {
		_ = e.cmd.Process.Kill()
		_ = e.cmd.Wait()
	}
}

// needEmulator returns the shared emulator or fails the test.
func needEmulator(t testing.TB) *emulator {
	t.Helper()
	if mainEmuErr != nil {
		t.Fatalf("emulator: %v", mainEmuErr)
	}
	return mainEmu
}

// newEmulator starts a dedicated emulator (e.g. with --fault) for one test.
func newEmulator(t testing.TB, args ...string) *emulator {
	t.Helper()
	e, err := startEmulator(args...)
	if err != nil {
		t.Fatalf("emulator %v: %v", args, err)
	}
	t.Cleanup(e.stop)
	return e
}

// demoConfig is a client configuration for the given emulator.
func demoConfig(e *emulator) Config {
	return Config{
		SecretID:  demoSecretID,
		SecretKey: NewSecret(demoSecretKey),
		Region:    "ap-guangzhou",
		Endpoint:  e.URL,
		Timeout:   15 * time.Second,
	}
}

func newTestClient(t testing.TB, cfg Config) *Client {
	t.Helper()
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient(%v): %v", cfg, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// emulatorMessages returns the messages the emulator recorded (GET /_emulator/messages).
func emulatorMessages(t testing.TB, e *emulator) []any {
	t.Helper()
	resp, err := http.Get(e.URL + "/_emulator/messages")
	if err != nil {
		t.Fatalf("GET /_emulator/messages: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /_emulator/messages: %s: %s", resp.Status, body)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("GET /_emulator/messages: %v: %s", err, body)
	}
	switch x := v.(type) {
	case []any:
		return x
	case map[string]any:
		for _, k := range []string{"messages", "Messages"} {
			if arr, ok := x[k].([]any); ok {
				return arr
			}
		}
	}
	t.Fatalf("GET /_emulator/messages: unexpected shape: %s", body)
	return nil
}

func bg() context.Context { return context.Background() }

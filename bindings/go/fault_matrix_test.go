package tcsms

// The fault matrix (issue 10, item 4) from Go: a Client with the binding's
// default settings (only Timeout shortened) against small hostile servers on
// 127.0.0.1 (net.Listen). For every fault, for SendSms (never resent) and
// ReportConversion (idempotent, retried): the *Error (errors.As) with its
// Status and Code, the time the call took (never more than the limit plus a
// margin) and how many connections reached the server (an upper bound on the
// requests; at most one for SendSms). TLS unknown issuer and wrong host use
// the fixed certificates of tests/support/certs/ (a test CA trusted through
// CAFile). DNS failure needs the core's resolver hook, so it is in the Rust
// matrix (tests/fault_matrix.rs) only: the binding passes it through the same
// C call unchanged.

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	faultLimit     = 1500 * time.Millisecond
	faultMargin    = time.Second // scheduling slack on a loaded machine
	faultSecretKey = "FaultMatrixGoSecretKey000000"
	faultProxyPass = "FaultMatrixGoProxyPassword00"
)

var faultOKHead = []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")

var faultActions = []struct{ action, request string }{
	{"SendSms", `{"PhoneNumberSet":["+8613800000001"],"SmsSdkAppId":"1400000001","TemplateId":"2002"}`},
	{"ReportConversion", `{"SmsSdkAppId":"1400000001","SerialNo":"1"}`},
}

// hostileServer runs behaviour on each accepted connection, on its own goroutine.
type hostileServer struct {
	ln          net.Listener
	connections atomic.Int64
	wg          sync.WaitGroup
}

func startHostile(t *testing.T, behaviour func(net.Conn)) *hostileServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &hostileServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return // closed
			}
			s.connections.Add(1)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer conn.Close()
				behaviour(conn)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *hostileServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// faultReadRequest reads the headers and Content-Length bytes of body; false
// when the client hung up first.
func faultReadRequest(conn net.Conn) bool {
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var seen []byte
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if n == 0 && err != nil {
			return false
		}
		seen = append(seen, buf[:n]...)
		end := bytes.Index(seen, []byte("\r\n\r\n"))
		if end < 0 {
			continue
		}
		length := 0
		for _, line := range strings.Split(strings.ToLower(string(seen[:end])), "\r\n") {
			if v, ok := strings.CutPrefix(line, "content-length:"); ok {
				length, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		if len(seen) >= end+4+length {
			return true
		}
	}
}

// faultUntilHangup reads until the client hangs up, or 30 s pass.
func faultUntilHangup(conn net.Conn) {
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, _ = io.Copy(io.Discard, conn)
}

func faultAnswers(data string) func(net.Conn) {
	return func(conn net.Conn) {
		if faultReadRequest(conn) {
			_, _ = conn.Write([]byte(data))
		}
	}
}

func faultClient(t *testing.T, endpoint, proxy string) *Client {
	t.Helper()
	c, err := NewClient(Config{
		SecretID:  "AKIDfaultmatrix",
		SecretKey: NewSecret(faultSecretKey),
		Endpoint:  endpoint,
		Timeout:   faultLimit,
		Proxy:     NewSecret(proxy),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// faultCall makes a call that must fail and checks the *Error, its status and
// code, the elapsed time and that no secret shows; returns the error.
func faultCall(t *testing.T, c *Client, fault, action, request string, status Status) *Error {
	t.Helper()
	started := time.Now()
	_, err := c.CallRaw(context.Background(), action, request)
	elapsed := time.Since(started)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s/%s: want a *tcsms.Error, got %T: %v", fault, action, err, err)
	}
	t.Logf("%-20s %-17s %s after %v: %v", fault, action, e.Status, elapsed, err)
	if e.Status != status {
		t.Errorf("%s/%s: status %s, want %s (%v)", fault, action, e.Status, status, err)
	}
	if want := defaultCode(status); e.Code != want {
		t.Errorf("%s/%s: code %q, want %q", fault, action, e.Code, want)
	}
	if elapsed > faultLimit+faultMargin {
		t.Errorf("%s/%s took %v, limit %v", fault, action, elapsed, faultLimit)
	}
	shown := fmt.Sprintf("%v %+v %#v", err, err, err)
	if strings.Contains(shown, faultSecretKey) || strings.Contains(shown, faultProxyPass) {
		t.Errorf("%s/%s: a secret shows: %s", fault, action, shown)
	}
	return e
}

func TestFaultMatrix(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "")
	t.Setenv("https_proxy", "")
	t.Setenv("HTTP_PROXY", "")
	t.Setenv("http_proxy", "")
	t.Setenv("ALL_PROXY", "")
	t.Setenv("all_proxy", "")
	faults := []struct {
		name      string
		behaviour func(net.Conn)
		status    Status
		report    int64 // most connections for ReportConversion (SendSms: 1)
	}{
		{"500", faultAnswers("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops"), StatusHTTPStatus, 3},
		{"close", faultAnswers(""), StatusNetwork, 3},
		{"slow", func(conn net.Conn) {
			if faultReadRequest(conn) {
				time.Sleep(faultLimit + time.Second)
				_, _ = conn.Write(faultOKHead)
			}
		}, StatusTimeout, 3},
		{"slow-drip", func(conn net.Conn) {
			if faultReadRequest(conn) {
				for _, b := range append(append([]byte{}, faultOKHead...), bytes.Repeat([]byte(" "), 100)...) {
					if _, err := conn.Write([]byte{b}); err != nil {
						return
					}
					time.Sleep(500 * time.Millisecond)
				}
			}
		}, StatusTimeout, 3},
		{"silent", faultUntilHangup, StatusTimeout, 3},
		{"headers-then-stall", func(conn net.Conn) {
			if faultReadRequest(conn) {
				if _, err := conn.Write(faultOKHead); err == nil {
					faultUntilHangup(conn)
				}
			}
		}, StatusTimeout, 3},
		{"garbage", faultAnswers("\x00\x01\x02 this is not HTTP \xff\r\n\r\n{}"), StatusNetwork, 3},
		{"oversized", func(conn net.Conn) {
			if faultReadRequest(conn) {
				if _, err := conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 33554432\r\n\r\n")); err != nil {
					return
				}
				block := bytes.Repeat([]byte(" "), 65536)
				for i := 0; i < 512; i++ {
					if _, err := conn.Write(block); err != nil {
						return
					}
				}
			}
		}, StatusDecode, 1},
		{"chunked-forever", func(conn net.Conn) {
			if faultReadRequest(conn) {
				if _, err := conn.Write([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")); err != nil {
					return
				}
				chunk := append(append([]byte("4000\r\n"), bytes.Repeat([]byte(" "), 0x4000)...), "\r\n"...)
				for {
					if _, err := conn.Write(chunk); err != nil {
						return
					}
				}
			}
		}, StatusDecode, 1},
		{"content-length-lie", faultAnswers("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"Response\":{}}"), StatusNetwork, 3},
	}
	for _, f := range faults {
		for _, a := range faultActions {
			t.Run(f.name+"/"+a.action, func(t *testing.T) {
				server := startHostile(t, f.behaviour)
				c := faultClient(t, fmt.Sprintf("http://127.0.0.1:%d", server.port()), "")
				faultCall(t, c, f.name, a.action, a.request, f.status)
				most := f.report
				if a.action == "SendSms" {
					most = 1
				}
				if n := server.connections.Load(); n < 1 || n > most {
					t.Errorf("%s/%s: %d connections, want 1..%d", f.name, a.action, n, most)
				}
			})
		}
	}

	for _, a := range faultActions {
		t.Run("refused-port/"+a.action, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			port := ln.Addr().(*net.TCPAddr).Port
			ln.Close()
			c := faultClient(t, fmt.Sprintf("http://127.0.0.1:%d", port), "")
			faultCall(t, c, "refused-port", a.action, a.request, StatusNetwork)
		})
	}

	for _, a := range faultActions {
		t.Run("proxy-407/"+a.action, func(t *testing.T) {
			proxy := startHostile(t, faultAnswers(
				"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n"))
			// The service is never reached: the proxy refuses the tunnel to it first.
			c := faultClient(t, "https://127.0.0.1:9", fmt.Sprintf("http://user:%s@127.0.0.1:%d", faultProxyPass, proxy.port()))
			faultCall(t, c, "proxy-407", a.action, a.request, StatusNetwork)
			if n := proxy.connections.Load(); n != 1 {
				t.Errorf("proxy-407/%s: %d connections to the proxy, want 1", a.action, n)
			}
		})
	}
}

func TestFaultMatrixTLS(t *testing.T) {
	certs := filepath.Join("..", "..", "tests", "support", "certs")
	for _, f := range []struct{ name, cert, key, caFile, shows string }{
		{"tls-unknown-issuer", "self-signed.pem", "self-signed.key", "", "UnknownIssuer"},
		{"tls-wrong-host", "other-host.pem", "other-host.key", filepath.Join(certs, "test-ca.pem"), "not valid for name"},
	} {
		pair, err := tls.LoadX509KeyPair(filepath.Join(certs, f.cert), filepath.Join(certs, f.key))
		if err != nil {
			t.Fatal(err)
		}
		serverConfig := &tls.Config{Certificates: []tls.Certificate{pair}}
		for _, a := range faultActions {
			t.Run(f.name+"/"+a.action, func(t *testing.T) {
				server := startHostile(t, func(conn net.Conn) {
					_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
					s := tls.Server(conn, serverConfig)
					if s.Handshake() != nil {
						return // the client refused the certificate
					}
					if faultReadRequest(s) {
						_, _ = s.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 37\r\n\r\n{\"Response\":{\"RequestId\":\"accepted\"}}"))
					}
				})
				c, err := NewClient(Config{
					SecretID:  "AKIDfaultmatrix",
					SecretKey: NewSecret(faultSecretKey),
					Endpoint:  fmt.Sprintf("https://127.0.0.1:%d", server.port()),
					Timeout:   faultLimit,
					CAFile:    f.caFile,
				})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				e := faultCall(t, c, f.name, a.action, a.request, StatusNetwork)
				if !strings.Contains(e.Message, "not sent") || !strings.Contains(e.Message, f.shows) {
					t.Errorf("%s/%s: %v", f.name, a.action, e)
				}
				// A refused certificate would be refused again: tried once, never resent.
				if n := server.connections.Load(); n != 1 {
					t.Errorf("%s/%s: %d connections, want 1", f.name, a.action, n)
				}
			})
		}
	}
}

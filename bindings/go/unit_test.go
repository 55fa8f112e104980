package tcsms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestConfigJSON(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{}, `{}`},
		{Config{SecretID: "id", SecretKey: NewSecret("key"), Token: NewSecret("tok"), Region: "ap-guangzhou", Endpoint: "http://127.0.0.1:1",
			Language: "en-US", Timeout: 1500 * time.Millisecond, ConnectTimeout: time.Second, MaxRetries: Int(0),
			Proxy: NewSecret("http://proxy:3128"), CAFile: "/etc/ca.pem"},
			`{"secret_id":"id","secret_key":"key","token":"tok","region":"ap-guangzhou","endpoint":"http://127.0.0.1:1","language":"en-US","timeout_ms":1500,"connect_timeout_ms":1000,"max_retries":0,"proxy":"http://proxy:3128","ca_file":"/etc/ca.pem"}`},
		{Config{Timeout: time.Microsecond}, `{"timeout_ms":1}`},
		{Config{MaxRetries: Int(5)}, `{"max_retries":5}`},
	}
	for _, c := range cases {
		got, err := c.cfg.nativeJSON()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != c.want {
			t.Errorf("marshal %v\n got %s\nwant %s", c.cfg, got, c.want)
		}
	}
	_, err := NewClient(Config{Timeout: -time.Second})
	var e *Error
	if !errors.As(err, &e) || e.Status != StatusInvalidConfig {
		t.Errorf("negative timeout: %v", err)
	}
}

// Marker secrets: none of them may appear in any rendering of a Config.
const (
	markerKey   = "MARKERsecretKEY0123456789abcdef"
	markerToken = "MARKERtoken0123456789"
	markerProxy = "MARKERproxyPW0123"
)

func markerConfig() Config {
	return Config{SecretID: "AKIDmarker", SecretKey: NewSecret(markerKey), Token: NewSecret(markerToken), Region: "ap-guangzhou",
		Proxy: NewSecret("http://user:" + markerProxy + "@127.0.0.1:3128"), MaxRetries: Int(1)}
}

func assertNoMarkers(t *testing.T, where, text string) {
	t.Helper()
	for _, m := range []string{markerKey, markerToken, markerProxy} {
		if strings.Contains(text, m) {
			t.Errorf("%s leaks %q: %s", where, m, text)
		}
	}
}

// renderings is every way a Config reaches a log: fmt verbs (value and
// pointer, alone and nested) and slog's text and JSON handlers.
func renderings(t *testing.T, cfg Config) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out[verb] = fmt.Sprintf(verb, cfg)
		out["pointer "+verb] = fmt.Sprintf(verb, &cfg)
		out["nested "+verb] = fmt.Sprintf(verb, struct{ C Config }{cfg})
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out["json.Marshal"] = string(data)
	for name, h := range map[string]func(w io.Writer) slog.Handler{
		"slog text": func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
		"slog json": func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
	} {
		var buf bytes.Buffer
		slog.New(h(&buf)).Info("config", "cfg", cfg, "ptr", &cfg)
		out[name] = buf.String()
	}
	return out
}

// A Config held in an unexported field: fmt cannot call its methods there and
// prints the fields by reflection, so the Secrets themselves must not show.
type holdsConfig struct {
	name string
	cfg  Config
	ptr  *Config
	list []Config
	set  map[string]Config
}

func TestConfigInUnexportedFieldsRedactsSecrets(t *testing.T) {
	cfg := markerConfig()
	h := holdsConfig{name: "svc", cfg: cfg, ptr: &cfg, list: []Config{cfg}, set: map[string]Config{"a": cfg}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
		for where, value := range map[string]any{"struct": h, "pointer": &h, "secret": cfg.SecretKey, "slice": []Secret{cfg.Token}} {
			text := fmt.Sprintf(verb, value)
			assertNoMarkers(t, verb+" "+where, text)
			if where == "struct" && verb == "%+v" && !strings.Contains(text, "AKIDmarker") {
				t.Errorf("%s %s lost the non-secret fields: %s", verb, where, text)
			}
		}
	}
	// The zero Secret prints as nothing, a set one says what it hid.
	if s := fmt.Sprint(Secret{}, "|", NewSecret("x")); s != " | <redacted>" && s != "|<redacted>" {
		t.Errorf("Secret renderings: %q", s)
	}
	var back struct{ K Secret }
	if err := json.Unmarshal([]byte(`{"K":"`+markerKey+`"}`), &back); err != nil || back.K.Reveal() != markerKey {
		t.Errorf("UnmarshalJSON: %v %q", err, back.K.Reveal())
	}
	if data, _ := json.Marshal(back); strings.Contains(string(data), markerKey) {
		t.Errorf("MarshalJSON leaks: %s", data)
	}
}

func TestConfigRenderingsRedactSecrets(t *testing.T) {
	for where, text := range renderings(t, markerConfig()) {
		assertNoMarkers(t, where, text)
		if !strings.Contains(text, "AKIDmarker") || !strings.Contains(text, "127.0.0.1:3128") {
			t.Errorf("%s lost the non-secret fields: %s", where, text)
		}
		if !strings.Contains(text, "redacted") {
			t.Errorf("%s does not say what it hid: %s", where, text)
		}
	}
	// The library still gets the real values.
	native, err := markerConfig().nativeJSON()
	if err != nil || !strings.Contains(string(native), markerKey) || !strings.Contains(string(native), markerProxy) {
		t.Errorf("nativeJSON lost the secrets: %s %v", native, err)
	}
}

func TestRedactProxy(t *testing.T) {
	for in, want := range map[string]string{
		"http://user:pw@proxy:3128":      "http://<redacted>@proxy:3128",
		"http://proxy:3128":              "http://proxy:3128",
		"user:pw@proxy:3128":             "<redacted>@proxy:3128",
		"http://u:p@ss@proxy:1/x?y=a@b":  "http://<redacted>@proxy:1/x?y=a@b",
		"https://proxy:1/path@somewhere": "https://proxy:1/path@somewhere",
		"":                               "",
	} {
		if got := redactProxy(in); got != want {
			t.Errorf("redactProxy(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStatusTableMatchesLibrary: the generated status table (from
// spec/client_errors.json) is what the library says.
func TestStatusTableMatchesLibrary(t *testing.T) {
	for i, want := range statusDescriptions {
		if got := Status(i).Description(); got != want {
			t.Errorf("tcsms_status_str(%d) = %q, table says %q", i, got, want)
		}
	}
	for st := StatusNullArgument; st <= StatusPanic; st++ {
		if code := defaultCode(st); clientErrorStatus[code] != st {
			t.Errorf("default code %s of %s has status %s in the table", code, st, clientErrorStatus[code])
		}
	}
}

// TestLocalErrorCodesAreInTheTable: every localError(StatusX, CodeY, ...)
// of this package uses the status spec/client_errors.json gives CodeY.
func TestLocalErrorCodesAreInTheTable(t *testing.T) {
	gen, err := os.ReadFile("status_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	codeByName, statusByName := map[string]string{}, map[string]Status{}
	for _, m := range regexp.MustCompile(`(Code\w+)\s*= "([^"]+)"`).FindAllStringSubmatch(string(gen), -1) {
		codeByName[m[1]] = m[2]
	}
	for _, m := range regexp.MustCompile(`(Status\w+)\s+Status = (\d+)`).FindAllStringSubmatch(string(gen), -1) {
		v, _ := strconv.Atoi(m[2])
		statusByName[m[1]] = Status(v)
	}
	re := regexp.MustCompile(`(?:localError\(|Status: )(Status\w+),\s*(?:Code: )?(Code\w+)`)
	files, _ := filepath.Glob("*.go")
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || strings.HasSuffix(f, "_gen.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			found++
			_, known := statusByName[m[1]]
			code, ok := codeByName[m[2]]
			if !ok || !known {
				t.Errorf("%s: unknown %s or %s", f, m[1], m[2])
				continue
			}
			if clientErrorStatus[code] != statusByName[m[1]] {
				t.Errorf("%s: %s with %s, table says %s", f, code, m[1], clientErrorStatus[code])
			}
		}
	}
	if found < 10 {
		t.Fatalf("only %d local errors found", found)
	}
}

func TestErrorType(t *testing.T) {
	e := parseError(StatusAPIError, `{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"bad sig"},"RequestId":"req-1"}}`)
	if e.Code != "AuthFailure.SignatureFailure" || e.Message != "bad sig" || e.RequestID != "req-1" || e.Status != StatusAPIError {
		t.Fatalf("parseError: %+v", e)
	}
	var err error = e
	if !errors.Is(err, ErrAPI) || errors.Is(err, ErrTimeout) || errors.Is(err, ErrClosed) {
		t.Error("errors.Is by status")
	}
	if got := err.Error(); got != "tcsms: AuthFailure.SignatureFailure: bad sig (RequestId req-1)" {
		t.Errorf("Error() = %q", got)
	}
	wrapped := fmt.Errorf("sending: %w", err)
	var as *Error
	if !errors.As(wrapped, &as) || as.RequestID != "req-1" {
		t.Error("errors.As through wrapping")
	}
	// Unparsable body: kept as the message, code from the status.
	e = parseError(StatusDecode, "garbage")
	if e.Code != "ClientError.Decode" || e.Message != "garbage" {
		t.Errorf("garbage: %+v", e)
	}
	if !errors.Is(closedError(), ErrClosed) || errors.Is(localError(StatusInvalidArgument, "ClientError.UnknownAction", ""), ErrClosed) {
		t.Error("ErrClosed matching")
	}
	if fmt.Sprint(StatusTimeout) != "TIMEOUT" || ErrTimeout.Error() != "tcsms: status TIMEOUT" {
		t.Errorf("sentinel text %q %q", fmt.Sprint(StatusTimeout), ErrTimeout)
	}
	if StatusTimeout.String() != "TIMEOUT" || Status(99).String() != "STATUS(99)" {
		t.Error("Status.String")
	}
	to := &Error{Status: StatusTimeout, Code: "ClientError.Timeout", cause: context.DeadlineExceeded}
	if !errors.Is(to, context.DeadlineExceeded) || !errors.Is(to, ErrTimeout) {
		t.Error("timeout wrapping ctx error")
	}
}

func TestStatusValuesMatchHeader(t *testing.T) {
	hdr := headerStatuses()
	if len(hdr) != int(StatusPartial)+1 {
		t.Fatalf("%d header statuses", len(hdr))
	}
	for i, v := range hdr {
		if Status(i) != v {
			t.Errorf("Go status %s = %d, header value %d", Status(i), i, v)
		}
		d := v.Description()
		if d == "" || d == Status(99).Description() {
			t.Errorf("tcsms_status_str(%d) = %q", v, d)
		}
	}
	if Status(99).Description() != "unknown status" {
		t.Errorf("tcsms_status_str(99) = %q", Status(99).Description())
	}
}

func TestABIAndVersion(t *testing.T) {
	if err := checkABI(); err != nil {
		t.Fatal(err)
	}
	if ABIVersion() != ABIVersionHeader {
		t.Errorf("ABIVersion() = %d", ABIVersion())
	}
	if Version() == "" {
		t.Error("Version() is empty")
	}
}

func TestNilClientAndRequest(t *testing.T) {
	var c *Client
	if err := c.Close(); err != nil {
		t.Error(err)
	}
	if _, err := c.SendSms(bg(), &SendSmsRequest{}); !errors.Is(err, ErrNullArgument) {
		t.Errorf("nil client: %v", err)
	}
}

// TestNilContextRefused: a nil context is a clear NullArgument error, on
// every entry point, and nothing is sent.
func TestNilContextRefused(t *testing.T) {
	c, err := NewClient(Config{SecretID: "AKIDx", SecretKey: NewSecret("k"), Endpoint: "http://127.0.0.1:1", MaxRetries: Int(0)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var nilCtx context.Context
	calls := map[string]func() error{
		"SendSms": func() error { _, err := c.SendSms(nilCtx, &SendSmsRequest{}); return err },
		"CallRaw": func() error { _, err := c.CallRaw(nilCtx, "SendSms", "{}"); return err },
		"Call":    func() error { return c.Call(nilCtx, "SendSms", nil, nil) },
		"ReportConversion": func() error {
			_, err := c.ReportConversion(nilCtx, &ReportConversionRequest{SmsSdkAppId: "1", SerialNo: "2"})
			return err
		},
	}
	for name, call := range calls {
		err := call()
		var e *Error
		if !errors.As(err, &e) || e.Status != StatusNullArgument || e.Code != CodeNullArgument ||
			!strings.Contains(e.Message, "nil context") {
			t.Errorf("%s with a nil context: %v", name, err)
		}
	}
}

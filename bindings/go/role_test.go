package tcsms

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const roleARN = "qcs::cam::uin/100000000001:roleName/go-test"

func sendAndReport(ctx context.Context, c *Client, phone string) error {
	resp, err := c.SendSms(ctx, &SendSmsRequest{
		PhoneNumberSet:   []string{phone},
		SmsSdkAppId:      demoAppID,
		TemplateId:       "2001",
		SignName:         String("tcsms"),
		TemplateParamSet: []string{"1234", "5"},
	})
	if err != nil {
		return err
	}
	if len(resp.SendStatusSet) != 1 || resp.SendStatusSet[0].Code != "Ok" {
		return fmt.Errorf("unexpected SendSms answer %+v", resp)
	}
	_, err = c.ReportConversion(ctx, &ReportConversionRequest{SmsSdkAppId: demoAppID, SerialNo: resp.SendStatusSet[0].SerialNo})
	return err
}

// A client configured only with a CVM role sends and reports conversions from
// eight goroutines across several expiries of 2-second keys, with no failure;
// each refresh is a "credentials" Event without a secret.
func TestRoleCVMAcrossExpiries(t *testing.T) {
	emu := newEmulator(t, "--rate-limit", "all=0", "--cvm-role", "go-role", "--temp-credential-lifetime", "2")
	var mu sync.Mutex
	var events []Event
	c := newTestClient(t, Config{
		Endpoint:         emu.URL,
		CredentialSource: "cvm_role",
		MetadataEndpoint: emu.URL,
		RateLimits:       map[string]float64{"*": 0},
		Timeout:          10 * time.Second,
		OnEvent: func(ev Event) {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
		},
	})
	ctx := context.Background()
	deadline := time.Now().Add(5 * time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				if err := sendAndReport(ctx, c, fmt.Sprintf("+86136%02d%06d", g, i)); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("call failed: %v", err)
	}
	if err := c.SetCredentials(demoSecretID, demoSecretKey, ""); err == nil {
		t.Errorf("SetCredentials on a role client: want an error")
	}
	mu.Lock()
	defer mu.Unlock()
	var credentials []Event
	for _, ev := range events {
		if ev.Event == "credentials" {
			credentials = append(credentials, ev)
		}
	}
	if len(credentials) < 3 {
		t.Fatalf("want at least 3 credentials events (first fetch and refreshes), got %d", len(credentials))
	}
	for _, ev := range credentials {
		if ev.Source != "cvm_role" || ev.Outcome != "ok" || ev.Expiry == 0 {
			t.Errorf("credentials event %s", ev.JSON)
		}
		if strings.Contains(ev.JSON, "TmpSecret") || strings.Contains(ev.JSON, "Token") {
			t.Errorf("credentials event with a secret field: %s", ev.JSON)
		}
	}
}

// OIDC with a token file sends; a token STS refuses surfaces STS's code.
func TestRoleOIDCAndRefusal(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("eyJgowebidentitytoken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emu := newEmulator(t, "--rate-limit", "all=0", "--web-identity-token-file", tokenFile)
	cfg := Config{
		Endpoint:            emu.URL,
		CredentialSource:    "oidc",
		OIDCProviderID:      "OIDC",
		OIDCTokenFile:       tokenFile,
		RoleARN:             roleARN,
		RoleSessionName:     "go-test",
		RoleDurationSeconds: 900,
		STSEndpoint:         emu.URL,
	}
	if err := sendAndReport(context.Background(), newTestClient(t, cfg), "+8613900000004"); err != nil {
		t.Fatalf("OIDC client: %v", err)
	}
	stale := filepath.Join(dir, "stale")
	if err := os.WriteFile(stale, []byte("eyJgostaletoken"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.OIDCTokenFile = stale
	err := sendAndReport(context.Background(), newTestClient(t, cfg), "+8613900000005")
	var e *Error
	if !errors.As(err, &e) || e.Code != "InvalidParameter.WebIdentityTokenError" || e.Status != StatusAPIError {
		t.Fatalf("want STS's InvalidParameter.WebIdentityTokenError, got %v", err)
	}
	if strings.Contains(err.Error(), "eyJgostaletoken") || !strings.Contains(e.Message, "oidc") {
		t.Fatalf("error %q", err.Error())
	}
}

// No metadata service: a fast, named network error.
func TestRoleNoMetadataService(t *testing.T) {
	emu := needEmulator(t)
	cfg := Config{Endpoint: emu.URL, CredentialSource: "cvm_role", MetadataEndpoint: "http://127.0.0.1:1"}
	if shown := cfg.String(); !strings.Contains(shown, `CredentialSource:"cvm_role"`) || !strings.HasSuffix(shown, "}") {
		t.Errorf("Config.String() = %s", shown)
	}
	c := newTestClient(t, cfg)
	started := time.Now()
	err := sendAndReport(context.Background(), c, "+8613900000006")
	var e *Error
	if !errors.As(err, &e) || e.Code != "ClientError.CredentialsUnavailable" || e.Status != StatusNetwork {
		t.Fatalf("want ClientError.CredentialsUnavailable, got %v", err)
	}
	if time.Since(started) > 2*time.Second || !strings.Contains(e.Message, "metadata service http://127.0.0.1:1/") {
		t.Fatalf("took %v: %q", time.Since(started), e.Message)
	}
	if _, err := NewClient(Config{Endpoint: emu.URL, CredentialSource: "imds"}); err == nil || !strings.Contains(err.Error(), "credential_source") {
		t.Fatalf("want a configuration error naming credential_source, got %v", err)
	}
}

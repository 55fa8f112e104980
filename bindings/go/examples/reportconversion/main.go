// Command reportconversion sends a verification-code SMS and reports its
// conversion through one tcsms client; with -n N, N goroutines do so at once
// through the same shared client.
//
//	go run ./examples/reportconversion -endpoint http://127.0.0.1:PORT [-n 8]
//
// The endpoint comes from -endpoint or $TCSMS_ENDPOINT (default: the real
// service). Credentials come from -secret-id/-secret-key or
// $TENCENTCLOUD_SECRET_ID/$TENCENTCLOUD_SECRET_KEY; when none are given the
// tcsms emulator's demo credentials are used.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	tcsms "github.com/tcsms/tcsms/bindings/go"
)

const (
	demoSecretID  = "AKIDtcsmsdemo00000000000000000000000"
	demoSecretKey = "tcsmsdemosecretkey00000000000000"
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	endpoint := flag.String("endpoint", os.Getenv("TCSMS_ENDPOINT"), "service endpoint, e.g. http://127.0.0.1:8080 (env TCSMS_ENDPOINT)")
	secretID := flag.String("secret-id", envOr("TENCENTCLOUD_SECRET_ID", demoSecretID), "SecretId (env TENCENTCLOUD_SECRET_ID)")
	secretKey := flag.String("secret-key", envOr("TENCENTCLOUD_SECRET_KEY", demoSecretKey), "SecretKey (env TENCENTCLOUD_SECRET_KEY)")
	region := flag.String("region", "ap-guangzhou", "region")
	appID := flag.String("app", "1400000001", "SmsSdkAppId")
	phone := flag.String("phone", "+8613800000000", "destination phone number (E.164)")
	sign := flag.String("sign", "tcsms", "SignName")
	template := flag.String("template", "2001", "TemplateId (2001: verification code, 2 params)")
	n := flag.Int("n", 1, "number of goroutines sharing the client (each sends one SMS and reports it)")
	flag.Parse()

	c, err := tcsms.NewClient(tcsms.Config{
		SecretID:  *secretID,
		SecretKey: tcsms.NewSecret(*secretKey),
		Region:    *region,
		Endpoint:  *endpoint,
		Timeout:   15 * time.Second,
	})
	if err != nil {
		fail("NewClient", err)
	}
	defer c.Close()
	fmt.Println("library:", tcsms.Version())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if *n <= 1 {
		sent, conv, err := sendAndReport(ctx, c, *appID, *phone, *sign, *template)
		if sent != nil {
			printJSON("SendSms", sent)
		}
		if err != nil {
			fail("send and report", err)
		}
		printJSON("ReportConversion", conv)
		return
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := false
	for i := 0; i < *n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sent, conv, err := sendAndReport(ctx, c, *appID, *phone, *sign, *template)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed = true
				report(fmt.Sprintf("goroutine %d", i), err)
				return
			}
			fmt.Printf("goroutine %d: SendSms SerialNo=%s RequestId=%s; ReportConversion %s RequestId=%s\n",
				i, sent.SendStatusSet[0].SerialNo, sent.RequestId, conv.ReportConversionStatus.Code, conv.RequestId)
		}(i)
	}
	wg.Wait()
	if failed {
		os.Exit(1)
	}
}

// sendAndReport sends one SMS and reports the conversion of its SerialNo.
func sendAndReport(ctx context.Context, c *tcsms.Client, appID, phone, sign, template string) (*tcsms.SendSmsResponse, *tcsms.ReportConversionResponse, error) {
	sent, err := c.SendSms(ctx, &tcsms.SendSmsRequest{
		PhoneNumberSet:   []string{phone},
		SmsSdkAppId:      appID,
		TemplateId:       template,
		SignName:         tcsms.String(sign),
		TemplateParamSet: []string{"123456", "5"},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("SendSms: %w", err)
	}
	if len(sent.SendStatusSet) == 0 || sent.SendStatusSet[0].SerialNo == "" {
		return sent, nil, fmt.Errorf("SendSms returned no SerialNo")
	}
	conv, err := c.ReportConversion(ctx, &tcsms.ReportConversionRequest{
		SmsSdkAppId:    appID,
		SerialNo:       sent.SendStatusSet[0].SerialNo,
		ConversionTime: uint64(time.Now().Unix()),
	})
	if err != nil {
		return sent, nil, fmt.Errorf("ReportConversion: %w", err)
	}
	return sent, conv, nil
}

func printJSON(label string, v any) {
	b, _ := json.MarshalIndent(v, "", "  ")
	fmt.Printf("%s: %s\n", label, b)
}

func report(what string, err error) {
	var e *tcsms.Error
	if errors.As(err, &e) {
		fmt.Fprintf(os.Stderr, "%s failed: %v\n  status=%s code=%s request_id=%q\n", what, err, e.Status, e.Code, e.RequestID)
	} else {
		fmt.Fprintf(os.Stderr, "%s failed: %v\n", what, err)
	}
}

func fail(what string, err error) {
	report(what, err)
	os.Exit(1)
}

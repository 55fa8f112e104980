// Command reportconversion sends one verification-code SMS and reports its
// conversion through one tcsms client.
//
//	go run ./examples/reportconversion -endpoint http://127.0.0.1:PORT
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
	flag.Parse()

	c, err := tcsms.NewClient(tcsms.Config{
		SecretID:  *secretID,
		SecretKey: *secretKey,
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

	sent, err := c.SendSms(ctx, &tcsms.SendSmsRequest{
		PhoneNumberSet:   []string{*phone},
		SmsSdkAppId:      *appID,
		TemplateId:       *template,
		SignName:         tcsms.String(*sign),
		TemplateParamSet: []string{"123456", "5"},
	})
	if err != nil {
		fail("SendSms", err)
	}
	printJSON("SendSms", sent)
	if len(sent.SendStatusSet) == 0 || sent.SendStatusSet[0].SerialNo == "" {
		fmt.Fprintln(os.Stderr, "SendSms returned no SerialNo")
		os.Exit(1)
	}

	conv, err := c.ReportConversion(ctx, &tcsms.ReportConversionRequest{
		SmsSdkAppId:    *appID,
		SerialNo:       sent.SendStatusSet[0].SerialNo,
		ConversionTime: uint64(time.Now().Unix()),
	})
	if err != nil {
		fail("ReportConversion", err)
	}
	printJSON("ReportConversion", conv)
}

func printJSON(label string, v any) {
	b, _ := json.MarshalIndent(v, "", "  ")
	fmt.Printf("%s: %s\n", label, b)
}

func fail(what string, err error) {
	var e *tcsms.Error
	if errors.As(err, &e) {
		fmt.Fprintf(os.Stderr, "%s failed: status=%s code=%s message=%q request_id=%q\n", what, e.Status, e.Code, e.Message, e.RequestID)
	} else {
		fmt.Fprintf(os.Stderr, "%s failed: %v\n", what, err)
	}
	os.Exit(1)
}

// Command consumer is a Go program in its own module, outside the tcsms
// checkout: it sends one SMS through the emulator.
//
//	consumer ENDPOINT PHONE
//
// It exits 0 only if SendSms answered with Code "Ok".
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	tcsms "github.com/tcsms/tcsms/bindings/go"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: consumer ENDPOINT PHONE")
		os.Exit(2)
	}
	c, err := tcsms.NewClient(tcsms.Config{
		SecretID:  "AKIDtcsmsdemo00000000000000000000000",
		SecretKey: tcsms.NewSecret("tcsmsdemosecretkey00000000000000"),
		Endpoint:  os.Args[1],
		Timeout:   10 * time.Second,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "NewClient:", err)
		os.Exit(1)
	}
	defer c.Close()
	fmt.Printf("version=%s %s\n", tcsms.HeaderVersion(), tcsms.Version())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sent, err := c.SendSms(ctx, &tcsms.SendSmsRequest{
		PhoneNumberSet:   []string{os.Args[2]},
		SmsSdkAppId:      "1400000001",
		TemplateId:       "2001",
		SignName:         tcsms.String("tcsms"),
		TemplateParamSet: []string{"1234", "5"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "SendSms:", err)
		os.Exit(1)
	}
	st := sent.SendStatusSet[0]
	fmt.Printf("SendSms: %s %s\n", st.Code, st.SerialNo)
	if st.Code != "Ok" {
		os.Exit(1)
	}
}

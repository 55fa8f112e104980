// Command oneshot is the official Go SDK's peer in the "new process per call" rows of
// bench/run.sh --tls: one ReportConversion by a new CommonClient over HTTPS to
// 127.0.0.1:PORT, then exit (driven by bench/spawn.py). A program of its own so that it
// does not link libtcsms (bench/go does, through the binding), which would add the
// library's loading to the SDK's process start. Trusts the test CA through SSL_CERT_FILE.
//
//	oneshot PORT
package main

import (
	"fmt"
	"os"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: oneshot PORT")
		os.Exit(2)
	}
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Scheme = "HTTPS"
	cpf.HttpProfile.Endpoint = "127.0.0.1:" + os.Args[1]
	client := common.NewCommonClient(common.NewCredential("AKIDbench000000000000000000000000000", "benchsecretkey0000000000000000000"), "ap-guangzhou", cpf)
	req := tchttp.NewCommonRequest("sms", "2021-01-11", "ReportConversion")
	params := map[string]interface{}{"SmsSdkAppId": "1400000001", "SerialNo": "2433:1045710669157053657849499619", "ConversionTime": 1700000000}
	if err := req.SetActionParameters(params); err != nil {
		fmt.Fprintln(os.Stderr, "oneshot:", err)
		os.Exit(1)
	}
	if err := client.Send(req, tchttp.NewCommonResponse()); err != nil {
		fmt.Fprintln(os.Stderr, "oneshot:", err)
		os.Exit(1)
	}
}

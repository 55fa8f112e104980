// Command bench compares the tcsms Go binding with the official Go SDK
// (tencentcloud-sdk-go) on the same loopback fixed-response server.
//
//	cargo build --release && (cd bench/go && go run . -calls 5000)
//
// It starts target/release/examples/fixed_server (built on demand), then makes the
// same number of sequential ReportConversion calls with a raw net/http keep-alive
// client (the ceiling), the official SDK and tcsms, three alternating rounds each;
// the best round counts. Kept in its own module so the binding itself stays
// standard-library only.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	tcsms "github.com/tcsms/tcsms/bindings/go"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
)

const (
	secretID  = "AKIDbench000000000000000000000000000"
	secretKey = "benchsecretkey0000000000000000000"
	app       = "1400000001"
	serial    = "2433:1045710669157053657849499619"
)

func main() {
	calls := flag.Int("calls", 5000, "sequential calls per round")
	flag.Parse()
	root, _ := filepath.Abs("../..")
	build := exec.Command("cargo", "build", "--release", "--quiet", "--example", "fixed_server")
	build.Dir, build.Stderr = root, os.Stderr
	must(build.Run())
	server := exec.Command(filepath.Join(root, "target/release/examples/fixed_server"))
	out, err := server.StdoutPipe()
	must(err)
	must(server.Start())
	defer func() { _ = server.Process.Kill(); _ = server.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	must(err)
	url := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))

	peers := []struct {
		name string
		call func()
	}{
		{"raw net/http", rawPeer(url)},
		{"official SDK", officialPeer(url)},
		{"tcsms", tcsmsPeer(url)},
	}
	rates := map[string]float64{}
	for _, p := range peers {
		for i := 0; i < *calls/20; i++ {
			p.call()
		}
	}
	for round := 0; round < 3; round++ {
		for _, p := range peers {
			start := time.Now()
			for i := 0; i < *calls; i++ {
				p.call()
			}
			if r := float64(*calls) / time.Since(start).Seconds(); r > rates[p.name] {
				rates[p.name] = r
			}
		}
	}
	fmt.Printf("%s, %d sequential ReportConversion calls per round, loopback (%d cores)\n", runtime.Version(), *calls, runtime.NumCPU())
	for _, p := range peers {
		fmt.Printf("  %-14s %9.0f calls/s\n", p.name, rates[p.name])
	}
	fmt.Printf("  tcsms / official SDK: %.1fx\n", rates["tcsms"]/rates["official SDK"])
	fmt.Printf("  official SDK / raw:   %.0f %%\n", 100*rates["official SDK"]/rates["raw net/http"])
	fmt.Printf("  tcsms / raw:          %.0f %%\n", 100*rates["tcsms"]/rates["raw net/http"])
}

func rawPeer(url string) func() {
	client := &http.Client{}
	body := []byte(`{"SmsSdkAppId":"1400000001","SerialNo":"` + serial + `","ConversionTime":1700000000}`)
	return func() {
		req, err := http.NewRequest("POST", url+"/", bytes.NewReader(body))
		must(err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-TC-Action", "ReportConversion")
		resp, err := client.Do(req)
		must(err)
		_, err = io.ReadAll(resp.Body)
		must(err)
		_ = resp.Body.Close()
	}
}

// officialPeer uses the official SDK's CommonClient: the Go module proxy reachable
// here serves tencentcloud-sdk-go's common module but not its sms module. The typed
// SmsClient.ReportConversion goes through the same Send path.
func officialPeer(url string) func() {
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Scheme = "HTTP"
	cpf.HttpProfile.Endpoint = strings.TrimPrefix(url, "http://")
	client := common.NewCommonClient(common.NewCredential(secretID, secretKey), "ap-guangzhou", cpf)
	params := map[string]interface{}{"SmsSdkAppId": app, "SerialNo": serial, "ConversionTime": 1700000000}
	return func() {
		req := tchttp.NewCommonRequest("sms", "2021-01-11", "ReportConversion")
		must(req.SetActionParameters(params))
		resp := tchttp.NewCommonResponse()
		must(client.Send(req, resp))
	}
}

func tcsmsPeer(url string) func() {
	// Client-side rate limiting off: the bench measures the client, not the limiter.
	client, err := tcsms.NewClient(tcsms.Config{SecretID: secretID, SecretKey: secretKey, Endpoint: url,
		RateLimits: map[string]float64{"*": 0}})
	must(err)
	ctx := context.Background()
	return func() {
		_, err := client.ReportConversion(ctx, &tcsms.ReportConversionRequest{SmsSdkAppId: app, SerialNo: serial, ConversionTime: 1700000000})
		must(err)
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

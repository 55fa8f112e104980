// Command bench holds the Go peers of bench/run.sh: CALLERS goroutines making
// sequential ReportConversion calls for SECONDS against the fixed-response server
// on 127.0.0.1:PORT, at the GOMAXPROCS of the environment.
//
//	go run . tcsms|queue|cgo|official|cold|official-cold CALLERS SECONDS PORT
//
// Prints `calls=N seconds=S rate=R cpu_us=U` (calls/s, and user+system CPU time of
// the process per call from getrusage), both over the measured interval only.
//
//	tcsms     the tcsms Go binding, one Client shared by the goroutines, default
//	          configuration (at GOMAXPROCS=1 the calls beyond the first go through the
//	          library's completion queue; with more Ps every call blocks in cgo)
//	queue     the same with Config.CompletionQueue (calls beyond GOMAXPROCS go through
//	          the library's completion queue at any GOMAXPROCS)
//	cgo       one blocking cgo call of tcsms_report_conversion per call, as the
//	          binding made them before the completion queue (the "before" peer)
//	official  the official Go SDK (tencentcloud-sdk-go common module, CommonClient)
//	cold      a new tcsms Client per call (tcsms.NewClient, one call, Close)
//	cold-once one call by a new tcsms client, then exit (no warm-up, no output): a new
//	          process per call, driven by bench/spawn.py (the official SDK's is
//	          bench/go/oneshot, which does not link libtcsms)
//	official-cold  a new CommonClient per call; the SDK gives each client its own
//	          clone of http.DefaultTransport (so its own connections); the clone's idle
//	          connection is closed after the call, as the end of a CLI process would
//
// The clients call http://127.0.0.1:PORT, or (bench/run.sh --tls) https://127.0.0.1:PORT
// when TCSMS_BENCH_CA_FILE names the test CA: tcsms gets it as Config.CAFile (ca_file),
// the official SDK through SSL_CERT_FILE, which run.sh sets for it.
//
// Kept in its own module so the binding itself stays standard-library only.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
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
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: bench tcsms|queue|cgo|official CALLERS SECONDS PORT")
		os.Exit(2)
	}
	callers, err1 := strconv.Atoi(os.Args[2])
	seconds, err2 := strconv.ParseFloat(os.Args[3], 64)
	port, err3 := strconv.Atoi(os.Args[4])
	if err1 != nil || err2 != nil || err3 != nil {
		fmt.Fprintln(os.Stderr, "bench: bad arguments")
		os.Exit(2)
	}
	if os.Args[1] == "cold-once" {
		coldPeer(port)()
		return
	}
	var call func()
	switch os.Args[1] {
	case "tcsms":
		call = tcsmsPeer(port)
	case "queue":
		call = queuePeer(port)
	case "cgo":
		call = cgoPeer(port)
	case "official":
		call = officialPeer(port)
	case "cold":
		call = coldPeer(port)
	case "official-cold":
		call = officialColdPeer(port)
	default:
		fmt.Fprintln(os.Stderr, "bench: unknown mode", os.Args[1])
		os.Exit(2)
	}
	warmup := 100
	if os.Args[1] == "cold" || os.Args[1] == "official-cold" {
		warmup = 5 // the process's first client pays the roots
	}
	for i := 0; i < warmup; i++ {
		call()
	}
	var stop atomic.Bool
	var total atomic.Int64
	var wg sync.WaitGroup
	c0, t0 := cpu(), time.Now()
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := int64(0)
			for !stop.Load() {
				call()
				n++
			}
			total.Add(n)
		}()
	}
	time.Sleep(time.Duration(seconds * float64(time.Second)))
	stop.Store(true)
	wg.Wait()
	t, c, n := time.Since(t0).Seconds(), cpu()-c0, total.Load()
	fmt.Printf("calls=%d seconds=%.3f rate=%.0f cpu_us=%.2f\n", n, t, float64(n)/t, 1e6*c/float64(n))
}

func cpu() float64 {
	var ru syscall.Rusage
	must(syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func endpoint(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// caFile is the test CA of bench/run.sh --tls, or "" for plain HTTP.
var caFile = os.Getenv("TCSMS_BENCH_CA_FILE")

func scheme() string {
	if caFile != "" {
		return "https"
	}
	return "http"
}

// tcsmsConfig turns the rate limit off where the library has one, and retries off.
func tcsmsConfig(port int) string {
	base := fmt.Sprintf(`{"secret_id":%q,"secret_key":%q,"endpoint":"%s://%s","max_retries":0`, secretID, secretKey, scheme(), endpoint(port))
	if caFile != "" {
		base += fmt.Sprintf(`,"ca_file":%q`, caFile)
	}
	if c, err := tcsms.NewClientFromJSON(base + `,"rate_limits":{"*":0}}`); err == nil {
		_ = c.Close()
		return base + `,"rate_limits":{"*":0}}`
	}
	return base + "}"
}

// queuePeer: the binding with its completion queue on (rate limits and retries off,
// as in tcsmsConfig).
func queuePeer(port int) func() {
	client, err := tcsms.NewClient(tcsms.Config{
		SecretID: secretID, SecretKey: tcsms.NewSecret(secretKey), Region: "ap-guangzhou", Endpoint: scheme() + "://" + endpoint(port),
		MaxRetries: tcsms.Int(0), RateLimits: map[string]float64{"*": 0}, CompletionQueue: true, CAFile: caFile,
	})
	must(err)
	ctx := context.Background()
	req := &tcsms.ReportConversionRequest{SmsSdkAppId: app, SerialNo: serial, ConversionTime: 1700000000}
	return func() {
		_, err := client.ReportConversion(ctx, req)
		must(err)
	}
}

func tcsmsPeer(port int) func() {
	client, err := tcsms.NewClientFromJSON(tcsmsConfig(port))
	must(err)
	ctx := context.Background()
	req := &tcsms.ReportConversionRequest{SmsSdkAppId: app, SerialNo: serial, ConversionTime: 1700000000}
	return func() {
		_, err := client.ReportConversion(ctx, req)
		must(err)
	}
}

// coldPeer: a new client per call, configured through Config (CAFile = ca_file).
func coldPeer(port int) func() {
	config := tcsms.Config{
		SecretID: secretID, SecretKey: tcsms.NewSecret(secretKey), Region: "ap-guangzhou", Endpoint: scheme() + "://" + endpoint(port),
		MaxRetries: tcsms.Int(0), RateLimits: map[string]float64{"*": 0}, CAFile: caFile,
	}
	ctx := context.Background()
	req := &tcsms.ReportConversionRequest{SmsSdkAppId: app, SerialNo: serial, ConversionTime: 1700000000}
	return func() {
		client, err := tcsms.NewClient(config)
		must(err)
		_, err = client.ReportConversion(ctx, req)
		must(err)
		must(client.Close())
	}
}

func officialClient(port int) *common.Client {
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Scheme = "HTTP"
	if caFile != "" {
		cpf.HttpProfile.Scheme = "HTTPS"
	}
	cpf.HttpProfile.Endpoint = endpoint(port)
	return common.NewCommonClient(common.NewCredential(secretID, secretKey), "ap-guangzhou", cpf)
}

var officialParams = map[string]interface{}{"SmsSdkAppId": app, "SerialNo": serial, "ConversionTime": 1700000000}

func officialSend(client *common.Client) {
	req := tchttp.NewCommonRequest("sms", "2021-01-11", "ReportConversion")
	must(req.SetActionParameters(officialParams))
	resp := tchttp.NewCommonResponse()
	must(client.Send(req, resp))
}

func officialPeer(port int) func() {
	client := officialClient(port)
	return func() { officialSend(client) }
}

// officialColdPeer: a new CommonClient per call. The SDK gives each client its own
// clone of http.DefaultTransport; the bench hands it that same clone itself
// (WithHttpTransport) only to close its idle connection after the call, as the end of
// a CLI process would, instead of leaving it open for 30 s.
func officialColdPeer(port int) func() {
	return func() {
		client := officialClient(port)
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.IdleConnTimeout = 30 * time.Second
		client.WithHttpTransport(transport)
		officialSend(client)
		transport.CloseIdleConnections()
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

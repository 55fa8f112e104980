// Command callbackreceiver is a minimal receiver for the callbacks Tencent
// Cloud SMS POSTs to your URL (delivery reports and replies), with net/http.
//
//	go run ./examples/callbackreceiver -listen 127.0.0.1:8080
//
// Each record is logged as one JSON line on stdout; the service gets exactly
// the acknowledgement it expects, {"result": 0, "errmsg": "OK"}, or
// {"result": 1, "errmsg": "<reason>"} (HTTP 400) for a bad body.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"

	tcsms "github.com/tcsms/tcsms/bindings/go"
)

// handler parses each POSTed body and hands the callback to onCallback.
func handler(onCallback func(*tcsms.Callback)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		// One byte over the limit is read, so ParseCallback reports an oversized body.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, tcsms.MaxCallbackBytes+1))
		var tooLarge *http.MaxBytesError
		if err != nil && !errors.As(err, &tooLarge) {
			answer(w, http.StatusBadRequest, tcsms.CallbackNack("reading body: "+err.Error()))
			return
		}
		cb, err := tcsms.ParseCallback(body)
		if err != nil {
			answer(w, http.StatusBadRequest, tcsms.CallbackNack(err.Error()))
			return
		}
		onCallback(cb)
		answer(w, http.StatusOK, []byte(tcsms.CallbackAck))
	})
}

func answer(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// printRecords writes each report or reply as one JSON line.
func printRecords(out io.Writer) func(*tcsms.Callback) {
	enc := json.NewEncoder(out)
	return func(cb *tcsms.Callback) {
		for _, r := range cb.Reports {
			_ = enc.Encode(r)
		}
		if cb.Reply != nil {
			_ = enc.Encode(cb.Reply)
		}
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	log.Fatal(http.Serve(ln, handler(printRecords(os.Stdout))))
}

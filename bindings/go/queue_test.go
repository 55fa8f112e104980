package tcsms

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestQueueManyGoroutinesEachGetTheirAnswer: 200 goroutines share one client;
// every answer carries the phone number its own request asked for. A second
// round reuses the first round's tags (and their channels), so no answer may
// reach a call of the round before.
func TestQueueManyGoroutinesEachGetTheirAnswer(t *testing.T) {
	cfg := demoConfig(needEmulator(t))
	cfg.CompletionQueue = true
	c := newTestClient(t, cfg)
	if c.queue == nil {
		t.Fatal("the client has no completion queue")
	}
	const n = 200
	for round := 0; round < 2; round++ {
		var wg sync.WaitGroup
		errs := make(chan error, n)
		// All start together, so that calls beyond GOMAXPROCS are in flight at once and go
		// through the queue even when a loaded machine starts goroutines slowly.
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				phone := fmt.Sprintf("+86135%04d%04d", round, i)
				resp, err := c.SendSms(bg(), &SendSmsRequest{
					PhoneNumberSet: []string{phone}, SmsSdkAppId: demoAppID, TemplateId: "2001",
					SignName: String("tcsms"), TemplateParamSet: []string{"1", "2"},
				})
				switch {
				case err != nil:
					errs <- fmt.Errorf("round %d call %d: %w", round, i, err)
				case len(resp.SendStatusSet) != 1 || resp.SendStatusSet[0].PhoneNumber != phone:
					errs <- fmt.Errorf("round %d call %d for %s got %+v", round, i, phone, resp.SendStatusSet)
				}
			}(i)
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if left := c.queue.pendingCalls(); left != 0 {
			t.Errorf("round %d: %d calls still waiting after every call returned", round, left)
		}
	}
	c.queue.mu.Lock()
	tags := len(c.queue.slots)
	c.queue.mu.Unlock()
	if tags == 0 || tags > n {
		t.Errorf("%d tags for 2 rounds of %d calls: the second round did not reuse the first's", tags, n)
	}
}

// TestQueueCallsDoNotBlockInCgo: while 8 calls wait for a slow server, count
// the goroutines sitting in a cgo call (each holding a P until the runtime
// takes it back) and those waiting on the completion queue. At GOMAXPROCS=1
// only one is in cgo, by default as with Config.CompletionQueue; before the
// queue, all 8 were goroutines in [syscall] in _Cfunc_tcsmsgo_*. With 2 Ps,
// the default makes blocking calls (cheaper there) and CompletionQueue still
// queues the calls beyond GOMAXPROCS.
func TestQueueCallsDoNotBlockInCgo(t *testing.T) {
	for _, tc := range []struct {
		procs         int
		queue         bool
		inCgo, queued int
	}{
		{1, false, 1, 7},
		{1, true, 1, 7},
		{2, false, 8, 0},
		{2, true, 2, 6},
	} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d,CompletionQueue=%v", tc.procs, tc.queue), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(tc.procs))
			cfg := demoConfig(needSlowEmulator(t))
			cfg.CompletionQueue = tc.queue
			c := newTestClient(t, cfg)
			var wg sync.WaitGroup
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx, cancel := context.WithTimeout(bg(), 1500*time.Millisecond)
					defer cancel()
					_, _ = c.ReportConversion(ctx, &ReportConversionRequest{SmsSdkAppId: demoAppID, SerialNo: "2433:1"})
				}()
			}
			time.Sleep(700 * time.Millisecond) // all 8 are on the wire (the server waits 5 s)
			buf := make([]byte, 1<<20)
			dump := string(buf[:runtime.Stack(buf, true)])
			inCgo, queued := 0, 0
			for _, g := range strings.Split(dump, "\n\n") {
				if strings.Contains(g, "_Cfunc_tcsmsgo_") && strings.Contains(g, "[syscall") {
					inCgo++
				}
				if strings.Contains(g, "(*asyncQueue).submit") {
					queued++
				}
			}
			if inCgo != tc.inCgo || queued != tc.queued {
				t.Errorf("%d goroutines blocked in cgo (want %d), %d waiting on the queue (want %d)\n%s",
					inCgo, tc.inCgo, queued, tc.queued, dump)
			}
			wg.Wait()
		})
	}
}

// TestQueueTimeLimitWhileQueued: more calls than worker threads against a server
// that never answers in time; every call still ends at its own deadline.
func TestQueueTimeLimitWhileQueued(t *testing.T) {
	c := newTestClient(t, demoConfig(needSlowEmulator(t)))
	const n = 100 // > the 64 worker threads
	var wg sync.WaitGroup
	start := time.Now()
	durations := make([]time.Duration, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(bg(), 400*time.Millisecond)
			defer cancel()
			_, err := c.ReportConversion(ctx, &ReportConversionRequest{SmsSdkAppId: demoAppID, SerialNo: "2433:1"})
			durations[i] = time.Since(start)
			if ae := apiError(t, err, StatusTimeout); ae.Code != CodeTimeout {
				t.Errorf("call %d: %+v", i, ae)
			}
		}(i)
	}
	wg.Wait()
	for i, d := range durations {
		if d > 2*time.Second {
			t.Errorf("call %d with a 400 ms deadline returned after %v", i, d)
		}
	}
}

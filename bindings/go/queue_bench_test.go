package tcsms

import (
	"syscall"
	"testing"
)

// BenchmarkQueueHandOver measures what the completion queue adds to a call: the
// submission, the hand-over to a worker thread and back, the take and the
// delivery to the waiting goroutine. The action is unknown, so the worker
// answers at once without touching the network. Run with -cpu 1 (8 goroutines
// per P); cpu-ns/op is the process's user+system CPU time per call.
func BenchmarkQueueHandOver(b *testing.B) {
	c, err := NewClientFromJSON(`{"secret_id":"AKIDbench000000000000000000000000000","secret_key":"benchsecretkey0000000000000000000","endpoint":"http://127.0.0.1:9","max_retries":0}`)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.queue = newAsyncQueue()
	if c.queue == nil {
		b.Fatal("no completion queue")
	}
	b.SetParallelism(8)
	c0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if st, _ := c.queue.submit(c.h, "NoSuchAction", "{}", 0); st != StatusInvalidArgument {
				b.Errorf("status %v", st)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
}

func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

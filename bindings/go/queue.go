package tcsms

// Calls go through the library's completion queue (tcsms_submit): a library
// worker thread makes the blocking call, and the goroutine that asked waits on a
// channel, so it holds no P (GOMAXPROCS slot) while the call is on the network.
// One reader goroutine per Client waits for the queue's file descriptor through
// the runtime's poller (os.NewFile on a dup of the non-blocking eventfd), takes
// the completions and hands each to the goroutine whose tag it carries.

/*
#include <stdint.h>
#include <stdlib.h>
#include "tcsms.h"
#include "tcsmsgo.h"

typedef struct {
	int32_t status;
	tcsms_queue *queue;
	char *json;
} tcsmsgo_queue_new_result;

static tcsmsgo_queue_new_result tcsmsgo_queue_new(const char *options) {
	tcsmsgo_queue_new_result r;
	r.queue = NULL;
	r.json = NULL;
	r.status = (int32_t)tcsms_queue_new(options, &r.queue, &r.json);
	return r;
}

static tcsmsgo_result tcsmsgo_submit(const tcsms_queue *q, const tcsms_client *client,
                                            const char *action, const char *request_json,
                                            uint64_t timeout_ms, uint64_t tag) {
	tcsmsgo_result r;
	r.json = NULL;
	r.status = (int32_t)tcsms_submit(q, client, action, request_json, timeout_ms, tag, &r.json);
	return r;
}

// The reader's batch: completions taken with one tcsms_queue_take call, in C
// memory allocated once per queue.
enum { TCSMSGO_BATCH = 64 };

typedef struct {
	uint64_t tags[TCSMSGO_BATCH];
	tcsms_status statuses[TCSMSGO_BATCH];
	char *jsons[TCSMSGO_BATCH];
} tcsmsgo_batch;

static tcsmsgo_batch *tcsmsgo_batch_new(void) { return (tcsmsgo_batch *)calloc(1, sizeof(tcsmsgo_batch)); }

static int tcsmsgo_queue_take(const tcsms_queue *q, tcsmsgo_batch *b) {
	return tcsms_queue_take(q, b->tags, b->statuses, b->jsons, TCSMSGO_BATCH);
}
*/
import "C"

import (
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"unsafe"
)

// queueOptions: worker threads start on demand (only while calls wait for one),
// so 64 costs nothing until that many calls need one at once (calls on kept-alive
// connections are written by the submitting goroutine and read by the queue's
// reader, without a worker); the count bounds the queued calls that open
// connections, wait or retry, which matters against a distant service (64
// workers at 50 ms a round trip: 1,280 such calls a second). Beyond the
// capacity, calls fall back to a blocking cgo call. sched_batch: a worker woken
// by a submission does not preempt the Go thread, which goes on running
// goroutines and submitting (fewer context switches; bench/README.md).
const queueOptions = `{"workers":64,"capacity":4096,"sched_batch":true}`

type asyncQueue struct {
	q     *C.tcsms_queue
	batch *C.tcsmsgo_batch // the reader's tcsms_queue_take arrays (C memory)
	file  *os.File         // a dup of the queue's fd, registered with the runtime poller
	done  chan struct{}

	// slots[tag] is the channel the call with that tag waits on; free holds the
	// tags not in use. A slot's channel (buffered, one result) is reused by the
	// next call that gets its tag, so a call allocates neither a channel nor a
	// map entry.
	mu     sync.Mutex
	slots  []chan nativeResult
	free   []uint64
	busy   int  // tags in use: calls submitted and not yet answered
	closed bool // close has begun: no more submissions
	broken bool // the reader stopped unexpectedly: calls block in cgo instead
}

// newAsyncQueue creates the queue and starts its reader; nil if that is not
// possible (calls then use blocking cgo calls, as before).
func newAsyncQueue() *asyncQueue {
	opts := C.CString(queueOptions)
	defer C.free(unsafe.Pointer(opts))
	r := C.tcsmsgo_queue_new(opts)
	takeString(r.json)
	if r.status != 0 || r.queue == nil {
		return nil
	}
	batch := C.tcsmsgo_batch_new()
	if batch == nil {
		C.tcsms_queue_free(r.queue)
		return nil
	}
	fd, err := syscall.Dup(int(C.tcsms_queue_fd(r.queue)))
	if err != nil {
		C.free(unsafe.Pointer(batch))
		C.tcsms_queue_free(r.queue)
		return nil
	}
	syscall.CloseOnExec(fd)
	a := &asyncQueue{
		q:     r.queue,
		batch: batch,
		file:  os.NewFile(uintptr(fd), "tcsms-queue"),
		done:  make(chan struct{}),
	}
	rc, err := a.file.SyscallConn()
	if err != nil {
		_ = a.file.Close()
		C.free(unsafe.Pointer(batch))
		C.tcsms_queue_free(r.queue)
		return nil
	}
	go a.read(rc)
	return a
}

// read delivers completions whenever the fd is readable, until the file is
// closed. The fd is never read here: tcsms_queue_take clears it when it finds
// the queue empty, and the runtime poller wakes this goroutine on the next
// completion.
func (a *asyncQueue) read(rc syscall.RawConn) {
	defer close(a.done)
	err := rc.Read(func(uintptr) bool {
		a.drain()
		return false // wait for the fd again
	})
	a.mu.Lock()
	closing := a.closed
	if !closing && err != nil {
		a.broken = true
	}
	a.mu.Unlock()
	if !closing {
		// Not closed by us: keep delivering by polling the queue until it is.
		a.drainBroken()
	}
}

// drain takes every waiting completion, a batch per cgo call, and hands each
// to its caller.
func (a *asyncQueue) drain() {
	b := a.batch
	for {
		n := int(C.tcsmsgo_queue_take(a.q, b))
		if n <= 0 {
			return
		}
		a.mu.Lock()
		slots := a.slots
		a.mu.Unlock()
		for i := 0; i < n; i++ {
			r := nativeResult{Status(b.statuses[i]), takeString(b.jsons[i])}
			if tag := uint64(b.tags[i]); tag < uint64(len(slots)) {
				slots[tag] <- r // buffered, and only its own call waits on it: never blocks
			}
		}
		if n < C.TCSMSGO_BATCH {
			return // the queue was found empty and its fd cleared
		}
	}
}

// drainBroken delivers the calls still pending after the reader failed.
func (a *asyncQueue) drainBroken() {
	for {
		a.mu.Lock()
		n := a.busy
		a.mu.Unlock()
		if n == 0 {
			return
		}
		a.drain()
		syscall.Select(0, nil, nil, nil, &syscall.Timeval{Usec: 1000})
	}
}

// mayQueue reports whether CallRaw's calls use the completion queue, procs
// being GOMAXPROCS: always with Config.CompletionQueue, else while procs is 1.
func (c *Client) mayQueue(procs int) bool {
	return c.forceQueue || procs == 1
}

// wouldQueue reports whether a call made now would go through the queue:
// the client queues and GOMAXPROCS calls are in progress already.
func (c *Client) wouldQueue() bool {
	procs := runtime.GOMAXPROCS(0)
	return c.mayQueue(procs) && c.inflight.Load() >= int64(procs)
}

// countCall counts a blocking call made outside callNative among the calls in
// progress (when the client queues), so that callNative queues the calls
// beyond GOMAXPROCS; the caller defers the function it returns.
func (c *Client) countCall() func() {
	if !c.mayQueue(runtime.GOMAXPROCS(0)) {
		return func() {}
	}
	c.inflight.Add(1)
	return func() { c.inflight.Add(-1) }
}

// callNative makes one call of CallRaw. While no more calls are in progress
// than GOMAXPROCS, or when the client does not queue (mayQueue), it is a
// blocking cgo call (the cheapest: one thread, no hand-over); beyond that it
// is submitted to the completion queue (created on first need) and the
// goroutine waits for its completion without holding a P. It also blocks in
// cgo when the queue is full, broken or could not be created.
func (c *Client) callNative(h nativeClient, action, requestJSON string, timeoutMS uint64) (Status, string) {
	// runtime.GOMAXPROCS takes the scheduler's lock: read it once per call.
	procs := runtime.GOMAXPROCS(0)
	if !c.mayQueue(procs) {
		return nativeCall(h, action, requestJSON, timeoutMS)
	}
	n := c.inflight.Add(1)
	defer c.inflight.Add(-1)
	if n <= int64(procs) {
		return nativeCall(h, action, requestJSON, timeoutMS)
	}
	c.queueOnce.Do(func() { c.queue = newAsyncQueue() })
	if c.queue == nil {
		return nativeCall(h, action, requestJSON, timeoutMS)
	}
	return c.queue.submit(h, action, requestJSON, timeoutMS)
}

// submit makes one call through the completion queue.
func (a *asyncQueue) submit(h nativeClient, action, requestJSON string, timeoutMS uint64) (Status, string) {
	a.mu.Lock()
	if a.broken || a.closed {
		a.mu.Unlock()
		return nativeCall(h, action, requestJSON, timeoutMS)
	}
	var tag uint64
	if k := len(a.free); k > 0 {
		tag = a.free[k-1]
		a.free = a.free[:k-1]
	} else {
		tag = uint64(len(a.slots))
		a.slots = append(a.slots, make(chan nativeResult, 1))
	}
	ch := a.slots[tag]
	a.busy++
	a.mu.Unlock()

	// Both strings NUL-terminated in one C buffer (one malloc and free instead
	// of a C.CString each; still no Go pointer passed to C).
	size := len(action) + len(requestJSON) + 2
	p := C.malloc(C.size_t(size))
	if p == nil {
		a.release(tag)
		return nativeCall(h, action, requestJSON, timeoutMS)
	}
	buf := unsafe.Slice((*byte)(p), size)
	copy(buf, action)
	buf[len(action)] = 0
	copy(buf[len(action)+1:], requestJSON)
	buf[size-1] = 0
	ca := (*C.char)(p)
	cr := (*C.char)(unsafe.Pointer(&buf[len(action)+1]))
	r := C.tcsmsgo_submit(a.q, h, ca, cr, C.uint64_t(timeoutMS), C.uint64_t(tag))
	C.free(p)
	var res nativeResult
	if r.status != 0 {
		res = nativeResult{Status(r.status), takeString(r.json)}
	} else {
		res = <-ch
	}
	a.release(tag)
	if r.status != 0 && res.st == StatusInvalidArgument && strings.Contains(res.body, CodeQueueFull) {
		return nativeCall(h, action, requestJSON, timeoutMS)
	}
	return res.st, res.body
}

// release returns a tag whose call has been answered (or was never queued).
func (a *asyncQueue) release(tag uint64) {
	a.mu.Lock()
	a.free = append(a.free, tag)
	a.busy--
	a.mu.Unlock()
}

// pendingCalls is the number of calls waiting for their completion (for tests).
func (a *asyncQueue) pendingCalls() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.busy
}

// close stops the reader and frees the queue. The caller guarantees that no
// call is pending (Client.Close holds the write lock; the finalizer runs only
// when no call references the Client).
func (a *asyncQueue) close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	_ = a.file.Close()
	<-a.done
	C.tcsms_queue_free(a.q)
	C.free(unsafe.Pointer(a.batch))
}

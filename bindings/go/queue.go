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

typedef struct {
	int32_t status;
	char *json;
} tcsmsgo_submit_result;

static tcsmsgo_submit_result tcsmsgo_submit(const tcsms_queue *q, const tcsms_client *client,
                                            const char *action, const char *request_json,
                                            uint64_t timeout_ms, uint64_t tag) {
	tcsmsgo_submit_result r;
	r.json = NULL;
	r.status = (int32_t)tcsms_submit(q, client, action, request_json, timeout_ms, tag, &r.json);
	return r;
}

typedef struct {
	int32_t got;
	int32_t status;
	uint64_t tag;
	char *json;
} tcsmsgo_completion;

static tcsmsgo_completion tcsmsgo_queue_next(const tcsms_queue *q) {
	tcsmsgo_completion c;
	c.json = NULL;
	c.got = (int32_t)tcsms_queue_next(q, &c.tag, &c.status, &c.json);
	return c;
}
*/
import "C"

import (
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// queueOptions: worker threads start on demand (only while calls wait for one),
// so 64 costs nothing until that many calls are on the network at once; the
// count bounds a client's queued calls in flight, which matters against a
// distant service (64 workers at 50 ms a round trip: 1,280 calls/s). Beyond the
// capacity, calls fall back to a blocking cgo call.
const queueOptions = `{"workers":64,"capacity":4096}`

type asyncQueue struct {
	q    *C.tcsms_queue
	file *os.File // a dup of the queue's fd, registered with the runtime poller
	done chan struct{}

	// inflight counts the calls of this client in progress (both paths).
	inflight atomic.Int64

	mu      sync.Mutex
	waiters map[uint64]chan nativeResult
	nextTag uint64
	broken  bool // the reader stopped unexpectedly: calls block in cgo instead
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
	fd, err := syscall.Dup(int(C.tcsms_queue_fd(r.queue)))
	if err != nil {
		C.tcsms_queue_free(r.queue)
		return nil
	}
	syscall.CloseOnExec(fd)
	a := &asyncQueue{
		q:       r.queue,
		file:    os.NewFile(uintptr(fd), "tcsms-queue"),
		done:    make(chan struct{}),
		waiters: make(map[uint64]chan nativeResult),
	}
	rc, err := a.file.SyscallConn()
	if err != nil {
		_ = a.file.Close()
		C.tcsms_queue_free(r.queue)
		return nil
	}
	go a.read(rc)
	return a
}

// read delivers completions whenever the fd is readable, until the file is
// closed. The fd is never read here: tcsms_queue_next clears it when it finds
// the queue empty, and the runtime poller wakes this goroutine on the next
// completion.
func (a *asyncQueue) read(rc syscall.RawConn) {
	defer close(a.done)
	err := rc.Read(func(uintptr) bool {
		a.drain()
		return false // wait for the fd again
	})
	a.mu.Lock()
	closing := a.waiters == nil
	if !closing && err != nil {
		a.broken = true
	}
	a.mu.Unlock()
	if !closing {
		// Not closed by us: keep delivering by polling the queue until it is.
		a.drainBroken()
	}
}

// drain takes every waiting completion and hands it to its caller.
func (a *asyncQueue) drain() {
	for {
		c := C.tcsmsgo_queue_next(a.q)
		if c.got != 1 {
			return
		}
		r := nativeResult{Status(c.status), takeString(c.json)}
		a.mu.Lock()
		ch := a.waiters[uint64(c.tag)]
		delete(a.waiters, uint64(c.tag))
		a.mu.Unlock()
		if ch != nil {
			ch <- r // buffered: never blocks
		}
	}
}

// drainBroken delivers the calls still pending after the reader failed.
func (a *asyncQueue) drainBroken() {
	for {
		a.mu.Lock()
		n := len(a.waiters)
		a.mu.Unlock()
		if n == 0 {
			return
		}
		a.drain()
		syscall.Select(0, nil, nil, nil, &syscall.Timeval{Usec: 1000})
	}
}

// call makes one call. While no more calls are in progress than GOMAXPROCS, it
// is a blocking cgo call (the cheapest: one thread, no hand-over); beyond that
// it is submitted to the queue and the goroutine waits for its completion
// without holding a P. It also blocks in cgo when the queue is full or broken.
func (a *asyncQueue) call(h nativeClient, action, requestJSON string, timeoutMS uint64) (Status, string) {
	n := a.inflight.Add(1)
	defer a.inflight.Add(-1)
	if n <= int64(runtime.GOMAXPROCS(0)) {
		return nativeCall(h, action, requestJSON, timeoutMS)
	}
	return a.submit(h, action, requestJSON, timeoutMS)
}

// submit makes one call through the completion queue.
func (a *asyncQueue) submit(h nativeClient, action, requestJSON string, timeoutMS uint64) (Status, string) {
	ch := make(chan nativeResult, 1)
	a.mu.Lock()
	if a.broken || a.waiters == nil {
		a.mu.Unlock()
		return nativeCall(h, action, requestJSON, timeoutMS)
	}
	tag := a.nextTag
	a.nextTag++
	a.waiters[tag] = ch
	a.mu.Unlock()

	ca := C.CString(action)
	cr := C.CString(requestJSON)
	r := C.tcsmsgo_submit(a.q, h, ca, cr, C.uint64_t(timeoutMS), C.uint64_t(tag))
	C.free(unsafe.Pointer(ca))
	C.free(unsafe.Pointer(cr))
	if r.status != 0 {
		body := takeString(r.json)
		a.mu.Lock()
		delete(a.waiters, tag)
		a.mu.Unlock()
		if Status(r.status) == StatusInvalidArgument && strings.Contains(body, CodeQueueFull) {
			return nativeCall(h, action, requestJSON, timeoutMS)
		}
		return Status(r.status), body
	}
	res := <-ch
	return res.st, res.body
}

// close stops the reader and frees the queue. The caller guarantees that no
// call is pending (Client.Close holds the write lock; the finalizer runs only
// when no call references the Client).
func (a *asyncQueue) close() {
	a.mu.Lock()
	a.waiters = nil
	a.mu.Unlock()
	_ = a.file.Close()
	<-a.done
	C.tcsms_queue_free(a.q)
}

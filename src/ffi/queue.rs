//! The C ABI of the completion queue (`crate::completion`): asynchronous calls whose
//! completion an event loop waits for on a file descriptor. Same skeleton as the
//! blocking functions in `call.rs`.

use super::boundary::{boundary, str_arg, FfiError};
use super::client::tcsms_client;
use super::status::{tcsms_status, TCSMS_STATUS_NULL_ARGUMENT, TCSMS_STATUS_OK};
use crate::completion::{CompletionQueue, Failure, QueueOptions};
use std::ffi::{c_char, c_int};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

/// A completion queue for asynchronous calls. Opaque: create with `tcsms_queue_new`,
/// destroy with `tcsms_queue_free`.
///
/// A call is submitted with `tcsms_submit` and a caller-chosen 64-bit `tag`, and
/// returns without waiting for the network. On Linux, when the client has a rested
/// pooled connection, `tcsms_submit` signs the request and writes it there, and the
/// thread that calls `tcsms_queue_next`/`tcsms_queue_take` reads and judges the answer
/// when it has arrived (no thread switch); otherwise one of the queue's worker threads
/// makes the call (opening a connection, waiting for a rate-limit slot, retries, a
/// client with an event callback). Either way the outcome is what
/// `tcsms_call_with_timeout` would return. `tcsms_queue_fd` is readable while there is
/// something to take: finished calls, or answers that arrived; `tcsms_queue_next`
/// takes them one at a time with their tag, status and answer, `tcsms_queue_take` many
/// at once (a wake-up may also yield none: an answer still arriving in pieces).
///
/// With epoll: add `tcsms_queue_fd(q)` with EPOLLIN (level- or edge-triggered); on
/// each wake-up call `tcsms_queue_next` until it returns 0. With libuv:
/// `uv_poll_init(loop, &poll, tcsms_queue_fd(q))` and `uv_poll_start(&poll,
/// UV_READABLE, cb)`, the callback draining `tcsms_queue_next` the same way; stop
/// the poll handle before `tcsms_queue_free`. `tcsms_queue_next` clears the fd when
/// it returns 0, so a level-triggered loop does not spin; reading the fd yourself is
/// allowed but not needed.
pub struct tcsms_queue {
    inner: CompletionQueue,
}

/// Creates a completion queue.
///
/// `options_json` is NULL, "" or a JSON object with the optional keys `workers`
/// (threads that make calls, 1-256, default 4; they start on demand and stay until
/// the queue is freed), `capacity` (calls pending at once, submitted and not yet
/// taken with `tcsms_queue_next`, 1-1048576, default 1024) and `sched_batch` (true:
/// the workers run under SCHED_BATCH on Linux, so a worker woken for a call does not
/// preempt the thread that submitted it: fewer context switches on a busy core, up
/// to a scheduler slice of latency before a call starts while the core is busy;
/// default false). Unknown keys are refused.
///
/// Ownership: `options_json` is borrowed for the call only. On success `*out_queue`
/// is a new queue owned by the caller (free it with `tcsms_queue_free`) and
/// `*out_json` is NULL; on failure `*out_queue` is NULL and `*out_json` an error
/// envelope (free it with `tcsms_free`).
///
/// Thread safety: may be called from any thread.
///
/// Errors: TCSMS_STATUS_NULL_ARGUMENT, TCSMS_STATUS_INVALID_UTF8,
/// TCSMS_STATUS_INVALID_JSON, TCSMS_STATUS_INVALID_CONFIG.
///
/// # Safety
/// Pointers are NULL or valid as described.
#[no_mangle]
pub unsafe extern "C" fn tcsms_queue_new(
    options_json: *const c_char,
    out_queue: *mut *mut tcsms_queue,
    out_json: *mut *mut c_char,
) -> tcsms_status {
    if !out_queue.is_null() {
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *out_queue = ptr::null_mut() };
    }
    // SAFETY: `out_json` per the contract; the closure only touches checked pointers.
    unsafe {
        boundary(out_json, || {
            if out_queue.is_null() {
                return Err(FfiError::null_argument("out_queue"));
            }
            let options = if options_json.is_null() { "" } else { str_arg(options_json, "options_json")? };
            let queue = CompletionQueue::new(QueueOptions::from_json(options)?)?;
            *out_queue = Box::into_raw(Box::new(tcsms_queue { inner: queue }));
            Ok(None)
        })
    }
}

/// The queue's file descriptor (on Linux an epoll set, which any loop can poll): readable
/// while finished calls wait to be taken with `tcsms_queue_next`, or answers have arrived
/// that it reads. -1 if `queue` is NULL.
///
/// Ownership: the descriptor belongs to the queue and is closed by `tcsms_queue_free`;
/// never close it yourself (remove it from your event loop before freeing the queue).
///
/// Thread safety: any thread.
///
/// # Safety
/// `queue` is NULL or a live handle from `tcsms_queue_new`.
#[no_mangle]
pub unsafe extern "C" fn tcsms_queue_fd(queue: *const tcsms_queue) -> c_int {
    // SAFETY: NULL or live per the contract.
    unsafe { queue.as_ref() }.map_or(-1, |q| q.inner.fd())
}

/// Submits a call of `action` with `request_json` on `client` (as
/// `tcsms_call_with_timeout`) and returns without waiting for the network (it may sign
/// and write the request on a pooled connection first); its completion is taken later with
/// `tcsms_queue_next`, which hands back `tag` unchanged (use it to match answers to
/// requests; tcsms does not look at it).
///
/// `timeout_ms` > 0 limits the call to min(`timeout_ms`, the client's `timeout_ms`)
/// milliseconds, 0 to the client's `timeout_ms`, counted from this submission: time
/// spent waiting for a free worker counts, and a call whose limit passes before a
/// worker takes it completes with TCSMS_STATUS_TIMEOUT without being sent.
///
/// Returns TCSMS_STATUS_OK when the call was queued (`*out_json` is NULL); then
/// exactly one completion with this tag will follow. Otherwise nothing was queued and
/// `*out_json` is an error envelope: TCSMS_STATUS_NULL_ARGUMENT,
/// TCSMS_STATUS_INVALID_UTF8, or TCSMS_STATUS_INVALID_ARGUMENT with code
/// `ClientError.QueueFull` when `capacity` calls are pending already (take some
/// completions, then submit again). A bad action or JSON is reported by the call's
/// completion, as `tcsms_call` reports it.
///
/// Ownership: strings are copied; the queue keeps its own reference to the client, so
/// `tcsms_client_free` may be called while calls submitted on it are pending: they
/// still run and complete, and the client's connections close when the last of them
/// ends.
///
/// Thread safety: any number of threads may submit on the same queue and client.
///
/// # Safety
/// Pointers are NULL or valid as described; `queue` and `client` are live handles.
#[no_mangle]
pub unsafe extern "C" fn tcsms_submit(
    queue: *const tcsms_queue,
    client: *const tcsms_client,
    action: *const c_char,
    request_json: *const c_char,
    timeout_ms: u64,
    tag: u64,
    out_json: *mut *mut c_char,
) -> tcsms_status {
    // SAFETY: pointers per the contract.
    unsafe {
        boundary(out_json, || {
            let queue = queue.as_ref().ok_or_else(|| FfiError::null_argument("queue"))?;
            let client = client.as_ref().ok_or_else(|| FfiError::null_argument("client"))?;
            let shared = Arc::clone(&client.inner);
            let action = str_arg(action, "action")?;
            let request = str_arg(request_json, "request_json")?;
            let timeout = (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms));
            queue.inner.submit(shared, action, request, timeout, tag)?;
            Ok(None)
        })
    }
}

/// Takes one finished call: returns 1 and sets `*out_tag` to its tag, `*out_status`
/// to its status and `*out_json` to its answer (as `tcsms_call` would have), or
/// returns 0 when no call has finished (the out-parameters are then 0, OK and NULL,
/// and the queue's fd is cleared until the next completion). Returns -1 if an
/// argument is NULL. Completions come in the order the calls finished.
/// `tcsms_queue_take` takes many in one call.
///
/// Ownership: `*out_json` is owned by the caller (free it with `tcsms_free`).
///
/// Thread safety: any thread; several threads may take completions from one queue.
///
/// # Safety
/// `queue` is NULL or a live handle; the out-pointers are NULL or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn tcsms_queue_next(
    queue: *const tcsms_queue,
    out_tag: *mut u64,
    out_status: *mut tcsms_status,
    out_json: *mut *mut c_char,
) -> c_int {
    // SAFETY: each out-pointer is NULL (refused there) or valid for one write.
    unsafe { tcsms_queue_take(queue, out_tag, out_status, out_json, 1) }
}

/// Takes up to `max` finished calls at once (the batch form of `tcsms_queue_next`):
/// fills `out_tags[i]`, `out_statuses[i]` and `out_jsons[i]` for i from 0 to the
/// returned count - 1, in the order the calls finished, and returns that count
/// (0 to `max`). Entries from the count to `max` - 1 are set to 0, OK and NULL.
/// When it returns less than `max`, the queue was found empty and its fd is cleared
/// until the next completion (so an event loop that took fewer than `max` need not
/// call again before the fd is readable). Returns -1 if `queue` or an array is NULL
/// or `max` is 0 (nothing is taken).
///
/// With epoll or libuv, call it on each wake-up until it returns less than `max`.
///
/// Ownership: the arrays belong to the caller and are only written to during the
/// call; each `out_jsons[i]` returned is owned by the caller (free it with
/// `tcsms_free`).
///
/// Thread safety: any thread; several threads may take completions from one queue
/// (each completion is taken once).
///
/// # Safety
/// `queue` is NULL or a live handle; each array is NULL or valid for `max` writes.
#[no_mangle]
pub unsafe extern "C" fn tcsms_queue_take(
    queue: *const tcsms_queue,
    out_tags: *mut u64,
    out_statuses: *mut tcsms_status,
    out_jsons: *mut *mut c_char,
    max: usize,
) -> c_int {
    if out_tags.is_null() || out_statuses.is_null() || out_jsons.is_null() || max == 0 {
        return -1;
    }
    let max = max.min(c_int::MAX as usize);
    // Sets the entries from `from` to `max` - 1 to 0, `status` and NULL.
    let clear = |from: usize, status: tcsms_status| {
        if from >= max {
            return;
        }
        let n = max - from;
        // 0, OK (0) and NULL are all-zero bytes: three memsets instead of a loop.
        // SAFETY: entries from..max are valid for writes per the contract.
        unsafe {
            ptr::write_bytes(out_tags.add(from), 0, n);
            ptr::write_bytes(out_jsons.add(from), 0, n);
            if status == TCSMS_STATUS_OK {
                ptr::write_bytes(out_statuses.add(from), 0, n);
            } else {
                for i in from..max {
                    *out_statuses.add(i) = status;
                }
            }
        }
    };
    // SAFETY: NULL or live per the contract.
    let Some(queue) = (unsafe { queue.as_ref() }) else {
        clear(0, TCSMS_STATUS_NULL_ARGUMENT);
        return -1;
    };
    let mut at = 0;
    // A panic (a bug) ends the take; what was handed over before it is returned.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        queue.inner.take(max, |done| {
            let result = done.result.map(Some).map_err(|failure| match failure {
                Failure::Error(error) => FfiError::from(error),
                Failure::Panic(what) => FfiError::panic(&what),
            });
            // SAFETY: at < max (take hands over at most `max`); the closure returns
            // the call's own outcome.
            unsafe {
                *out_statuses.add(at) = boundary(out_jsons.add(at), || result);
                *out_tags.add(at) = done.tag;
            }
            at += 1;
        })
    }));
    clear(at, TCSMS_STATUS_OK);
    at as c_int
}

/// Destroys a queue. NULL is a no-op.
///
/// Pending calls: calls no worker has started are dropped (never sent, no completion);
/// calls written on a pooled connection whose answers were not read yet have their
/// connections closed (the service may have acted on them); calls already running on a
/// worker are waited for, each bounded by its time limit; completions not yet taken are
/// freed. Then the workers end and the fd is closed. The clients
/// the calls used are unaffected (and may have been freed already).
///
/// Ownership: takes back the queue; the handle must not be used afterwards.
///
/// Thread safety: must not race with other calls on the same queue.
///
/// # Safety
/// `queue` is NULL or a live handle from `tcsms_queue_new`.
#[no_mangle]
pub unsafe extern "C" fn tcsms_queue_free(queue: *mut tcsms_queue) {
    if queue.is_null() {
        return;
    }
    // SAFETY: a live handle from Box::into_raw, freed once per the contract.
    let queue = unsafe { Box::from_raw(queue) };
    let _ = catch_unwind(AssertUnwindSafe(move || drop(queue)));
}

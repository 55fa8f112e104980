//! Asynchronous calls: a completion queue over the synchronous client.
//!
//! A call is submitted with a caller-chosen tag and returns at once; its result is
//! queued when it ends. A file descriptor is readable while there is something for the
//! taker to do (results to collect, answers to read), so an event loop (epoll, libuv,
//! Go's poller, asyncio) waits for it instead of a blocked thread; the caller then
//! takes the results with [`CompletionQueue::next`] (or many at once with
//! [`CompletionQueue::take`]), each with its tag.
//!
//! # The event loop, and the workers
//!
//! On Linux the descriptor is an epoll set, and a call goes one of two ways:
//!
//! - **The event loop** (curl-multi style, no thread of its own): when the client has a
//!   rested pooled connection and nothing to wait for (no rate-limit slot to wait for,
//!   no event callback, no role keys, no shared limiter), `submit` signs the request and
//!   writes it on that connection, and the connection's socket joins the set
//!   (`EPOLLONESHOT`, re-armed with one `epoll_ctl` per call). When the answer arrives,
//!   the thread that takes completions reads what arrived without waiting, and once the
//!   answer is whole judges it with the blocking call's own code
//!   ([`Client::poll`](crate::client::Client)); the completion is handed out in the same
//!   take. A timer in the set fires at the nearest deadline, so a call whose answer never
//!   comes still ends by its time limit.
//! - **A worker thread**, which makes the call with [`Client::call_with_timeout`] (the
//!   same core as a blocking call), for everything that must wait: opening a connection,
//!   a rate-limit wait, a credential refresh, a callback's events, a retry's pause, and
//!   an answer the loop cannot finish without waiting (a chunked body, one larger than
//!   the connection's buffer, a closed or failed connection, a passed deadline), which a
//!   worker reads on from where the loop stopped.
//!
//! Either way a call's outcome, retries and events are a blocking call's. Elsewhere than
//! on Linux the descriptor is a pipe and every call goes to a worker.
//!
//! Bounds: at most `capacity` calls are pending (submitted and not yet collected);
//! beyond that `submit` fails with `ClientError.QueueFull`. At most `workers` threads
//! run calls; they start on demand and stay until the queue is dropped; a worker
//! whose call ends takes the next queued call, if any, without sleeping. Every call
//! ends by its deadline, counted from submission: time spent waiting for a worker
//! counts, and a call whose deadline passed before a worker took it ends with
//! `ClientError.Timeout` without being sent.
//!
//! Dropping the queue drops the calls no worker has started (never sent), closes the
//! connections of calls the loop sent whose answers were not read (the service may have
//! acted on them; nobody would collect their results), waits for the running ones (each
//! bounded by its deadline) and frees the results nobody collected. A client may be
//! released while its calls are pending: the queue holds it (an `Arc`) until its last
//! call ends.
//!
//! A queue belongs to the process that made it. After `fork()` the child's copy has no
//! worker threads and shares its descriptor with the parent's: in the child, `submit`
//! fails with a clear error (make a new queue there), `fd` is -1, `next` and `take`
//! find nothing and never touch the shared descriptor (whose readiness belongs to the
//! parent), and dropping the copy closes only the child's descriptors, joins no thread
//! and takes no lock a parent thread may have held at the fork.

use crate::client::{Begun, Client, Parked, Pending, Polled};
use crate::error::{codes, panic_text, Error, ErrorKind};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[cfg(target_os = "linux")]
mod epoll;
/// Elsewhere there is no event loop: every call goes to the workers.
#[cfg(not(target_os = "linux"))]
mod epoll {
    pub(super) const SIGNAL: u64 = u64::MAX;
    pub(super) const TIMER: u64 = u64::MAX - 1;
    pub(super) const EVENTS: usize = 64;

    pub(super) enum Poller {}

    impl Poller {
        pub(super) fn new(_signal: i32) -> std::io::Result<Poller> {
            Err(std::io::ErrorKind::Unsupported.into())
        }
        pub(super) fn fd(&self) -> i32 {
            match *self {}
        }
        pub(super) fn watch(&self, _fd: i32, _token: u64) -> std::io::Result<()> {
            match *self {}
        }
        pub(super) fn ready(&self, _each: impl FnMut(u64)) -> usize {
            match *self {}
        }
        pub(super) fn arm(&self, _after: std::time::Duration) {
            match *self {}
        }
        pub(super) fn clear_timer(&self) {
            match *self {}
        }
        pub(super) fn close(&self) {
            match *self {}
        }
    }
}
use epoll::Poller;

/// The most sets of ready events one take handles (each up to 64).
const TURN_ROUNDS: usize = 16;
/// The default number of worker threads.
pub const DEFAULT_WORKERS: usize = 4;
/// The most worker threads a queue may have.
pub const MAX_WORKERS: usize = 256;
/// The default number of pending calls.
pub const DEFAULT_CAPACITY: usize = 1024;
/// The most pending calls a queue may hold.
pub const MAX_CAPACITY: usize = 1 << 20;

/// The options of a queue: `{"workers":N,"capacity":M,"sched_batch":B}`, all optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueOptions {
    /// Worker threads, 1..=256 (default 4).
    pub workers: usize,
    /// Calls pending at once, submitted and not yet collected, 1..=1048576 (default 1024).
    pub capacity: usize,
    /// Run the workers under the `SCHED_BATCH` policy (Linux; elsewhere ignored;
    /// default false): a worker woken for a call does not preempt the running thread
    /// (the one that submitted it), so on a busy core the calls are handed over in
    /// batches with fewer context switches, at the cost of up to a scheduler slice
    /// of latency before a call starts while the core is busy.
    pub sched_batch: bool,
}

impl Default for QueueOptions {
    fn default() -> QueueOptions {
        QueueOptions { workers: DEFAULT_WORKERS, capacity: DEFAULT_CAPACITY, sched_batch: false }
    }
}

impl QueueOptions {
    /// Parses `{"workers":N,"capacity":M,"sched_batch":B}`; an empty string means the
    /// defaults.
    pub fn from_json(json: &str) -> Result<QueueOptions, Error> {
        let mut options = QueueOptions::default();
        if json.trim().is_empty() {
            return Ok(options);
        }
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
            Error::local(ErrorKind::InvalidJson, codes::INVALID_JSON, format!("queue options are not valid JSON: {e}"))
        })?;
        let Some(object) = value.as_object() else {
            return Err(Error::local(
                ErrorKind::InvalidJson,
                codes::INVALID_JSON,
                "queue options must be a JSON object",
            ));
        };
        for (key, value) in object {
            let (slot, max) = match key.as_str() {
                "workers" => (&mut options.workers, MAX_WORKERS),
                "capacity" => (&mut options.capacity, MAX_CAPACITY),
                "sched_batch" => {
                    options.sched_batch = value
                        .as_bool()
                        .ok_or_else(|| Error::invalid_config("queue option `sched_batch` must be true or false"))?;
                    continue;
                }
                _ => {
                    return Err(Error::invalid_config(format!(
                        "unknown queue option `{key}` (known: workers, capacity, sched_batch)"
                    )))
                }
            };
            match value.as_u64() {
                Some(n) if n >= 1 && n <= max as u64 => *slot = n as usize,
                _ => {
                    return Err(Error::invalid_config(format!(
                        "queue option `{key}` must be an integer from 1 to {max}"
                    )))
                }
            }
        }
        Ok(options)
    }
}

/// A finished call: the tag given to [`CompletionQueue::submit`] and the outcome.
#[derive(Debug)]
pub struct Completion {
    pub tag: u64,
    pub result: Result<String, Failure>,
}

/// Why a queued call failed.
#[derive(Debug)]
pub enum Failure {
    /// The call's error, as [`Client::call_with_timeout`] would have returned it.
    Error(Error),
    /// A bug in tcsms panicked in the worker; the text of the panic (the C ABI reports
    /// it as `ClientError.Panic`).
    Panic(String),
}

impl Failure {
    /// The call's error; None for a panic.
    pub fn error(&self) -> Option<&Error> {
        match self {
            Failure::Error(error) => Some(error),
            Failure::Panic(_) => None,
        }
    }
}

struct Job {
    client: Arc<Client>,
    /// The action followed by the request JSON (one allocation for both).
    text: String,
    /// Where the action ends in `text`.
    split: usize,
    deadline: Instant,
    tag: u64,
    /// What the worker does.
    step: Step,
}

/// A worker's part of a call.
enum Step {
    /// The whole call, as a blocking call makes it.
    Call,
    /// Read the rest of an answer the event loop could not read without waiting, then
    /// go on as a blocking call would.
    Finish(Box<Pending>),
    /// Go on with a call between attempts (after a retry's pause).
    Resume(Box<Parked>),
}

/// A call sent by the event loop whose answer has not been read.
struct InFlight {
    job: Job,
    pending: Box<Pending>,
}

/// The calls the event loop waits for, by token (their slot and its generation, so a
/// stale event never reaches a later call in the same slot).
#[derive(Default)]
struct Flight {
    slots: Vec<(u32, Option<InFlight>)>,
    free: Vec<u32>,
    /// When the deadline timer fires (None: disarmed).
    armed: Option<Instant>,
}

impl Flight {
    fn insert(&mut self, call: InFlight) -> u64 {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push((0, None));
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.0 = slot.0.wrapping_add(1);
        slot.1 = Some(call);
        u64::from(slot.0) << 32 | u64::from(index)
    }

    fn remove(&mut self, token: u64) -> Option<InFlight> {
        let index = (token & u64::from(u32::MAX)) as u32;
        let slot = self.slots.get_mut(index as usize)?;
        if u64::from(slot.0) != token >> 32 || slot.1.is_none() {
            return None;
        }
        self.free.push(index);
        slot.1.take()
    }

    /// Takes out the calls whose deadline has passed at `now`.
    fn expired(&mut self, now: Instant) -> Vec<InFlight> {
        let mut expired = Vec::new();
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if slot.1.as_ref().is_some_and(|call| call.pending.deadline() <= now) {
                expired.extend(slot.1.take());
                self.free.push(index as u32);
            }
        }
        expired
    }

    fn earliest(&self) -> Option<Instant> {
        self.slots.iter().filter_map(|slot| slot.1.as_ref().map(|call| call.pending.deadline())).min()
    }

    fn take_all(&mut self) -> Vec<InFlight> {
        self.free.clear();
        self.slots.drain(..).filter_map(|slot| slot.1).collect()
    }
}

/// The calls waiting for a worker, the finished calls and the workers: one lock,
/// taken by submitters, by takers (once per batch) and by a worker between calls (once
/// to queue its completion and take the next call).
#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    done: VecDeque<Completion>,
    workers: usize,
    idle: usize,
    /// Workers waiting on the condition variable (notified only when there are some).
    sleeping: usize,
    closing: bool,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
    /// Submitted and not yet collected (queued, running or done).
    pending: AtomicUsize,
    /// The fd has been made readable and not cleared since.
    signalled: AtomicBool,
    signal: Signal,
    /// The event loop's set (Linux): None when it could not be made; calls then all go
    /// to the workers, and the fd is `signal`'s.
    poller: Option<Poller>,
    flight: Mutex<Flight>,
    options: QueueOptions,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes the fd readable unless it is already.
    fn raise(&self) {
        if !self.signalled.swap(true, Ordering::AcqRel) {
            self.signal.raise();
        }
    }
}

/// A completion queue; see the module documentation. `Send + Sync`.
pub struct CompletionQueue {
    /// The process that made the queue (see the module documentation on `fork()`).
    pid: u32,
    shared: Arc<Shared>,
    /// The batch being handed out by `take` (one taker at a time); kept between takes
    /// so that its buffer is reused.
    taking: Mutex<VecDeque<Completion>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for CompletionQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompletionQueue").field("options", &self.shared.options).finish_non_exhaustive()
    }
}

impl CompletionQueue {
    /// Creates a queue and its file descriptor; no thread starts before the first call.
    pub fn new(options: QueueOptions) -> Result<CompletionQueue, Error> {
        let signal = Signal::new().map_err(|e| {
            Error::local(
                ErrorKind::InvalidConfig,
                codes::INVALID_CONFIG,
                format!("cannot create the queue's file descriptor: {e}"),
            )
        })?;
        let poller = Poller::new(signal.fd()).ok();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            pending: AtomicUsize::new(0),
            signalled: AtomicBool::new(false),
            signal,
            poller,
            flight: Mutex::new(Flight::default()),
            options,
        });
        Ok(CompletionQueue {
            pid: crate::process::id(),
            shared,
            taking: Mutex::new(VecDeque::new()),
            threads: Mutex::new(Vec::new()),
        })
    }

    /// Whether this is a copy of the queue inherited across `fork()`.
    fn forked(&self) -> bool {
        crate::process::id() != self.pid
    }

    pub fn options(&self) -> QueueOptions {
        self.shared.options
    }

    /// The descriptor that is readable while completions wait in the queue. It stays
    /// owned by the queue: poll it, never close it. Reading it is allowed but not
    /// needed: [`CompletionQueue::next`] clears it when it finds the queue empty.
    pub fn fd(&self) -> i32 {
        if self.forked() {
            return -1;
        }
        match &self.shared.poller {
            Some(poller) => poller.fd(),
            None => self.shared.signal.fd(),
        }
    }

    /// Queues a call of `action` with `request_json` on `client`. `timeout`, when
    /// given, caps the call at min(timeout, the client's `timeout_ms`), counted from
    /// now. The action and the JSON are checked by the worker; their errors come back
    /// as the call's completion. Fails only when the queue is full.
    pub fn submit(
        &self,
        client: Arc<Client>,
        action: &str,
        request_json: &str,
        timeout: Option<Duration>,
        tag: u64,
    ) -> Result<(), Error> {
        if self.forked() {
            return Err(Error::local(
                ErrorKind::InvalidArgument,
                codes::INVALID_ARGUMENT,
                "this completion queue was made in the parent process, before fork(): its worker threads and its \
                 file descriptor belong to the parent; make a new queue in this process",
            ));
        }
        let capacity = self.shared.options.capacity;
        if self.shared.pending.fetch_add(1, Ordering::AcqRel) >= capacity {
            self.shared.pending.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::local(
                ErrorKind::InvalidArgument,
                codes::QUEUE_FULL,
                format!("the completion queue is full ({capacity} calls pending); collect completions first"),
            ));
        }
        let limit = client.config().timeout;
        let limit = timeout.map_or(limit, |t| t.min(limit));
        let deadline = Instant::now() + limit;
        let mut step = Step::Call;
        if self.shared.poller.is_some() {
            match catch_unwind(AssertUnwindSafe(|| client.begin(action, request_json, deadline))) {
                Ok(Begun::Blocking) => {}
                Ok(Begun::Retry(parked)) => step = Step::Resume(parked),
                Ok(Begun::Sent(pending)) => {
                    let text = joined(action, request_json);
                    let job = Job { client, text, split: action.len(), deadline, tag, step: Step::Call };
                    self.fly(InFlight { job, pending });
                    return Ok(());
                }
                Ok(Begun::Done(result)) => {
                    self.completed(Completion { tag, result: result.map_err(Failure::Error) });
                    return Ok(());
                }
                Err(panic) => {
                    self.completed(Completion { tag, result: Err(Failure::Panic(panic_text(&*panic))) });
                    return Ok(());
                }
            }
        }
        let job = Job { client, text: joined(action, request_json), split: action.len(), deadline, tag, step };
        self.dispatch(job).inspect_err(|_| {
            self.shared.pending.fetch_sub(1, Ordering::AcqRel);
        })
    }

    /// Queues a finished call for the taker.
    fn completed(&self, completion: Completion) {
        self.shared.lock().done.push_back(completion);
        self.shared.raise();
    }

    /// Hands `job` to a worker, starting one when all are busy and fewer than `workers`
    /// run. Fails (the job dropped) only when no worker runs and none can be started.
    fn dispatch(&self, job: Job) -> Result<(), Error> {
        let tag = job.tag;
        let mut state = self.shared.lock();
        state.jobs.push_back(job);
        let spawn = state.jobs.len() > state.idle && state.workers < self.shared.options.workers;
        let wake = !spawn && state.sleeping > 0;
        if spawn {
            state.workers += 1;
            state.idle += 1; // counted idle until it takes its first job
        }
        drop(state);
        if spawn {
            let shared = Arc::clone(&self.shared);
            match std::thread::Builder::new().name("tcsms-worker".into()).spawn(move || worker(shared)) {
                Ok(handle) => self.threads.lock().unwrap_or_else(|p| p.into_inner()).push(handle),
                Err(e) => {
                    let mut state = self.shared.lock();
                    state.workers -= 1;
                    state.idle -= 1;
                    if state.workers == 0 {
                        // Nobody would ever run it: take the call back.
                        if let Some(at) = state.jobs.iter().position(|j| j.tag == tag) {
                            state.jobs.remove(at);
                        }
                        return Err(Error::local(
                            ErrorKind::Network,
                            codes::NETWORK,
                            format!("cannot start a worker thread: {e}"),
                        ));
                    }
                    drop(state);
                    self.shared.work.notify_one(); // a running worker takes it
                }
            }
        } else if wake {
            self.shared.work.notify_one();
        }
        Ok(())
    }

    /// Hands a call the event loop gives up waiting for to a worker; when none can run
    /// it, the call completes with that error.
    fn hand_over(&self, job: Job) {
        let tag = job.tag;
        if let Err(error) = self.dispatch(job) {
            self.completed(Completion { tag, result: Err(Failure::Error(error)) });
        }
    }

    /// Waits, in the event loop, for the answer to a call that was sent; the deadline
    /// timer is brought forward when this call's deadline comes first.
    fn fly(&self, call: InFlight) {
        let Some(poller) = &self.shared.poller else { return self.hand_over(finish(call)) };
        let fd = call.pending.fd();
        let deadline = call.pending.deadline();
        let mut flight = self.shared.flight.lock().unwrap_or_else(|p| p.into_inner());
        let token = flight.insert(call);
        if flight.armed.is_none_or(|armed| deadline < armed) {
            flight.armed = Some(deadline);
            poller.arm(deadline.saturating_duration_since(Instant::now()));
        }
        drop(flight);
        if poller.watch(fd, token).is_err() {
            // Cannot be watched: read the answer the blocking way.
            let call = self.shared.flight.lock().unwrap_or_else(|p| p.into_inner()).remove(token);
            if let Some(call) = call {
                self.hand_over(finish(call));
            }
        }
    }

    /// One turn of the event loop, without waiting: reads the answers that arrived and
    /// judges those that are whole (their completions go to `batch`), and hands the
    /// calls whose deadline passed to the workers, which end them as a blocking call
    /// would (a timeout, since they wait no more).
    fn turn(&self, batch: &mut VecDeque<Completion>) {
        let Some(poller) = &self.shared.poller else { return };
        let mut expired = false;
        // Until fewer than a full set are ready (an edge-triggered loop, Go's, is woken
        // again only by something new), within a bound.
        for _ in 0..TURN_ROUNDS {
            let ready = poller.ready(|token| match token {
                epoll::SIGNAL => {}
                epoll::TIMER => expired = true,
                token => self.answer(token, batch),
            });
            if ready < epoll::EVENTS {
                break;
            }
        }
        if expired {
            poller.clear_timer();
            let now = Instant::now();
            let mut flight = self.shared.flight.lock().unwrap_or_else(|p| p.into_inner());
            let calls = flight.expired(now);
            flight.armed = flight.earliest();
            if let Some(at) = flight.armed {
                poller.arm(at.saturating_duration_since(now));
            }
            drop(flight);
            for call in calls {
                self.hand_over(finish(call));
            }
        }
    }

    /// Reads what arrived for the call with `token`.
    fn answer(&self, token: u64, batch: &mut VecDeque<Completion>) {
        let Some(InFlight { job, pending }) =
            self.shared.flight.lock().unwrap_or_else(|p| p.into_inner()).remove(token)
        else {
            return;
        };
        let polled = catch_unwind(AssertUnwindSafe(|| job.client.poll(&job.text[job.split..], pending)));
        match polled {
            Ok(Polled::Done(result)) => {
                batch.push_back(Completion { tag: job.tag, result: result.map_err(Failure::Error) })
            }
            Ok(Polled::Waiting(pending)) => self.fly(InFlight { job, pending }),
            Ok(Polled::Blocking(pending)) => self.hand_over(Job { step: Step::Finish(pending), ..job }),
            Ok(Polled::Retry(parked)) => self.hand_over(Job { step: Step::Resume(parked), ..job }),
            Err(panic) => {
                batch.push_back(Completion { tag: job.tag, result: Err(Failure::Panic(panic_text(&*panic))) })
            }
        }
    }

    /// Takes one finished call, or returns None (and clears the fd) when there is none.
    pub fn next(&self) -> Option<Completion> {
        let mut taken = None;
        self.take(1, |c| taken = Some(c));
        taken
    }

    /// Takes up to `max` finished calls, handing each to `each` in the order they
    /// finished, and returns how many it took. When it finds the queue empty before
    /// `max` (including when it returns 0), the fd is cleared until the next completion.
    pub fn take(&self, max: usize, mut each: impl FnMut(Completion)) -> usize {
        if self.forked() {
            return 0;
        }
        let mut batch = self.taking.lock().unwrap_or_else(|p| p.into_inner());
        self.turn(&mut batch);
        let mut taken = 0;
        while taken < max {
            // `batch` is empty here unless `each` panicked during an earlier take: what
            // it left is older than what is in `done`, so it goes first.
            if batch.is_empty() {
                let mut state = self.shared.lock();
                if state.done.len() <= max - taken {
                    std::mem::swap(&mut *batch, &mut state.done);
                } else {
                    batch.extend(state.done.drain(..max - taken));
                }
            }
            if !batch.is_empty() {
                while taken < max {
                    let Some(completion) = batch.pop_front() else { break };
                    self.shared.pending.fetch_sub(1, Ordering::AcqRel);
                    taken += 1;
                    each(completion);
                }
                if !batch.is_empty() {
                    // Left for the next take: the fd stays readable until then.
                    self.shared.raise();
                }
                continue;
            }
            // Empty, and the fd was raised: clear it and look again, since a
            // completion that arrived before the swap found `signalled` set and did
            // not raise the fd again. Stop only when empty with `signalled` unset:
            // stopping after one clear could leave `signalled` set by a worker whose
            // write the clear swallowed, and no completion would raise the fd again
            // (a lost wake-up).
            if !self.shared.signalled.swap(false, Ordering::AcqRel) {
                break;
            }
            // Tests widen the window in which a worker may raise the fd between the
            // swap and the clear.
            #[cfg(test)]
            std::thread::sleep(Duration::from_micros(50));
            self.shared.signal.clear()
        }
        taken
    }

    /// Calls submitted and not yet collected.
    pub fn pending(&self) -> usize {
        self.shared.pending.load(Ordering::Acquire)
    }
}

/// The worker handles of queues dropped in a forked child (see [`CompletionQueue`]'s drop).
static FORKED_THREADS: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());

impl Drop for CompletionQueue {
    fn drop(&mut self) {
        if self.forked() {
            // The workers are the parent's: none runs here, and a lock one held at the
            // fork stays locked for ever. Close this process's descriptor only, join
            // nothing, and leave the rest (the memory of a copy) unfreed.
            self.shared.signal.close();
            if let Some(poller) = &self.shared.poller {
                poller.close();
            }
            // The calls the parent's loop waits for are left as they are (their lock
            // may have been held by a parent thread at the fork).
            // Kept (never joined nor detached: their threads do not exist here) where a
            // leak checker still finds them.
            let threads = std::mem::take(self.threads.get_mut().unwrap_or_else(|p| p.into_inner()));
            FORKED_THREADS.lock().unwrap_or_else(|p| p.into_inner()).extend(threads);
            return;
        }
        // Calls the event loop sent and whose answers nobody will read: their
        // connections are closed.
        let flying = self.shared.flight.lock().unwrap_or_else(|p| p.into_inner()).take_all();
        drop(flying);
        let dropped = {
            let mut state = self.shared.lock();
            state.closing = true;
            std::mem::take(&mut state.jobs)
        };
        self.shared.work.notify_all();
        drop(dropped); // never started, never sent
        for handle in self.threads.get_mut().unwrap_or_else(|p| p.into_inner()).drain(..) {
            let _ = handle.join();
        }
    }
}

fn worker(shared: Arc<Shared>) {
    if shared.options.sched_batch {
        batch_scheduling();
    }
    let mut state = shared.lock();
    loop {
        let Some(mut job) = state.jobs.pop_front() else {
            if state.closing {
                return;
            }
            state.sleeping += 1;
            state = shared.work.wait(state).unwrap_or_else(|p| p.into_inner());
            state.sleeping -= 1;
            continue;
        };
        state.idle -= 1;
        drop(state);
        // Runs it and the calls queued meanwhile: a worker that finds the next call
        // queued when its call ends takes it without sleeping, under the lock that
        // queues its completion.
        loop {
            let result = run(&mut job);
            let completion = Completion { tag: job.tag, result };
            drop(job); // the client too, if this was its last reference
            let mut state = shared.lock();
            state.done.push_back(completion);
            let next = state.jobs.pop_front();
            if next.is_none() {
                state.idle += 1;
            }
            drop(state);
            shared.raise();
            match next {
                Some(next) => job = next,
                None => break,
            }
        }
        state = shared.lock();
    }
}

/// Puts the calling thread under `SCHED_BATCH` (best effort: an unprivileged thread
/// may always move from `SCHED_OTHER` to it; a failure leaves the policy as it was).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // one scheduler syscall
fn batch_scheduling() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: plain syscall on the calling thread (pid 0) with a live parameter.
    let _ = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
}

#[cfg(not(target_os = "linux"))]
fn batch_scheduling() {}

/// A worker's part of `job`.
fn run(job: &mut Job) -> Result<String, Failure> {
    let client = &job.client;
    let (action, request) = job.text.split_at(job.split);
    let step = std::mem::replace(&mut job.step, Step::Call);
    let result = match step {
        Step::Call => {
            let left = job.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Failure::Error(Error::local(
                    ErrorKind::Timeout,
                    codes::TIMEOUT,
                    "the call waited for a worker until its time limit passed; it was not sent",
                )));
            }
            catch_unwind(AssertUnwindSafe(|| client.call_with_timeout(action, request, Some(left))))
        }
        Step::Finish(pending) => catch_unwind(AssertUnwindSafe(|| client.finish(request, pending))),
        Step::Resume(parked) => catch_unwind(AssertUnwindSafe(|| client.resume(request, *parked))),
    };
    match result {
        Ok(result) => result.map_err(Failure::Error),
        Err(panic) => Err(Failure::Panic(panic_text(&*panic))),
    }
}

/// The action and the request JSON in one allocation (see [`Job::text`]).
fn joined(action: &str, request_json: &str) -> String {
    let mut text = String::with_capacity(action.len() + request_json.len());
    text.push_str(action);
    text.push_str(request_json);
    text
}

/// A worker's job that reads the rest of `call`'s answer the blocking way.
fn finish(call: InFlight) -> Job {
    Job { step: Step::Finish(call.pending), ..call.job }
}

/// The readiness descriptor: an eventfd on Linux, a pipe elsewhere; non-blocking. Its
/// system calls are the only `unsafe` of the queue.
struct Signal {
    read: i32,
    write: i32,
    /// Closed already (by a forked copy's drop): not closed again.
    closed: AtomicBool,
}

#[allow(unsafe_code)] // the wake-up descriptor's system calls
impl Signal {
    #[cfg(target_os = "linux")]
    fn new() -> std::io::Result<Signal> {
        // SAFETY: plain syscall; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Signal { read: fd, write: fd, closed: AtomicBool::new(false) })
    }

    #[cfg(not(target_os = "linux"))]
    fn new() -> std::io::Result<Signal> {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors; the result is checked.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        for fd in fds {
            // SAFETY: descriptors just created and owned here.
            unsafe {
                libc::fcntl(fd, libc::F_SETFL, libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK);
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
        Ok(Signal { read: fds[0], write: fds[1], closed: AtomicBool::new(false) })
    }

    fn fd(&self) -> i32 {
        self.read
    }

    fn raise(&self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a live buffer to our descriptor. A full pipe or an
        // eventfd at its maximum already reads as ready, so the result needs no check.
        let _ = unsafe { libc::write(self.write, one.as_ptr().cast(), one.len()) };
    }

    fn clear(&self) {
        let mut buf = [0u8; 64];
        // Non-blocking: drains an eventfd in one read, a pipe until EAGAIN.
        // SAFETY: reads into a live buffer of the given length from our descriptor.
        while unsafe { libc::read(self.read, buf.as_mut_ptr().cast(), buf.len()) } > 0 {
            if self.read == self.write {
                break;
            }
        }
    }
}

#[allow(unsafe_code)] // closes the wake-up descriptors
impl Signal {
    /// Closes the descriptors, once.
    fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        // SAFETY: descriptors owned by this value, closed once (the flag above).
        unsafe {
            libc::close(self.read);
            if self.write != self.read {
                libc::close(self.write);
            }
        }
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
#[allow(unsafe_code)] // poll(2) on the queue's descriptor
mod tests {
    use super::*;

    fn client(endpoint: &str, timeout_ms: u64) -> Arc<Client> {
        let config = format!(
            r#"{{"secret_id":"AKIDtest","secret_key":"secret","endpoint":"{endpoint}","timeout_ms":{timeout_ms},"max_retries":0}}"#
        );
        Arc::new(Client::from_json(&config).unwrap())
    }

    fn readable(fd: i32, wait_ms: i32) -> bool {
        let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one live pollfd.
        unsafe { libc::poll(&mut pfd, 1, wait_ms) == 1 }
    }

    #[test]
    fn options_parse_and_refuse_bad_values() {
        assert_eq!(QueueOptions::from_json("").unwrap(), QueueOptions::default());
        assert_eq!(
            QueueOptions::from_json(r#"{"workers":2,"capacity":8}"#).unwrap(),
            QueueOptions { workers: 2, capacity: 8, ..Default::default() }
        );
        for (json, kind) in [
            ("[1]", ErrorKind::InvalidJson),
            ("{", ErrorKind::InvalidJson),
            (r#"{"workers":0}"#, ErrorKind::InvalidConfig),
            (r#"{"workers":257}"#, ErrorKind::InvalidConfig),
            (r#"{"capacity":-1}"#, ErrorKind::InvalidConfig),
            (r#"{"capacity":"8"}"#, ErrorKind::InvalidConfig),
            (r#"{"threads":4}"#, ErrorKind::InvalidConfig),
            (r#"{"sched_batch":1}"#, ErrorKind::InvalidConfig),
        ] {
            assert_eq!(QueueOptions::from_json(json).unwrap_err().kind(), kind, "{json}");
        }
    }

    /// The scheduling policies (field 41 of /proc/self/task/TID/stat) of this
    /// process's threads named `tcsms-worker`. Tests of other queues run in
    /// parallel, so a thread may exit between listing and reading: such a thread
    /// is skipped, not an error.
    #[cfg(target_os = "linux")]
    fn worker_policies() -> Vec<u32> {
        fn policy(dir: &std::path::Path) -> Option<u32> {
            if std::fs::read_to_string(dir.join("comm")).ok()?.trim() != "tcsms-worker" {
                return None;
            }
            let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
            // Fields after the command name in parentheses; `policy` is field 41.
            let after = stat.get(stat.rfind(')')? + 2..)?;
            after.split(' ').nth(41 - 3)?.parse().ok()
        }
        std::fs::read_dir("/proc/self/task").unwrap().filter_map(|task| policy(&task.ok()?.path())).collect()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn sched_batch_puts_the_workers_under_sched_batch() {
        assert_eq!(
            QueueOptions::from_json(r#"{"sched_batch":true,"workers":2}"#).unwrap(),
            QueueOptions { workers: 2, capacity: DEFAULT_CAPACITY, sched_batch: true }
        );
        let client = client("http://127.0.0.1:9", 2000);
        for batch in [false, true] {
            let queue = CompletionQueue::new(QueueOptions { workers: 1, capacity: 4, sched_batch: batch }).unwrap();
            // A call with no connection to take goes to a worker (refused: nothing listens).
            queue.submit(Arc::clone(&client), "DescribeSmsSignList", "{}", None, 1).unwrap();
            assert!(readable(queue.fd(), 5000));
            assert!(queue.next().is_some());
            // Only this queue's worker runs now (tests of other queues may run in
            // parallel, so look for at least one worker with the expected policy).
            let want = if batch { libc::SCHED_BATCH as u32 } else { libc::SCHED_OTHER as u32 };
            assert!(worker_policies().contains(&want), "batch {batch}: {:?}", worker_policies());
            drop(queue);
        }
    }

    #[test]
    fn full_queue_refuses_and_bad_calls_complete_with_their_error() {
        // Port 9 on loopback refuses connections: calls fail fast with Network.
        let client = client("http://127.0.0.1:9", 2000);
        let queue = CompletionQueue::new(QueueOptions { workers: 1, capacity: 2, ..Default::default() }).unwrap();
        assert!(!readable(queue.fd(), 0));
        queue.submit(Arc::clone(&client), "NoSuchAction", "{}", None, 1).unwrap();
        queue.submit(Arc::clone(&client), "SendSms", "[]", None, 2).unwrap();
        let full = queue.submit(Arc::clone(&client), "SendSms", "{}", None, 3).unwrap_err();
        assert_eq!((full.kind(), full.code()), (ErrorKind::InvalidArgument, codes::QUEUE_FULL));
        let mut seen = Vec::new();
        while seen.len() < 2 {
            assert!(readable(queue.fd(), 5000), "no completion signalled");
            while let Some(c) = queue.next() {
                seen.push((c.tag, c.result.unwrap_err().error().unwrap().code().to_owned()));
            }
        }
        seen.sort();
        assert_eq!(seen, [(1, codes::UNKNOWN_ACTION.to_owned()), (2, codes::INVALID_JSON.to_owned())]);
        assert!(!readable(queue.fd(), 0), "fd still readable after the queue was drained");
        assert_eq!(queue.pending(), 0);
        queue.submit(client, "NoSuchAction", "{}", None, 4).unwrap(); // room again
    }

    /// Many threads submit calls that complete at once (unknown actions, each
    /// naming its tag) while one thread takes them in batches, waiting on the fd
    /// between batches: every completion arrives once, carries its own request's
    /// answer, and the fd never stays quiet while completions wait (a lost wake-up
    /// shows as a poll that times out with calls pending).
    #[test]
    fn batch_take_matches_every_answer_and_never_loses_a_wake_up() {
        for _ in 0..10 {
            take_all_in_batches();
        }
    }

    fn take_all_in_batches() {
        let client = client("http://127.0.0.1:9", 2000);
        let queue = Arc::new(
            CompletionQueue::new(QueueOptions { workers: 8, capacity: 1 << 16, ..Default::default() }).unwrap(),
        );
        const THREADS: u64 = 4;
        const EACH: u64 = 5000;
        let submitters: Vec<_> = (0..THREADS)
            .map(|t| {
                let (queue, client) = (Arc::clone(&queue), Arc::clone(&client));
                std::thread::spawn(move || {
                    for i in 0..EACH {
                        let tag = t * EACH + i;
                        queue.submit(Arc::clone(&client), &format!("NoSuch{tag}"), "{}", None, tag).unwrap();
                    }
                })
            })
            .collect();
        let mut seen = vec![false; (THREADS * EACH) as usize];
        let mut taken = 0;
        let mut batches = 0;
        while taken < seen.len() {
            assert!(readable(queue.fd(), 5000), "lost wake-up: {} calls pending, fd not readable", queue.pending());
            // Batches of 7: most takes end with completions left, some find it empty.
            loop {
                let n = queue.take(7, |c| {
                    let message = c.result.unwrap_err().error().unwrap().message().to_owned();
                    assert!(message.contains(&format!("`NoSuch{}`", c.tag)), "tag {} got {message}", c.tag);
                    assert!(!std::mem::replace(&mut seen[c.tag as usize], true), "tag {} twice", c.tag);
                });
                taken += n;
                batches += 1;
                if n < 7 {
                    break;
                }
            }
        }
        for s in submitters {
            s.join().unwrap();
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(queue.pending(), 0);
        assert!(!readable(queue.fd(), 0), "fd readable with nothing to take");
        assert_eq!(queue.take(7, |_| panic!("nothing is left")), 0);
        assert!(batches > 1);
    }

    #[test]
    fn time_in_the_queue_counts_against_the_deadline() {
        // A server that accepts and never answers: each call runs to its time limit.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let client = client(&endpoint, 60_000);
        let queue = CompletionQueue::new(QueueOptions { workers: 1, capacity: 8, ..Default::default() }).unwrap();
        let started = Instant::now();
        for tag in 0..3 {
            queue.submit(Arc::clone(&client), "ReportConversion", "{}", Some(Duration::from_millis(300)), tag).unwrap();
        }
        let mut done = Vec::new();
        while done.len() < 3 {
            assert!(readable(queue.fd(), 5000));
            while let Some(c) = queue.next() {
                done.push((c.tag, c.result.unwrap_err().error().unwrap().clone()));
            }
        }
        // One worker: the first call takes its 300 ms; the others were queued as long
        // and end at their deadline without being sent.
        assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
        for (tag, error) in &done {
            assert_eq!(error.kind(), ErrorKind::Timeout, "call {tag}: {error:?}");
        }
        assert!(done.iter().any(|(_, e)| e.message().contains("not sent")));
        drop(listener);
    }

    /// A panic in the callback of `take` loses only the completion it was handed: the
    /// rest of the batch comes with the next take, never more than its `max`, and the
    /// pending count stays right.
    #[test]
    fn a_panicking_take_callback_keeps_the_rest_of_the_batch() {
        let client = client("http://127.0.0.1:9", 2000);
        let queue = CompletionQueue::new(QueueOptions { workers: 1, capacity: 8, ..Default::default() }).unwrap();
        for tag in 0..4 {
            queue.submit(Arc::clone(&client), "NoSuchAction", "{}", None, tag).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while queue.shared.lock().done.len() < 4 {
            assert!(Instant::now() < deadline, "calls did not complete");
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut seen = Vec::new();
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            queue.take(8, |c| {
                seen.push(c.tag);
                assert!(seen.len() < 2, "a bug in the caller's callback");
            })
        }));
        assert!(panicked.is_err());
        assert_eq!(seen, [0, 1]);
        assert_eq!(queue.pending(), 2);
        assert_eq!(queue.take(1, |c| seen.push(c.tag)), 1);
        assert_eq!(queue.take(8, |c| seen.push(c.tag)), 1);
        assert_eq!(seen, [0, 1, 2, 3]);
        assert_eq!(queue.pending(), 0);
        assert_eq!(queue.take(8, |_| panic!("nothing is left")), 0);
    }

    /// A call queued while a worker runs a slow call and another sleeps: the sleeping
    /// worker takes it; it never waits for the slow call to end.
    #[test]
    fn a_queued_call_never_waits_for_a_busy_workers_slow_call() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let slow = client(&format!("http://{}", listener.local_addr().unwrap()), 3000);
        let fast = client("http://127.0.0.1:9", 2000);
        let queue = CompletionQueue::new(QueueOptions { workers: 2, capacity: 8, ..Default::default() }).unwrap();
        // Both workers started and asleep.
        for round in 0..20 {
            queue.submit(Arc::clone(&fast), "NoSuchAction", "{}", None, 100 + round).unwrap();
            queue.submit(Arc::clone(&fast), "NoSuchAction", "{}", None, 200 + round).unwrap();
            let mut n = 0;
            while n < 2 {
                assert!(readable(queue.fd(), 5000));
                n += queue.take(8, |_| ());
            }
        }
        let started = Instant::now();
        queue.submit(Arc::clone(&slow), "ReportConversion", "{}", None, 1).unwrap();
        std::thread::sleep(Duration::from_millis(50)); // a worker is in the slow call
        queue.submit(Arc::clone(&fast), "NoSuchAction", "{}", None, 2).unwrap();
        assert!(readable(queue.fd(), 2000), "the second call waited for the slow one");
        let first = queue.next().unwrap();
        assert_eq!(first.tag, 2);
        assert!(started.elapsed() < Duration::from_millis(2000), "{:?}", started.elapsed());
        assert!(queue.next().is_none(), "the slow call ended early");
        // The slow call still ends, at its time limit.
        assert!(readable(queue.fd(), 10_000));
        let second = queue.next().unwrap();
        assert_eq!(second.tag, 1);
        assert_eq!(second.result.unwrap_err().error().unwrap().kind(), ErrorKind::Timeout);
        assert_eq!(queue.pending(), 0);
        drop(listener);
    }

    #[test]
    fn dropping_the_queue_with_pending_calls_waits_only_for_running_ones() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let client = client(&endpoint, 400);
        let queue = CompletionQueue::new(QueueOptions { workers: 2, capacity: 100, ..Default::default() }).unwrap();
        for tag in 0..50 {
            queue.submit(Arc::clone(&client), "ReportConversion", "{}", None, tag).unwrap();
        }
        drop(client); // the queue keeps the client alive for its calls
        let started = Instant::now();
        drop(queue);
        // Two running calls end at their 400 ms limit; the 48 queued ones are dropped.
        assert!(started.elapsed() < Duration::from_millis(2000), "{:?}", started.elapsed());
    }
}

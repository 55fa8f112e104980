//! Observing a client: an event hook and per-action statistics.
//!
//! # Events
//!
//! [`Client::set_event_callback`](crate::Client::set_event_callback) installs a function
//! that receives one small JSON object per attempt (`"event":"attempt"`) and one per call
//! (`"event":"call"`), on the calling thread, right after the attempt or call ends:
//!
//! | key | attempt | call |
//! |---|---|---|
//! | `event` | `"attempt"` | `"call"` |
//! | `action` | the action's name | same |
//! | `attempt` | 1-based number of this attempt | the number of attempts made |
//! | `status` | the `TCSMS_STATUS_*` number of this attempt's outcome (0: OK) | of the call's |
//! | `code` | the `Error.Code` (service or `ClientError.*`), or null | same |
//! | `request_id` | the service's RequestId, or null | same |
//! | `latency_us` | this attempt, including its rate-limit wait | the whole call |
//! | `retry` | whether another attempt follows | (absent) |
//! | `retry_reason`, `retry_delay_us` | why, and the pause before it (null/0 when none) | (absent) |
//! | `retries` | (absent) | attempts - 1 |
//! | `rate_limit_wait_us` | time spent waiting for the client-side rate limit | summed |
//! | `clock_offset_s` | the learned clock skew after the attempt | after the call |
//! | `clock_corrected` | whether this attempt taught a new skew | whether any did |
//! | `bytes_sent`, `bytes_received` | request and response body bytes | summed |
//! | `phone_numbers` | the request's numbers, masked (`+86137****2222`) unless `log_phone_numbers` | same |
//!
//! A client with `rate_limit_store` also emits `{"event":"rate_limit_store","state":"down"|"up",...}`
//! once per transition of its store (see [`crate::ratelimit_store`]).
//!
//! An event never holds a secret, a signature, a token or a message text. Phone numbers
//! are masked unless the configuration key `log_phone_numbers` is `true`.
//!
//! The callback must not call the client's API methods: such a call fails at once with
//! `ClientError.Reentrant` (detected with a thread-local flag, so nothing deadlocks). A
//! panic inside a Rust callback is caught and dropped.
//!
//! # Statistics
//!
//! [`Client::stats_json`](crate::Client::stats_json) gives, since the client was made,
//! per action: `Calls`, `Attempts`, `Retries`, `Codes` (calls by final outcome, successes
//! under `"ok"`; they sum to `Calls`), `LatencyUs` (`p50`, `p90`, `p99`, `max` of whole
//! calls, from a log-scale histogram with four buckets per power of two, so a percentile
//! is the upper bound of its bucket: at most 25 % above the true value, never above
//! `max`), `RateLimitWaits` (calls that waited for the client-side rate limit) and
//! `RateLimitWaitUs` (the total wait); and the last two summed over all actions. Only
//! calls that reached the service's action (a known action with a JSON object) count.

use crate::api::{Action, ACTIONS};
use crate::error::{codes, Error, ErrorKind};
use serde_json::{json, Map, Value};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// An event callback: receives one event's JSON object.
pub type EventFn = dyn Fn(&str) + Send + Sync;

thread_local! {
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is inside an event callback.
pub(crate) fn in_callback() -> bool {
    IN_CALLBACK.with(Cell::get)
}

/// The error of a client call made from inside an event callback.
pub(crate) fn reentrant_error(action: &str) -> Error {
    Error::local(
        ErrorKind::InvalidArgument,
        codes::REENTRANT,
        format!(
            "{action} was called from inside the client's event callback; the callback must not call the client \
             (hand the work to another thread)"
        ),
    )
}

/// Masks a phone number for logs: the four characters before the last four become `*`
/// (`+8613711112222` → `+86137****2222`, `13711112222` → `137****2222`); a number of
/// fewer than nine characters keeps only its last two.
pub fn mask_phone_number(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    let n = chars.len();
    if n < 9 {
        let keep = n.min(2);
        return "*".repeat(n - keep) + &chars[n - keep..].iter().collect::<String>();
    }
    let head: String = chars[..n - 8].iter().collect();
    let tail: String = chars[n - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// The client's observer: the event hook and the statistics.
pub(crate) struct Observer {
    hook: RwLock<Option<Arc<EventFn>>>,
    hooked: AtomicBool,
    /// Set by [`Observer::detach`]: no event is delivered any more, not even to calls
    /// that started with a hook.
    detached: AtomicBool,
    /// Held (shared) while an event is delivered; [`Observer::detach`] takes it
    /// exclusively to wait for deliveries in progress.
    delivering: RwLock<()>,
    /// Warnings for the first callback installed (see [`Observer::set_hook`]).
    warnings: Mutex<Vec<String>>,
    log_phone_numbers: bool,
    stats: Stats,
}

impl Observer {
    pub(crate) fn new(log_phone_numbers: bool) -> Observer {
        Observer {
            hook: RwLock::new(None),
            hooked: AtomicBool::new(false),
            detached: AtomicBool::new(false),
            delivering: RwLock::new(()),
            warnings: Mutex::new(Vec::new()),
            log_phone_numbers,
            stats: Stats::new(),
        }
    }

    /// Removes the hook for good: when this returns, no event is being delivered on
    /// another thread and none will be, not even to calls still running or queued (the
    /// owner of the hook's data may free it). From inside the hook itself it cannot
    /// wait for its own delivery; other threads' deliveries may then still finish.
    pub(crate) fn detach(&self) {
        self.detached.store(true, Ordering::SeqCst);
        self.set_hook(None);
        if !in_callback() {
            drop(self.delivering.write().unwrap_or_else(|p| p.into_inner()));
        }
    }

    /// Delivers one event unless the hook was detached.
    fn deliver(&self, hook: &EventFn, event: &str) {
        let _delivering = self.delivering.read().unwrap_or_else(|p| p.into_inner());
        if !self.detached.load(Ordering::SeqCst) {
            deliver(hook, event);
        }
    }

    /// Installs (`Some`) or removes (`None`) the event callback. A new callback first
    /// receives the warnings kept since the client was made (`"event":"warning"`).
    pub(crate) fn set_hook(&self, hook: Option<Arc<EventFn>>) {
        let mut slot = self.hook.write().unwrap_or_else(|p| p.into_inner());
        self.hooked.store(hook.is_some(), Ordering::SeqCst);
        *slot = hook.clone();
        drop(slot);
        if let Some(hook) = hook {
            let warnings = std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|p| p.into_inner()));
            for message in warnings {
                let event = json!({"event": "warning", "message": message}).to_string();
                self.deliver(hook.as_ref(), &event);
            }
        }
    }

    /// Keeps a warning for the first event callback installed.
    pub(crate) fn warn(&self, message: String) {
        self.warnings.lock().unwrap_or_else(|p| p.into_inner()).push(message);
    }

    /// An event callback is installed.
    pub(crate) fn hooked(&self) -> bool {
        self.hooked.load(Ordering::Relaxed)
    }

    fn hook(&self) -> Option<Arc<EventFn>> {
        if !self.hooked.load(Ordering::Relaxed) {
            return None;
        }
        self.hook.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Starts observing one call of `action` with request `body`.
    pub(crate) fn trace<'a>(&'a self, action: &'static Action, body: &[u8]) -> CallTrace<'a> {
        let hook = self.hook();
        let phone_numbers = hook.as_ref().and_then(|_| phone_numbers(body, self.log_phone_numbers));
        let call = Traced {
            action,
            hook,
            phone_numbers,
            started: Instant::now(),
            attempts: 0,
            rate_limit_wait: Duration::ZERO,
            bytes_sent: body.len() as u64,
            bytes_received: 0,
            clock_corrected: false,
            last_outcome: String::new(),
        };
        CallTrace { observer: self, call }
    }

    /// Delivers an event of no call (a `rate_limit_store` transition, a `credentials`
    /// refresh) to the hook, if any.
    pub(crate) fn emit(&self, event: &str) {
        if let Some(hook) = self.hook() {
            deliver(hook.as_ref(), event);
        }
    }

    pub(crate) fn stats_json(&self) -> String {
        self.stats.to_json()
    }
}

/// Runs the callback with the re-entrancy flag set; a panic stays here.
fn deliver(hook: &EventFn, event: &str) {
    let was = IN_CALLBACK.with(|flag| flag.replace(true));
    let _ = catch_unwind(AssertUnwindSafe(|| hook(event)));
    IN_CALLBACK.with(|flag| flag.set(was));
}

/// A JSON string literal (`null` for `None`).
fn quoted(text: Option<&str>) -> String {
    text.and_then(|t| serde_json::to_string(t).ok()).unwrap_or_else(|| "null".to_owned())
}

/// The numbers of a request (`PhoneNumberSet`, `MultiSmsInfoSet[].PhoneNumber`,
/// `PhoneNumber`), masked unless `full`, as a JSON array; `None` when it has none.
fn phone_numbers(body: &[u8], full: bool) -> Option<String> {
    let request: Map<String, Value> = serde_json::from_slice(body).ok()?;
    let mut numbers: Vec<&str> = Vec::new();
    if let Some(Value::Array(set)) = request.get("PhoneNumberSet") {
        numbers.extend(set.iter().filter_map(Value::as_str));
    }
    if let Some(Value::Array(set)) = request.get("MultiSmsInfoSet") {
        numbers.extend(set.iter().filter_map(|item| item.get("PhoneNumber")?.as_str()));
    }
    if let Some(Value::String(number)) = request.get("PhoneNumber") {
        numbers.push(number);
    }
    if numbers.is_empty() {
        return None;
    }
    let shown: Vec<String> =
        numbers.into_iter().map(|n| if full { n.to_owned() } else { mask_phone_number(n) }).collect();
    serde_json::to_string(&shown).ok()
}

/// What one attempt saw, filled in by the client as it goes.
pub(crate) struct AttemptInfo {
    pub started: Instant,
    pub rate_limit_wait: Duration,
    pub bytes_received: u64,
    pub clock_offset_before: i64,
}

impl AttemptInfo {
    pub(crate) fn start(clock_offset: i64) -> AttemptInfo {
        AttemptInfo {
            started: Instant::now(),
            rate_limit_wait: Duration::ZERO,
            bytes_received: 0,
            clock_offset_before: clock_offset,
        }
    }
}

/// One call being observed.
pub(crate) struct CallTrace<'a> {
    observer: &'a Observer,
    call: Traced,
}

/// What is known of a call being observed, without its observer: kept apart from it
/// ([`CallTrace::park`]) while an event loop waits for the call's answer.
pub(crate) struct Traced {
    action: &'static Action,
    hook: Option<Arc<EventFn>>,
    /// The JSON array of the request's numbers, when hooked and it has some.
    phone_numbers: Option<String>,
    started: Instant,
    attempts: u32,
    rate_limit_wait: Duration,
    bytes_sent: u64,
    bytes_received: u64,
    clock_corrected: bool,
    /// The last attempt's `"status":..,"code":..,"request_id":..` (hooked only).
    last_outcome: String,
}

impl Traced {
    /// Observed again by `observer` (the one it was parked from).
    pub(crate) fn resume(self, observer: &Observer) -> CallTrace<'_> {
        CallTrace { observer, call: self }
    }
}

/// `"status":N,"code":..,"request_id":..` of an outcome.
fn outcome_json(outcome: Result<&str, &Error>) -> String {
    let (status, code, request_id) = match outcome {
        Ok(answer) => {
            let head = crate::api::parse_envelope_head(answer.as_bytes());
            (0, None, quoted(head.and_then(|h| h.request_id).as_deref()))
        }
        Err(error) => {
            let id = Some(error.request_id()).filter(|id| !id.is_empty());
            (error.kind().status().value(), Some(error.code()), quoted(id))
        }
    };
    format!(r#""status":{status},"code":{},"request_id":{request_id}"#, quoted(code))
}

impl CallTrace<'_> {
    /// The call's trace without its observer, to [`Traced::resume`] later.
    pub(crate) fn park(self) -> Traced {
        self.call
    }

    /// Records an attempt that ended; `retry`: the reason and pause when another follows.
    pub(crate) fn attempt(
        &mut self,
        info: &AttemptInfo,
        outcome: Result<&str, &Error>,
        retry: Option<(&str, Duration)>,
        clock_offset: i64,
    ) {
        self.call.attempts += 1;
        self.call.rate_limit_wait += info.rate_limit_wait;
        self.call.bytes_received += info.bytes_received;
        let corrected = clock_offset != info.clock_offset_before;
        self.call.clock_corrected |= corrected;
        let Some(hook) = self.call.hook.clone() else {
            return;
        };
        self.call.last_outcome = outcome_json(outcome);
        let (reason, delay) = retry.map_or((None, Duration::ZERO), |(r, d)| (Some(r), d));
        let event = format!(
            r#"{{"event":"attempt","action":"{}","attempt":{},{},"latency_us":{},"retry":{},"retry_reason":{},"retry_delay_us":{},"rate_limit_wait_us":{},"clock_offset_s":{clock_offset},"clock_corrected":{corrected},"bytes_sent":{},"bytes_received":{}{}}}"#,
            self.call.action.name,
            self.call.attempts,
            self.call.last_outcome,
            micros(info.started.elapsed()),
            retry.is_some(),
            quoted(reason),
            micros(delay),
            micros(info.rate_limit_wait),
            self.call.bytes_sent,
            info.bytes_received,
            self.numbers_field(),
        );
        self.observer.deliver(hook.as_ref(), &event);
    }

    fn numbers_field(&self) -> String {
        self.call.phone_numbers.as_ref().map_or_else(String::new, |n| format!(r#","phone_numbers":{n}"#))
    }

    /// Records the call's outcome in the statistics and emits the call event.
    pub(crate) fn finish(self, outcome: Result<&str, &Error>, clock_offset: i64) {
        let latency = self.call.started.elapsed();
        let code = match outcome {
            Ok(_) => "ok",
            Err(error) => error.code(),
        };
        self.observer.stats.record(self.call.action, self.call.attempts, code, latency, self.call.rate_limit_wait);
        let Some(hook) = &self.call.hook else {
            return;
        };
        // The call's outcome is its last attempt's, unless it ended before one.
        let outcome = if self.call.attempts == 0 { outcome_json(outcome) } else { self.call.last_outcome.clone() };
        let event = format!(
            r#"{{"event":"call","action":"{}","attempt":{},"retries":{},{outcome},"latency_us":{},"rate_limit_wait_us":{},"clock_offset_s":{clock_offset},"clock_corrected":{},"bytes_sent":{},"bytes_received":{}{}}}"#,
            self.call.action.name,
            self.call.attempts,
            self.call.attempts.saturating_sub(1),
            micros(latency),
            micros(self.call.rate_limit_wait),
            self.call.clock_corrected,
            self.call.bytes_sent * u64::from(self.call.attempts),
            self.call.bytes_received,
            self.numbers_field(),
        );
        self.observer.deliver(hook.as_ref(), &event);
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Buckets of the latency histogram: exact below 8 µs, then four per power of two up to
/// 2^40 µs (about 12 days); longer latencies fall into the last bucket.
const BUCKETS: usize = 41 * 4;

fn bucket_of(us: u64) -> usize {
    if us < 8 {
        return us as usize;
    }
    let exponent = 63 - us.leading_zeros() as usize;
    let quarter = ((us >> (exponent - 2)) & 3) as usize;
    (exponent * 4 + quarter).min(BUCKETS - 1)
}

/// The largest value of bucket `index`.
fn bucket_upper(index: usize) -> u64 {
    if index < 8 {
        return index as u64;
    }
    let (exponent, quarter) = (index / 4, (index % 4) as u64);
    ((5 + quarter) << (exponent - 2)) - 1
}

#[derive(Default)]
struct ActionStats {
    calls: u64,
    attempts: u64,
    retries: u64,
    rate_limit_waits: u64,
    rate_limit_wait_us: u64,
    codes: BTreeMap<String, u64>,
    /// Empty until the first call.
    latency: Vec<u64>,
    max_us: u64,
}

impl ActionStats {
    fn percentile(&self, p: f64) -> u64 {
        let rank = ((self.calls as f64) * p).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (index, count) in self.latency.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return bucket_upper(index).min(self.max_us);
            }
        }
        self.max_us
    }
}

/// Per-action counters, one short mutex per action, taken once per call.
struct Stats {
    actions: Vec<Mutex<ActionStats>>,
}

impl Stats {
    fn new() -> Stats {
        Stats { actions: ACTIONS.iter().map(|_| Mutex::new(ActionStats::default())).collect() }
    }

    fn record(&self, action: &Action, attempts: u32, code: &str, latency: Duration, rate_limit_wait: Duration) {
        let Some(slot) = ACTIONS.iter().position(|a| a.name == action.name).and_then(|i| self.actions.get(i)) else {
            return;
        };
        let us = micros(latency);
        let mut s = slot.lock().unwrap_or_else(|p| p.into_inner());
        s.calls += 1;
        s.attempts += u64::from(attempts);
        s.retries += u64::from(attempts.saturating_sub(1));
        if !rate_limit_wait.is_zero() {
            s.rate_limit_waits += 1;
            s.rate_limit_wait_us += micros(rate_limit_wait);
        }
        match s.codes.get_mut(code) {
            Some(n) => *n += 1,
            None => {
                s.codes.insert(code.to_owned(), 1);
            }
        }
        if s.latency.is_empty() {
            s.latency = vec![0; BUCKETS];
        }
        s.latency[bucket_of(us)] += 1;
        s.max_us = s.max_us.max(us);
    }

    fn to_json(&self) -> String {
        let mut actions = Map::new();
        let (mut waits, mut wait_us) = (0u64, 0u64);
        for (action, slot) in ACTIONS.iter().zip(&self.actions) {
            let s = slot.lock().unwrap_or_else(|p| p.into_inner());
            if s.calls == 0 {
                continue;
            }
            waits += s.rate_limit_waits;
            wait_us += s.rate_limit_wait_us;
            actions.insert(
                action.name.to_owned(),
                json!({
                    "Calls": s.calls,
                    "Attempts": s.attempts,
                    "Retries": s.retries,
                    "Codes": s.codes,
                    "LatencyUs": {
                        "p50": s.percentile(0.50),
                        "p90": s.percentile(0.90),
                        "p99": s.percentile(0.99),
                        "max": s.max_us,
                    },
                    "RateLimitWaits": s.rate_limit_waits,
                    "RateLimitWaitUs": s.rate_limit_wait_us,
                }),
            );
        }
        json!({"Actions": actions, "RateLimitWaits": waits, "RateLimitWaitUs": wait_us}).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_masked() {
        assert_eq!(mask_phone_number("+8613711112222"), "+86137****2222");
        assert_eq!(mask_phone_number("13711112222"), "137****2222");
        assert_eq!(mask_phone_number("+123"), "**23");
        let body = br#"{"PhoneNumberSet":["+8613711112222"],"MultiSmsInfoSet":[{"PhoneNumber":"+14155550100"}]}"#;
        assert_eq!(phone_numbers(body, false).unwrap(), r#"["+86137****2222","+141****0100"]"#);
        assert_eq!(phone_numbers(body, true).unwrap(), r#"["+8613711112222","+14155550100"]"#);
        assert_eq!(phone_numbers(b"{}", false), None);
    }

    #[test]
    fn histogram_buckets_bound_their_values() {
        for us in [0u64, 1, 7, 8, 9, 15, 16, 100, 1000, 12345, 999_999, 1 << 39] {
            let index = bucket_of(us);
            assert!(bucket_upper(index) >= us, "{us}");
            assert!(index == 0 || bucket_upper(index - 1) < us, "{us}");
            assert!(bucket_upper(index) as f64 <= us as f64 * 1.25 + 1.0, "{us}");
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn stats_count_calls_codes_and_percentiles() {
        let stats = Stats::new();
        let send = crate::api::find_action("SendSms").unwrap();
        for ms in 1..=100u64 {
            stats.record(send, 1, "ok", Duration::from_millis(ms), Duration::ZERO);
        }
        stats.record(send, 3, "InternalError", Duration::from_secs(1), Duration::from_millis(5));
        let v: Value = serde_json::from_str(&stats.to_json()).unwrap();
        let s = &v["Actions"]["SendSms"];
        assert_eq!(
            (s["Calls"].as_u64(), s["Attempts"].as_u64(), s["Retries"].as_u64()),
            (Some(101), Some(103), Some(2))
        );
        assert_eq!(s["Codes"], json!({"ok": 100, "InternalError": 1}));
        let p50 = s["LatencyUs"]["p50"].as_u64().unwrap();
        assert!((50_000..=62_500).contains(&p50), "{p50}");
        assert_eq!(s["LatencyUs"]["max"], 1_000_000);
        assert_eq!((v["RateLimitWaits"].as_u64(), v["RateLimitWaitUs"].as_u64()), (Some(1), Some(5000)));
        assert!(v["Actions"].get("PullSmsSendStatus").is_none());
    }

    #[test]
    fn a_panicking_hook_is_contained_and_the_flag_is_cleared() {
        let hook: Arc<EventFn> = Arc::new(|_: &str| panic!("hook panics"));
        deliver(hook.as_ref(), "{}");
        assert!(!in_callback());
        let seen = Arc::new(AtomicBool::new(false));
        let flag = seen.clone();
        let inside: Arc<EventFn> = Arc::new(move |_: &str| flag.store(in_callback(), Ordering::SeqCst));
        deliver(inside.as_ref(), "{}");
        assert!(seen.load(Ordering::SeqCst) && !in_callback());
    }

    #[test]
    fn log_phone_numbers_is_a_boolean_configuration_key() {
        let parse = |extra: &str| {
            crate::Config::from_json_with_env(&format!(r#"{{"secret_id":"a","secret_key":"b"{extra}}}"#), &|_| None)
        };
        assert!(!parse("").unwrap().log_phone_numbers);
        assert!(parse(r#","log_phone_numbers":true"#).unwrap().log_phone_numbers);
        let e = parse(r#","log_phone_numbers":"yes""#).unwrap_err();
        assert!(e.message().contains("log_phone_numbers"), "{e}");
    }
}

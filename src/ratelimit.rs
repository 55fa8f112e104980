//! Client-side rate limiting: one token bucket per action per client, shared by all
//! threads of the client.
//!
//! By default every action is held to [`HEADROOM`] of the service's documented limit
//! (`rate_limit_per_second` of the action table), with bursts of at most
//! [`BURST_SECONDS`] of the service's limit (at least one request): whether the service
//! counts per calendar second or over a sliding second, a client that keeps to its
//! defaults never exceeds the limit. The configuration key `rate_limits` changes this:
//! an object from action name to requests per second, where 0 means no limit and `"*"`
//! sets every action not named (`{"*": 0}` turns limiting off). A rate given there is
//! used as given (with the same burst rule), without headroom.
//!
//! A call waits for its token within its own time limit; a call that cannot get one in
//! time fails with `ClientError.RateLimited` without sending anything.

use crate::api::{Action, ACTIONS};
use crate::error::{codes, Error, ErrorKind};
use serde_json::Value;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The share of the service's limit a client uses by default. A token bucket sends at
/// most `burst + rate * w` requests in any `w` seconds; the service counts arrivals, which
/// the network and the scheduler can bunch up after the bucket spaced them. With 85 % and
/// the burst below, a sliding second at the service holds at most the limit even when
/// arrivals shift by about 150 ms (measured: 90 % let a burst from 8 threads under
/// valgrind on a loaded 2-core host through as `RequestLimitExceeded`).
pub const HEADROOM: f64 = 0.85;
/// The largest burst, in seconds' worth of the limit (at least one request).
pub const BURST_SECONDS: f64 = 0.02;
/// The largest rate accepted in `rate_limits`.
pub const MAX_RATE: f64 = 1_000_000.0;
/// The smallest rate accepted in `rate_limits` besides 0 (one request in about 11.6
/// days): the waits of smaller ones overflow what the limiter can represent.
pub const MIN_RATE: f64 = 0.000_001;

/// The refusal of a call a rate limit has no slot for in time (`RateLimited`: nothing was
/// sent); `why` names the limit.
pub fn no_slot(action: &Action, why: &str) -> Error {
    Error::local(ErrorKind::Timeout, codes::RATE_LIMITED, format!("{}: {why}; the request was not sent", action.name))
}

/// The `rate_limits` configuration: `"*"` and per-action rates; `None` means the
/// service's documented limit with headroom.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateLimits {
    default: Option<f64>,
    named: Vec<(&'static str, f64)>,
}

impl RateLimits {
    /// Parses the value of the configuration key `rate_limits` (absent or null: defaults).
    pub fn from_config(value: Option<&Value>) -> Result<RateLimits, Error> {
        let map = match value {
            None | Some(Value::Null) => return Ok(RateLimits::default()),
            Some(Value::Object(map)) => map,
            Some(_) => return Err(Error::invalid_config(
                "configuration key `rate_limits` must be an object from action name (or \"*\") to requests per second",
            )),
        };
        let mut limits = RateLimits::default();
        for (name, rate) in map {
            let rate = match rate.as_f64() {
                Some(r) if r == 0.0 || (MIN_RATE..=MAX_RATE).contains(&r) => r,
                _ => {
                    return Err(Error::invalid_config(format!(
                    "rate_limits[\"{name}\"] must be 0 (no limit) or a number of requests per second from {MIN_RATE} to {MAX_RATE}"
                )))
                }
            };
            if name == "*" {
                limits.default = Some(rate);
            } else if let Some(action) = crate::api::find_action(name) {
                limits.named.push((action.name, rate));
            } else {
                return Err(Error::invalid_config(format!(
                    "rate_limits names `{name}`, which is not an action of the SMS API 2021-01-11 (nor \"*\")"
                )));
            }
        }
        Ok(limits)
    }

    /// (requests per second, burst) for `action`; `None` when it is not limited.
    pub fn bucket_for(&self, action: &Action) -> Option<(f64, f64)> {
        let chosen = self.named.iter().find(|(name, _)| *name == action.name).map(|(_, r)| *r).or(self.default);
        let (rate, basis) = match chosen {
            Some(rate) => (rate, rate),
            None => {
                let limit = f64::from(action.rate_limit_per_second);
                (limit * HEADROOM, limit)
            }
        };
        (rate > 0.0).then(|| (rate, (basis * BURST_SECONDS).floor().max(1.0)))
    }
}

struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// Adds the tokens earned since the last look, up to the burst.
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
    }
}

/// The token buckets of one client, one per action.
pub struct Limiter {
    buckets: Vec<Option<Mutex<Bucket>>>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter").finish_non_exhaustive()
    }
}

impl Limiter {
    pub fn new(limits: &RateLimits) -> Limiter {
        let now = Instant::now();
        let buckets = ACTIONS
            .iter()
            .map(|action| {
                limits
                    .bucket_for(action)
                    .map(|(rate, burst)| Mutex::new(Bucket { rate, burst, tokens: burst, last: now }))
            })
            .collect();
        Limiter { buckets }
    }

    /// `action`'s bucket; None when it is not limited.
    fn bucket(&self, action: &Action) -> Option<&Mutex<Bucket>> {
        ACTIONS.iter().position(|a| a.name == action.name).and_then(|i| self.buckets.get(i)).and_then(Option::as_ref)
    }

    /// Takes a token of `action`'s bucket if one is free now; false (nothing taken) when
    /// the call would have to wait for one.
    pub fn try_acquire(&self, action: &Action) -> bool {
        let Some(bucket) = self.bucket(action) else { return true };
        let mut b = bucket.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        b.refill(Instant::now());
        if b.tokens < 1.0 {
            return false;
        }
        b.tokens -= 1.0;
        true
    }

    /// Gives back a token [`Limiter::try_acquire`] took for a call that was not sent.
    pub fn give_back(&self, action: &Action) {
        if let Some(bucket) = self.bucket(action) {
            let mut b = bucket.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            b.tokens = (b.tokens + 1.0).min(b.burst);
        }
    }

    /// Waits for a token of `action`'s bucket, at most until `send_by` (the last moment
    /// at which the call can still be sent and answered within its time limit). When no
    /// token can be had by then, returns `ClientError.RateLimited` at once, without
    /// waiting. Returns how long it waited.
    pub fn acquire(&self, action: &Action, send_by: Instant) -> Result<Duration, Error> {
        let Some(bucket) = self.bucket(action) else {
            return Ok(Duration::ZERO);
        };
        let wait = {
            let mut b = bucket.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let now = Instant::now();
            b.refill(now);
            // Reserve a token now (the balance may go negative: the threads after us
            // wait longer), and give it back if we cannot wait for it.
            b.tokens -= 1.0;
            // A wait too long to represent is past any time limit.
            let wait = if b.tokens >= 0.0 {
                Some(Duration::ZERO)
            } else {
                Duration::try_from_secs_f64(-b.tokens / b.rate).ok()
            };
            let ready = wait.and_then(|wait| now.checked_add(wait));
            let Some(wait) = wait.filter(|_| ready.is_some_and(|ready| ready <= send_by)) else {
                b.tokens += 1.0;
                return Err(no_slot(
                    action,
                    &format!(
                        "the client-side rate limit ({} requests/s, configuration key `rate_limits`) has no free \
                         slot early enough to send the request and get its answer within the call's time limit",
                        b.rate
                    ),
                ));
            };
            wait
        };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        Ok(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::find_action;
    use serde_json::json;

    #[test]
    fn defaults_keep_headroom_and_small_bursts() {
        let limits = RateLimits::default();
        let send = find_action("SendSms").unwrap();
        assert_eq!(limits.bucket_for(send), Some((2550.0, 60.0)));
        let add = find_action("AddSmsSign").unwrap();
        assert_eq!(limits.bucket_for(add), Some((0.85, 1.0)));
        // In any 1.1 s (a second plus 100 ms of arrival jitter) a client that keeps to the
        // defaults sends fewer than limit + 1 requests: the service never sees more than
        // its limit in a second.
        for action in ACTIONS {
            let (rate, burst) = limits.bucket_for(&action).unwrap();
            let limit = f64::from(action.rate_limit_per_second);
            assert!(burst + rate * 1.1 < limit + 1.0 && rate < limit, "{action:?}");
        }
    }

    #[test]
    fn configuration_overrides_and_turns_off() {
        let off = RateLimits::from_config(Some(&json!({"*": 0}))).unwrap();
        assert!(ACTIONS.iter().all(|a| off.bucket_for(a).is_none()));
        let some = RateLimits::from_config(Some(&json!({"*": 0, "SendSms": 100, "AddSmsSign": 0.5}))).unwrap();
        assert_eq!(some.bucket_for(find_action("SendSms").unwrap()), Some((100.0, 2.0)));
        assert_eq!(some.bucket_for(find_action("AddSmsSign").unwrap()), Some((0.5, 1.0)));
        assert_eq!(some.bucket_for(find_action("PullSmsSendStatus").unwrap()), None);
        // Rates so small that their waits overflow a Duration are refused (they made
        // every call panic); the smallest accepted one works.
        let tiny = RateLimits::from_config(Some(&json!({"SendSms": MIN_RATE}))).unwrap();
        let limiter = Limiter::new(&tiny);
        let send = find_action("SendSms").unwrap();
        limiter.acquire(send, Instant::now() + Duration::from_secs(1)).unwrap();
        let e = limiter.acquire(send, Instant::now() + Duration::from_secs(1)).unwrap_err();
        assert_eq!(e.code(), codes::RATE_LIMITED);
        // Were such a rate to reach the limiter anyway, a wait too long for a Duration
        // (5e-324) or for an Instant (1e-19: about 1e19 s) is refused, not a panic.
        for rate in [1e-19, 5e-324] {
            let limiter = Limiter::new(&RateLimits { default: Some(rate), named: Vec::new() });
            let far = Instant::now() + Duration::from_secs(86_400);
            limiter.acquire(send, far).unwrap();
            let e = limiter.acquire(send, far).unwrap_err();
            assert_eq!(e.code(), codes::RATE_LIMITED, "{rate}");
        }
        for bad in [
            json!([]),
            json!({"SendSMS": 1}),
            json!({"*": -1}),
            json!({"*": "1"}),
            json!({"*": 1e9}),
            json!({"*": 1e-20}),
            json!({"SendSms": 5e-324}),
            json!({"*": 9e-7}),
        ] {
            let e = RateLimits::from_config(Some(&bad)).unwrap_err();
            assert_eq!(e.code(), codes::INVALID_CONFIG, "{bad}");
        }
    }

    #[test]
    fn a_call_waits_for_its_token_or_fails_at_once_without_one() {
        let limits = RateLimits::from_config(Some(&json!({"*": 10}))).unwrap();
        let limiter = Limiter::new(&limits);
        let action = find_action("SendSms").unwrap();
        let start = Instant::now();
        let far = start + Duration::from_secs(5);
        for _ in 0..4 {
            limiter.acquire(action, far).unwrap();
        }
        // One token at once, then one per 100 ms.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(290) && took < Duration::from_millis(1000), "{took:?}");
        let before = Instant::now();
        let e = limiter.acquire(action, before + Duration::from_millis(10)).unwrap_err();
        assert_eq!((e.code(), e.kind()), (codes::RATE_LIMITED, ErrorKind::Timeout));
        assert!(before.elapsed() < Duration::from_secs(1), "{:?}", before.elapsed());
        // The refused call gave its token back: the next one waits at most one
        // interval (100 ms), not two. The wait is the limiter's own figure, so a
        // loaded machine's late wake-ups cannot fail this.
        let waited = limiter.acquire(action, Instant::now() + Duration::from_secs(1)).unwrap();
        assert!(waited <= Duration::from_millis(100), "{waited:?}");
    }
}

//! Per-action request rate limits (requests per second, sliding one-second window), keyed
//! by action and region as the service's limits are (one account here).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct RateLimiter {
    /// Requests per second per action; 0 = unlimited.
    limits: HashMap<&'static str, u32>,
    windows: Mutex<HashMap<(&'static str, String), VecDeque<Instant>>>,
}

impl RateLimiter {
    /// The limits of `actions.json`, then the `(action or "all", n)` overrides in order.
    pub fn new(overrides: &[(String, u32)]) -> RateLimiter {
        let mut limits: HashMap<&'static str, u32> =
            tcsms::api::ACTIONS.iter().map(|a| (a.name, a.rate_limit_per_second)).collect();
        for (action, n) in overrides {
            for (name, limit) in limits.iter_mut() {
                if action == "all" || action == name {
                    *limit = *n;
                }
            }
        }
        RateLimiter { limits, windows: Mutex::new(HashMap::new()) }
    }

    pub fn limit(&self, action: &str) -> u32 {
        self.limits.get(action).copied().unwrap_or(0)
    }

    /// Counts one request; `false` when it is over the limit (and then it is not counted).
    pub fn admit(&self, action: &'static str, region: &str, now: Instant) -> bool {
        let limit = self.limit(action);
        if limit == 0 {
            return true;
        }
        let mut windows = match self.windows.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        let window = windows.entry((action, region.to_owned())).or_default();
        while window.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            window.pop_front();
        }
        if window.len() >= limit as usize {
            return false;
        }
        window.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_the_spec_and_overrides() {
        let r = RateLimiter::new(&[("SendSms".into(), 2), ("AddSmsSign".into(), 0)]);
        assert_eq!(r.limit("SendSms"), 2);
        assert_eq!(r.limit("PullSmsSendStatus"), 100);
        let t = Instant::now();
        assert!(r.admit("SendSms", "ap-guangzhou", t));
        assert!(r.admit("SendSms", "ap-guangzhou", t));
        assert!(!r.admit("SendSms", "ap-guangzhou", t));
        assert!(r.admit("SendSms", "ap-beijing", t), "regions are separate");
        assert!(r.admit("SendSms", "ap-guangzhou", t + WINDOW));
        assert!((0..100).all(|_| r.admit("AddSmsSign", "ap-guangzhou", t)), "0 = unlimited");
        let all = RateLimiter::new(&[("all".into(), 0)]);
        assert!((0..50).all(|_| all.admit("AddSmsSign", "ap-guangzhou", t)));
    }
}

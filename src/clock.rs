//! Clock-skew correction.
//!
//! The service refuses a request whose `X-TC-Timestamp` is more than 300 s from its own
//! clock (`AuthFailure.SignatureExpire`), before acting on it. When that happens the
//! client reads the service's time from the answer's `Date` header, remembers the
//! offset here (atomically, shared by every thread of the client), and signs this and
//! every later request with the corrected time.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The code the service answers when the request's timestamp is too far from its clock.
pub const SIGNATURE_EXPIRE: &str = "AuthFailure.SignatureExpire";

/// The client's clock: the host's plus a learned offset in seconds.
#[derive(Debug, Default)]
pub struct Clock {
    offset: AtomicI64,
}

impl Clock {
    /// Unix seconds to sign with: the host's time plus the offset.
    pub fn now(&self) -> i64 {
        host_now().saturating_add(self.offset())
    }

    /// Seconds the service's clock is ahead of the host's (negative: behind).
    pub fn offset(&self) -> i64 {
        self.offset.load(Ordering::SeqCst)
    }

    /// Learns the offset from an answer's `Date` header (RFC 7231). Returns whether a
    /// usable date was read; an unreadable one leaves the offset as it is.
    pub fn correct_from_date(&self, date: &str) -> bool {
        let Ok(server) = httpdate::parse_http_date(date.trim()) else {
            return false;
        };
        let server = match server.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(_) => return false,
        };
        self.offset.store(server - host_now(), Ordering::SeqCst);
        true
    }
}

fn host_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_offset_comes_from_the_date_header() {
        let clock = Clock::default();
        assert_eq!(clock.offset(), 0);
        let ahead = SystemTime::now() + Duration::from_secs(900);
        assert!(clock.correct_from_date(&httpdate::fmt_http_date(ahead)));
        assert!((899..=901).contains(&clock.offset()), "{}", clock.offset());
        assert!((clock.now() - host_now() - 900).abs() <= 1);
        let behind = SystemTime::now() - Duration::from_secs(3600);
        assert!(clock.correct_from_date(&httpdate::fmt_http_date(behind)));
        assert!((-3601..=-3599).contains(&clock.offset()), "{}", clock.offset());
        for bad in ["", "yesterday", "Sun, 06 Nov 1994 08:49:37"] {
            assert!(!clock.correct_from_date(bad), "{bad}");
        }
        assert!((-3601..=-3599).contains(&clock.offset()));
    }
}

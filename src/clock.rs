//! Clock-skew correction.
//!
//! The service refuses a request whose `X-TC-Timestamp` is more than 300 s from its own
//! clock (`AuthFailure.SignatureExpire`), before acting on it. When that happens the
//! client reads the service's time from the answer's `Date` header, remembers the
//! offset here (atomically, shared by every thread of the client), and signs this and
//! every later request with the corrected time.
//!
//! The correction is bounded by [`MAX_SKEW`] (one day): a host clock a day off is
//! broken beyond what signing can paper over, and a `Date` further off (a lying or
//! broken server or proxy: year 9999, say) is refused, so that one answer cannot make
//! the client sign every later request for a time that is not now.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The code the service answers when the request's timestamp is too far from its clock.
pub const SIGNATURE_EXPIRE: &str = "AuthFailure.SignatureExpire";

/// The largest offset the client corrects by, in seconds (one day).
pub const MAX_SKEW: i64 = 24 * 60 * 60;

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
    /// usable date was read; an unreadable one, or one more than [`MAX_SKEW`] from the
    /// host's clock, leaves the offset as it is.
    pub fn correct_from_date(&self, date: &str) -> bool {
        let Ok(server) = httpdate::parse_http_date(date.trim()) else {
            return false;
        };
        let server = match server.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(_) => return false,
        };
        let offset = server.saturating_sub(host_now());
        if offset.abs() > MAX_SKEW {
            return false;
        }
        self.offset.store(offset, Ordering::SeqCst);
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
        // More than a day off (a lying server): refused, the offset kept.
        for far in ["Fri, 31 Dec 9999 23:59:59 GMT", "Thu, 01 Jan 1970 00:00:00 GMT"] {
            assert!(!clock.correct_from_date(far), "{far}");
            assert!((-3601..=-3599).contains(&clock.offset()), "{far}: {}", clock.offset());
        }
        let day_and_more = SystemTime::now() + Duration::from_secs(MAX_SKEW as u64 + 120);
        assert!(!clock.correct_from_date(&httpdate::fmt_http_date(day_and_more)));
        let within = SystemTime::now() - Duration::from_secs(MAX_SKEW as u64 - 120);
        assert!(clock.correct_from_date(&httpdate::fmt_http_date(within)));
        assert!(clock.offset().abs() <= MAX_SKEW);
    }
}

//! Wall-clock helpers: the emulator's clock (the host's, shifted by `--clock-offset`), the
//! HTTP `Date` header, and the `yyyymmddhh` hours of the statistics actions.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, by the host's clock.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The emulator's clock: the host's clock shifted by a fixed offset (`--clock-offset`).
/// Everything time-dependent reads it: issued times, the signature-expiry check, `Date`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    offset_ms: i64,
}

impl Clock {
    /// A clock `offset_secs` ahead of the host's (behind when negative).
    pub fn with_offset_secs(offset_secs: i64) -> Clock {
        Clock { offset_ms: offset_secs.saturating_mul(1000) }
    }

    /// The emulator's time in Unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        now_ms().saturating_add_signed(self.offset_ms)
    }

    /// The emulator's time as an RFC 7231 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
    pub fn http_date(&self) -> String {
        httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(self.now_ms()))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (inverse of `tcsms::sign::civil_from_days`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The service's statistics hours are Beijing time (UTC+8).
const BEIJING_OFFSET_SECS: i64 = 8 * 3600;

/// Parses a `yyyymmddhh` hour (Beijing time) into the Unix second it starts at.
pub fn parse_hour(s: &str) -> Option<i64> {
    if s.len() != 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i64 = s[0..4].parse().ok()?;
    let m: u32 = s[4..6].parse().ok()?;
    let d: u32 = s[6..8].parse().ok()?;
    let h: i64 = s[8..10].parse().ok()?;
    if !(1..=12).contains(&m) || d == 0 || h > 23 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    // Reject 2024-02-30 and the like: the date must survive the round trip.
    if tcsms::sign::civil_from_days(days) != (y, m, d) {
        return None;
    }
    Some(days * 86_400 + h * 3600 - BEIJING_OFFSET_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_runs_offset_and_dates_are_imf_fixdate() {
        let host = now_ms() / 1000;
        let ahead = Clock::with_offset_secs(900).now_ms() / 1000;
        assert!((host + 899..=host + 901).contains(&ahead), "{host} {ahead}");
        let behind = Clock::with_offset_secs(-900).now_ms() / 1000;
        assert!((host - 901..=host - 899).contains(&behind), "{host} {behind}");
        let date = Clock::with_offset_secs(-900).http_date();
        let parsed = httpdate::parse_http_date(&date).unwrap().duration_since(UNIX_EPOCH).unwrap().as_secs();
        assert!(parsed.abs_diff(host - 900) <= 1, "{date}");
        assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
    }

    #[test]
    fn hours_are_beijing_time() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2024, 3, 1), 19_783);
        // 2021-05-01 13:00 +08:00 = 05:00 UTC.
        assert_eq!(parse_hour("2021050113"), Some(1_619_845_200));
        assert_eq!(parse_hour("2024022900").map(|s| s % 3600), Some(0));
        for bad in ["2021023001", "2021130101", "2021010124", "202101011", "abcdefghij"] {
            assert_eq!(parse_hour(bad), None, "{bad}");
        }
    }
}

//! The outcome table: every status value with its name and text, and the status of each
//! [`ErrorKind`]. The C ABI returns these values (`tcsms_status`), events carry them and
//! the command line exits with them. Generated from spec/client_errors.json into
//! src/status_gen.rs (`cargo run -p xtask -- gen`).

use crate::error::ErrorKind;
use std::ffi::CStr;

/// The outcome of a call. Values are append-only and never reused; the constants
/// (`Status::OK`, `Status::NETWORK`, ...) are the C header's `TCSMS_STATUS_*` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status(i32);

impl Status {
    /// The number: `tcsms_status` in C.
    pub const fn value(self) -> i32 {
        self.0
    }

    /// The status with this number (known or not).
    pub const fn from_value(value: i32) -> Status {
        Status(value)
    }

    fn row(self) -> Option<&'static (&'static str, &'static CStr)> {
        usize::try_from(self.0).ok().and_then(|i| TABLE.get(i))
    }

    /// The name without the `TCSMS_STATUS_` prefix, such as `NETWORK`; `None` for a value
    /// this library does not know.
    pub fn name(self) -> Option<&'static str> {
        self.row().map(|(name, _)| *name)
    }

    /// A short description, such as "network error"; "unknown status" for a value this
    /// library does not know.
    pub fn text(self) -> &'static str {
        self.c_text().to_str().unwrap_or("unknown status")
    }

    /// [`Status::text`] as a NUL-terminated static string (`tcsms_status_str`).
    pub fn c_text(self) -> &'static CStr {
        self.row().map_or(c"unknown status", |(_, text)| *text)
    }

    /// Every known status, in value order.
    pub fn all() -> impl Iterator<Item = Status> {
        (0..TABLE.len()).map(|i| Status(i as i32))
    }
}

include!("status_gen.rs");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_a_name_and_a_text() {
        for status in Status::all() {
            assert!(status.name().is_some(), "{status:?}");
            assert_ne!(status.text(), "unknown status", "{status:?}");
        }
        assert_eq!(Status::NETWORK.value(), 6);
        assert_eq!(Status::NETWORK.name(), Some("NETWORK"));
        assert_eq!(Status::from_value(99).text(), "unknown status");
        assert_eq!(Status::from_value(-1).name(), None);
        assert_eq!(ErrorKind::Api.status(), Status::API_ERROR);
        assert_eq!(ErrorKind::Timeout.status().text(), "timed out");
    }
}

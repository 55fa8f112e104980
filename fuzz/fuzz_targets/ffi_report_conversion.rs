//! `tcsms_report_conversion` with arbitrary arguments.
//!
//! Input: byte 0 = flags (bit 0: client NULL; bit 1: sms_sdk_app_id NULL; bit 2: serial_no
//! NULL; bit 3: out_json NULL), bytes 1-8 = conversion_time (little endian, any i64), then
//! `sms_sdk_app_id \0 serial_no`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::ptr;
use tcsms_fuzz::*;

fuzz_target!(|data: &[u8]| {
    if data.is_empty() || mentions_marker(data) {
        return;
    }
    let flags = data[0];
    let conversion_time = u64_at(data, 1) as i64;
    let strings = c_strings(data.get(9..).unwrap_or_default());
    let client = if flag(flags, 0) { ptr::null() } else { fixed_client() };
    let app = arg(&strings, 0, flag(flags, 1));
    let serial = arg(&strings, 1, flag(flags, 2));
    let mut out = ptr::null_mut();
    let out_ptr = if flag(flags, 3) { ptr::null_mut() } else { &mut out };
    // SAFETY: every pointer is NULL or valid for the call.
    let status = unsafe { tcsms_report_conversion(client, app, serial, conversion_time, out_ptr) };
    if out_ptr.is_null() {
        assert_eq!(status, NULL_ARGUMENT);
        return;
    }
    assert!(
        [NULL_ARGUMENT, INVALID_UTF8, INVALID_ARGUMENT, NETWORK, TIMEOUT].contains(&status),
        "unexpected status {status}"
    );
    // Arguments are checked in order; the first bad one decides.
    // SAFETY: NULL or NUL-terminated.
    if let Some(expected) = unsafe { first_bad_argument(client.is_null(), &[app, serial]) } {
        assert_eq!(status, expected);
    }
    // SAFETY: the library's string, freed once.
    unsafe { check_failure(status, out) };
});
